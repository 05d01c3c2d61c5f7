"""Linking identities from the account portal in a real headless Chromium: a SAML identity (the pysaml2 test IdP,
its SSO page served to the browser by interception) and an upstream OpenID Connect identity (a second Gatehouse
tenant). Both are listed; after signing out, signing in at the application through either provider lands on the
same account (the integrations' linking policy is "none", so only the links join them); unlinking still refuses the
last way in."""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from jose import jwt
from playwright.sync_api import expect

from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the shared Chromium fixture
from tests.support.federation import Bed, add_saml_integration, make_bed, upstream_user
from tests.support.oidc_client import E2EUser, query_params
from tests.support.tenants import new_user

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def serve_idp(browser: BrowserSession, bed: Bed, idp: Any, who: Any) -> None:
    """The test IdP's SSO page, shown where our server redirects the browser to it (Playwright does not route a
    redirect's target): it reads our signed AuthnRequest and shows a form posting its signed Response."""

    def idp_page(location: str) -> str:
        request = idp.receive_redirect(location)
        acs = request.assertion_consumer_service_url
        response = idp.response(
            sp_entity_id=request.issuer.text, acs_url=acs, in_response_to=request.id, user=who, sign_response=True
        )
        relay = query_params(location).get("RelayState", "")
        return (
            "<!DOCTYPE html><title>Test IdP</title>"
            f'<form method="post" action="{html.escape(acs)}">'
            f'<input type="hidden" name="SAMLResponse" value="{html.escape(response)}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay)}">'
            '<button type="submit" id="idp-continue">Continue</button></form>'
        )

    def via_idp(route: Any) -> None:
        if route.request.method == "GET" and "/account/security" in route.request.url:
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        location = response.headers.get("location", "")
        if not location.startswith(f"{idp.sso_url}?"):
            route.fulfill(response=response)
            return
        headers = {"content-type": "text/html; charset=utf-8"}
        cookies = [h["value"] for h in response.headers_array if h["name"].lower() == "set-cookie"]
        if cookies:
            headers["set-cookie"] = "\n".join(cookies)
        route.fulfill(status=200, headers=headers, body=idp_page(location))

    browser.page.route(lambda url: url.startswith(f"{bed.issuer}/account/security"), via_idp)
    browser.page.route(lambda url: url.startswith(f"{bed.issuer}/authorize?"), via_idp)


def finish_at_app(browser: BrowserSession, bed: Bed) -> str:
    """The application's redirect URI was reached: the subject of the ID token its code is exchanged for."""
    browser.page.wait_for_url(f"{bed.redirect_uri}?*")
    code = query_params(browser.page.url)["code"]
    return str(jwt.get_unverified_claims(bed.exchange(code)["id_token"])["sub"])


def test_link_saml_and_oidc_identities_in_the_portal_and_sign_in_with_them(
    live_server: str,
    chromium: Callable[..., BrowserSession],  # noqa: F811
    tmp_path: Path,
) -> None:
    from saml2.saml import NAMEID_FORMAT_PERSISTENT

    from tests.support.saml_idp import SamlTestIdP, User

    bed = make_bed(live_server, linking="none")
    idp = SamlTestIdP(tmp_path / "idp")
    add_saml_integration(bed, idp)
    user: E2EUser = new_user(bed.tenant)
    up_email, up_password = upstream_user(bed, given_name="Upo")
    saml_person = User(
        name_id=f"corp-{uuid.uuid4().hex[:10]}",
        name_id_format=NAMEID_FORMAT_PERSISTENT,
        attributes={"mail": [user.email], "givenName": ["Kim"]},
    )

    browser = chromium()
    serve_idp(browser, bed, idp, saml_person)
    page = browser.page
    page.goto(f"{bed.issuer}/account/security")
    browser.sign_in(user.email, user.password)
    expect(page.locator("#link-corp")).to_be_visible()
    expect(page.locator("#link-up")).to_be_visible()

    page.click("#link-corp")
    page.click("#idp-continue")
    expect(page.locator("#notice")).to_contain_text("The account was linked")
    expect(page.locator('#identities li[data-integration="corp"]')).to_contain_text(saml_person.name_id)
    expect(page.locator("#link-corp")).to_have_count(0)

    page.click("#link-up")
    page.wait_for_url(f"{live_server}/t/{bed.upstream}/authorize*")
    browser.sign_in(up_email, up_password)
    expect(page.locator("#notice")).to_contain_text("The account was linked")
    expect(page.locator('#identities li[data-integration="up"]')).to_have_count(1)
    expect(page.locator("#identities li")).to_have_count(3)  # password, corp, up
    page.click("#nav-activity")
    expect(page.locator('#activity tr[data-event="identity.linked"]')).to_have_count(2)
    page.click("#sign-out")
    expect(page.locator("#signed-out-message")).to_be_visible()

    # Signed out: the application's sign-in through the SAML IdP lands on the same account.
    page.goto(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="corp")))
    page.click("#idp-continue")
    assert finish_at_app(browser, bed) == user.user_id

    # A new browser: through the upstream OpenID provider, the same account again.
    second = chromium()
    second.page.goto(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    second.page.wait_for_url(f"{live_server}/t/{bed.upstream}/authorize*")
    second.sign_in(up_email, up_password)
    assert finish_at_app(second, bed) == user.user_id

    # Without a password, unlinking one identity works; the last one is refused and stays.
    from chalicelib import container
    from chalicelib.core.ids import TenantId, UserId
    from chalicelib.storage import keys
    from chalicelib.storage.models import EmailLoginItem

    # (A sign-in through a provider updates the mapped attributes, the verified email included: federation's rule.)
    email = container.accounts().get(TenantId(bed.tenant), UserId(user.user_id)).email
    EmailLoginItem(keys.email_login(TenantId(bed.tenant), email), "LOGIN").update(
        actions=[EmailLoginItem.password_hash.remove()]
    )
    portal = second.page
    portal.goto(f"{bed.issuer}/account/security")  # the federated SSO session signs the portal in
    expect(portal.locator("#identities li")).to_have_count(2)
    portal.locator('#identities li[data-integration="corp"] button').click()
    expect(portal.locator("#notice")).to_contain_text("unlinked")
    portal.locator('#identities li[data-integration="up"] button').click()
    expect(portal.locator(".error-summary")).to_contain_text("only way to sign in")
    expect(portal.locator('#identities li[data-integration="up"]')).to_have_count(1)
    expect(portal.locator("#link-corp")).to_be_visible()  # unlinked providers are offered again
    assert browser.console_errors == []
    assert all("409" in e for e in second.console_errors), second.console_errors  # only the refused unlink
