"""Progressive profiling: a client that needs profile attributes gets them asked for once during sign-in, with
the tenant's schema validation, before consent and the code; with prompt=none it gets interaction_required."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.account.conftest import AccountApi
from tests.support.oidc_client import E2EClient, Page, Provider, query_params
from tests.support.tenants import new_user

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def profiling_tenant(live_server: str) -> dict[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"prof{uuid.uuid4().hex[:8]}"
    schema = [{"name": "company", "type": "string", "format": "[A-Za-z0-9 .&-]{2,60}", "label": "Company"}]
    container.tenants().create_customer(slug, "Profiling", {"attributes": {"schema": schema}})
    tenant_id = TenantId(slug)
    container.signing_keys().ensure_keys(tenant_id)
    uri = f"{live_server}/_local/callback"
    _, secret = container.clients().create(
        tenant_id, name="Needs company", client_type="confidential", client_id="crm", redirect_uris=[uri],
        first_party=True, required_attributes=["company", "given_name", "not_in_schema"],
    )  # fmt: skip
    _, plain_secret = container.clients().create(
        tenant_id, name="Plain", client_type="confidential", client_id="plain", redirect_uris=[uri], first_party=True
    )
    return {
        "tenant": slug,
        "provider": Provider(live_server, slug),
        "crm": E2EClient("crm", secret, uri, "confidential"),
        "plain": E2EClient("plain", plain_secret, uri, "confidential"),
    }


def params(client: E2EClient, **extra: str) -> dict[str, str]:
    return {"client_id": client.client_id, "redirect_uri": client.redirect_uri, "response_type": "code",
            "scope": "openid profile", "state": "st", **extra}  # fmt: skip


def test_missing_attributes_are_asked_once_then_the_sign_in_continues(profiling_tenant: dict[str, Any]) -> None:
    provider: Provider = profiling_tenant["provider"]
    crm: E2EClient = profiling_tenant["crm"]
    user = new_user(profiling_tenant["tenant"], name="Pat Profile")
    browser = requests.Session()
    response = provider.login(browser, provider.authorize(browser, params(crm)), user.email, user.password)
    page = Page.parse(response)
    assert response.status_code == 200 and page.has_form("/profile/complete")
    fields = page.form("/profile/complete").fields
    assert {"company", "given_name"} <= set(fields) and "not_in_schema" not in fields and "name" not in fields

    invalid = provider.submit(browser, page, "/profile/complete", {"company": "<script>", "given_name": ""})
    assert invalid.status_code == 400
    assert 'id="company-error"' in invalid.text and 'id="given_name-error"' in invalid.text

    done = provider.submit(browser, Page.parse(invalid), "/profile/complete", {"company": "Acme & Co",
                                                                                 "given_name": "Pat"})  # fmt: skip
    assert done.status_code == 303, done.text
    code = query_params(done.headers["Location"])["code"]
    tokens = provider.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": crm.redirect_uri}, auth=crm.basic
    ).json()
    profile = AccountApi(provider, tokens["access_token"]).call("GET", "/profile").json()
    assert profile["attributes"]["company"] == "Acme & Co" and profile["attributes"]["given_name"] == "Pat"

    # Asked once: the next sign-in goes straight back to the client.
    again = provider.authorize(browser, params(crm, prompt="login"))
    final = provider.login(browser, again, user.email, user.password)
    assert final.status_code == 303 and "code=" in final.headers["Location"]


def test_signed_in_browser_is_asked_by_the_client_that_needs_more(profiling_tenant: dict[str, Any]) -> None:
    provider: Provider = profiling_tenant["provider"]
    user = new_user(profiling_tenant["tenant"], given_name="Sam")
    browser = requests.Session()
    plain = provider.sign_in(browser, params(profiling_tenant["plain"]), user.email, user.password)
    assert "code" in plain
    silent = provider.authorize(browser, params(profiling_tenant["crm"], prompt="none"))
    assert query_params(silent.headers["Location"])["error"] == "interaction_required"
    interactive = provider.authorize(browser, params(profiling_tenant["crm"]))
    page = Page.parse(interactive)
    assert page.has_form("/profile/complete") and set(page.form("/profile/complete").fields) >= {"company"}
    assert "given_name" not in page.form("/profile/complete").fields  # already known
    done = provider.submit(browser, page, "/profile/complete", {"company": "Initech"})
    assert done.status_code == 303 and "code=" in done.headers["Location"]


def test_the_completion_form_needs_the_sealed_flow_and_the_session(profiling_tenant: dict[str, Any]) -> None:
    provider: Provider = profiling_tenant["provider"]
    user = new_user(profiling_tenant["tenant"])
    browser = requests.Session()
    page = Page.parse(provider.login(browser, provider.authorize(browser, params(profiling_tenant["crm"])),
                                     user.email, user.password))  # fmt: skip
    stranger = requests.Session()
    stranger.cookies.update({"gh_csrf": browser.cookies.get("gh_csrf", "")})
    forged = provider.submit(stranger, page, "/profile/complete", {"company": "Evil", "given_name": "Eve"})
    assert forged.status_code == 401 and "/login" in forged.text  # no session: back to the login page
    tampered = provider.submit(browser, page, "/profile/complete", {"flow": "x", "company": "Ok", "given_name": "O"})
    assert tampered.status_code == 400
