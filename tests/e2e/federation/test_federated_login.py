"""Federated sign-in end to end over real HTTP: a downstream tenant brokers the login to another Gatehouse tenant
acting as a real upstream OpenID provider (discovery, PKCE, state, nonce, ID token from its JWKS). Covers
``?idp=``, the login page's provider buttons and home-realm discovery, JIT creation and re-login updates, linking
under each policy, and the rejections (unknown idp, other tenant's idp, tampered state, other browser)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from jose import jwt

from tests.support.federation import Bed, Walker, code_of, make_bed, unique, upstream_user
from tests.support.oidc_client import Page, query_params


def _id_token(bed: Bed, response: requests.Response) -> dict[str, Any]:
    tokens = bed.exchange(code_of(bed, response))
    return dict(jwt.get_unverified_claims(tokens["id_token"]))


def _downstream_user(bed: Bed, email: str) -> Any:
    from chalicelib import container

    return container.accounts().find_by_email(bed.tenant, email)  # type: ignore[arg-type]


@pytest.fixture
def bed(live_server: str) -> Bed:
    return make_bed(live_server)


def test_idp_parameter_goes_straight_upstream_and_provisions_the_account(bed: Bed) -> None:
    email, password = upstream_user(bed, given_name="Ada", family_name="Lovelace", name="Ada Lovelace")
    walker = Walker(bed)
    first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    assert first.status_code == 303
    upstream_request = query_params(first.headers["Location"])
    assert first.headers["Location"].startswith(f"{bed.base}/t/{bed.upstream}/authorize?")
    assert upstream_request["code_challenge_method"] == "S256" and upstream_request["nonce"]
    assert upstream_request["redirect_uri"] == f"{bed.issuer}/federation/up/callback"
    response = walker.follow(walker.upstream_login(walker.follow(first), email, password))
    claims = _id_token(bed, response)
    user = _downstream_user(bed, email)
    assert claims["sub"] == user.user_id and claims["email"] == email and claims["email_verified"] is True
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace" and claims["amr"] == ["fed"]
    assert user.status == "active" and user.profile["name"] == "Ada Lovelace"
    assert any("/federation/logins/" in url for url in walker.trail)


def test_relogin_updates_mapped_attributes_and_keeps_the_account(bed: Bed) -> None:
    from chalicelib import container

    email, password = upstream_user(bed, given_name="Grace")
    first = _id_token(bed, Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password))
    upstream_account = container.accounts().find_by_email(bed.upstream, email)  # type: ignore[arg-type]
    reach = frozenset(container.tenants().tree(bed.upstream).nodes)
    container.user_admin().update_profile(
        bed.upstream,  # type: ignore[arg-type]
        reach,
        upstream_account.user_id,
        {"given_name": "Grace B.", "family_name": "Hopper"},
    )
    second = _id_token(bed, Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password))
    assert second["sub"] == first["sub"]
    assert second["given_name"] == "Grace B." and second["family_name"] == "Hopper"


def test_login_page_lists_effective_providers_and_its_button_starts_the_login(bed: Bed) -> None:
    email, password = upstream_user(bed)
    walker = Walker(bed)
    login = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params()))
    page = Page.parse(login)
    assert "Continue with Upstream Inc" in page.text
    links = [a for a in page.html.split('"') if "/federation/up/start?flow=" in a]
    assert len(links) == 1
    stranger = requests.get(links[0].replace("&amp;", "&"), allow_redirects=False, timeout=15)
    assert stranger.status_code == 400  # the link works only with the CSRF cookie it was sealed for
    started = walker.get(links[0].replace("&amp;", "&"))
    assert started.status_code == 303 and f"/t/{bed.upstream}/authorize" in started.headers["Location"]
    response = walker.follow(walker.upstream_login(walker.follow(started), email, password))
    assert _id_token(bed, response)["email"] == email


def test_home_realm_discovery_by_email_domain(live_server: str) -> None:
    bed = make_bed(live_server, domains=("upstream.example",))
    email, password = upstream_user(bed)
    walker = Walker(bed)
    login = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params()))
    page = Page.parse(login)
    assert "single sign-on" in page.text
    form = page.form("/login")
    posted = walker.browser.post(
        f"{bed.issuer}/login",
        data={**form.fields, "email": email, "password": "", "action": "sso"},
        allow_redirects=False,
        timeout=15,
    )
    assert posted.status_code == 303 and f"/t/{bed.upstream}/authorize" in posted.headers["Location"]
    assert query_params(posted.headers["Location"])["login_hint"] == email
    assert (
        _id_token(bed, walker.follow(walker.upstream_login(walker.follow(posted), email, password)))["email"] == email
    )
    other = walker.browser.post(
        f"{bed.issuer}/login",
        data={**form.fields, "email": "x@elsewhere.example", "password": "", "action": "sso"},
        allow_redirects=False,
        timeout=15,
    )
    assert other.status_code == 400 and "no single sign-on" in Page.parse(other).text
    hinted = Walker(bed).get(
        f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(login_hint=email))
    )
    assert hinted.status_code == 303 and f"/t/{bed.upstream}/authorize" in hinted.headers["Location"]


def test_unknown_or_foreign_idp_is_an_oauth_error_to_the_client(bed: Bed, live_server: str) -> None:
    for name in ("nope", "up" * 40):
        response = Walker(bed).get(
            f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp=name))
        )
        assert response.status_code == 303
        params = query_params(response.headers["Location"])
        assert params["error"] == "invalid_request" and params["iss"] == bed.issuer
    other = make_bed(live_server)  # its own tenant also has an "up": ours must not reach it through another tenant
    from chalicelib import container

    container.identity_providers().delete(bed.tenant, "up")  # type: ignore[arg-type]
    response = Walker(bed).get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    assert query_params(response.headers["Location"])["error"] == "invalid_request"
    assert other.tenant != bed.tenant


def test_integration_of_a_sibling_node_is_not_offered(bed: Bed) -> None:
    from chalicelib import container

    tenant = bed.tenant
    org = container.tenants().create_child(tenant, None, unique("org"))  # type: ignore[arg-type]
    sibling = container.tenants().create_child(tenant, None, unique("sib"))  # type: ignore[arg-type]
    container.identity_providers().create(
        tenant,
        sibling.node_id,
        {
            "name": "sib-sso",
            "kind": "oidc",
            "oidc": {"issuer": "https://op.example.com", "client_id": "a", "client_secret": "b"},
        },  # type: ignore[arg-type]
    )
    client, secret = container.clients().create(
        tenant,
        name="Org app",
        client_type="confidential",
        redirect_uris=[bed.redirect_uri],
        tier_node_id=org.node_id,  # type: ignore[arg-type]
    )
    org_bed = Bed(bed.base, tenant, bed.upstream, client.client_id, secret or "", bed.redirect_uri)
    page = Page.parse(
        Walker(org_bed).get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(org_bed.authorize_params()))
    )
    assert "Upstream Inc" in page.text and "sib-sso" not in page.text  # the root's integration is inherited
    refused = Walker(org_bed).get(
        f"{bed.issuer}/authorize?" + requests.compat.urlencode(org_bed.authorize_params(idp="sib-sso"))
    )
    assert query_params(refused.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("policy", ["verified_email", "none", "sign_in"])
def test_existing_account_is_linked_only_as_the_policy_allows(live_server: str, policy: str) -> None:
    from chalicelib import container

    bed = make_bed(live_server, linking=policy)
    email, password = upstream_user(bed)
    local = container.accounts().create_user(
        bed.tenant,
        email=email,
        password="Local-pass-42!x",
        verified=True,  # type: ignore[arg-type]
        settings=container.tenants().effective(bed.tenant),  # type: ignore[arg-type]
    )
    walker = Walker(bed)
    response = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    if policy == "verified_email":
        assert _id_token(bed, response)["sub"] == local.user_id
        return
    page = Page.parse(response)
    if policy == "none":
        assert response.status_code == 400 and "cannot be linked" in page.text
        assert page.text.count("Try again") == 1
        assert _downstream_user(bed, email).user_id == local.user_id
        return
    assert response.status_code == 200 and "Link your account" in page.text
    continue_url = response.url
    wrong = walker.browser.post(
        continue_url, data={**page.forms[0].fields, "password": "wrong-password-1"}, allow_redirects=False, timeout=15
    )
    assert wrong.status_code == 401
    right = walker.browser.post(
        continue_url, data={**page.forms[0].fields, "password": "Local-pass-42!x"}, allow_redirects=False, timeout=15
    )
    assert _id_token(bed, walker.follow(right))["sub"] == local.user_id
    again = Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)  # linked now: no password asked
    assert _id_token(bed, again)["sub"] == local.user_id


def test_unverified_local_account_is_not_linked_by_email(live_server: str) -> None:
    from chalicelib import container

    bed = make_bed(live_server, linking="verified_email")
    email, password = upstream_user(bed)
    container.accounts().create_user(
        bed.tenant,
        email=email,
        password="Local-pass-42!x",
        verified=False,
        status="active",  # type: ignore[arg-type]
        settings=container.tenants().effective(bed.tenant),  # type: ignore[arg-type]
    )
    response = Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)
    assert response.status_code == 400 and "cannot be linked" in Page.parse(response).text


def test_tampered_state_and_foreign_browser_are_rejected(bed: Bed) -> None:
    email, password = upstream_user(bed)
    walker = Walker(bed)
    first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    back = walker.upstream_login(walker.follow(first), email, password)
    callback = back.headers["Location"]
    assert callback.startswith(f"{bed.issuer}/federation/up/callback?")
    params = query_params(callback)
    tampered = walker.get(
        f"{bed.issuer}/federation/up/callback?"
        + requests.compat.urlencode({**params, "state": params["state"][:-2] + "xx"})
    )
    assert tampered.status_code == 400
    stranger = requests.get(callback, allow_redirects=False, timeout=15)  # no CSRF cookie: another browser
    assert stranger.status_code == 400 and "another browser" in Page.parse(stranger).text
    wrong_idp = walker.get(callback.replace("/federation/up/", "/federation/other/"))
    assert wrong_idp.status_code == 400
    ok = walker.follow(walker.get(callback))
    assert _id_token(bed, ok)["email"] == email
    replay = walker.get(callback)
    assert replay.status_code == 400


def test_tampered_nonce_is_rejected_and_nothing_is_provisioned(bed: Bed) -> None:
    email, password = upstream_user(bed)
    walker = Walker(bed)
    first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    upstream_url = first.headers["Location"]
    forged = upstream_url.replace("nonce=", "nonce=forged")
    response = walker.follow(walker.upstream_login(walker.follow(walker.get(forged)), email, password))
    assert response.status_code == 400 and "could not be verified" in Page.parse(response).text
    from chalicelib import container
    from chalicelib.core.errors import NotFound

    with pytest.raises(NotFound):
        container.accounts().find_by_email(bed.tenant, email)  # type: ignore[arg-type]


def test_upstream_error_shows_retry(bed: Bed) -> None:
    walker = Walker(bed)
    first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    state = query_params(first.headers["Location"])["state"]
    denied = walker.follow(walker.get(f"{bed.issuer}/federation/up/callback?error=access_denied&state={state}"))
    page = Page.parse(denied)
    assert denied.status_code == 400 and "did not sign you in" in page.text
    retry = [a for a in page.html.split('"') if "idp=up" in a]
    assert retry and "/authorize?" in retry[0]


def test_a_disabled_account_cannot_sign_in_through_its_idp(bed: Bed) -> None:
    from chalicelib import container

    email, password = upstream_user(bed)
    assert code_of(bed, Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password))
    user = _downstream_user(bed, email)
    container.user_admin().set_disabled(
        bed.tenant, frozenset(container.tenants().tree(bed.tenant).nodes), user.user_id, disabled=True
    )  # type: ignore[arg-type]
    response = Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)
    assert response.status_code == 400 and "is disabled" in Page.parse(response).text


def test_a_tampered_id_token_from_the_token_endpoint_is_rejected(bed: Bed, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upstream's token response is altered in transit (payload swapped under the signature)."""
    from chalicelib.outbound.http_client import Urllib3HttpClient

    original = Urllib3HttpClient.post_form

    def tampering(self: Urllib3HttpClient, url: str, form: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        answer = original(self, url, form, **kwargs)
        head, _, signature = answer["id_token"].split(".")
        claims = jwt.get_unverified_claims(answer["id_token"])
        import base64
        import json

        forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode()).rstrip(b"=")
        return {**answer, "id_token": ".".join([head, forged.decode(), signature])}

    monkeypatch.setattr(Urllib3HttpClient, "post_form", tampering)
    email, password = upstream_user(bed)
    response = Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)
    assert response.status_code == 400 and "could not be verified" in Page.parse(response).text
    from chalicelib import container
    from chalicelib.core.errors import NotFound

    with pytest.raises(NotFound):
        container.accounts().find_by_email(bed.tenant, email)  # type: ignore[arg-type]


def test_a_login_of_one_tenant_cannot_be_completed_through_another(bed: Bed, live_server: str) -> None:
    other = make_bed(live_server)
    email, password = upstream_user(bed)
    walker = Walker(bed)
    first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    callback = walker.upstream_login(walker.follow(first), email, password).headers["Location"]
    crossed = walker.get(callback.replace(f"/t/{bed.tenant}/", f"/t/{other.tenant}/"))
    assert crossed.status_code == 400  # the login id is unknown in the other tenant
    assert code_of(bed, walker.follow(walker.get(callback)))


def test_prompt_login_makes_the_upstream_ask_for_the_password_again(bed: Bed, clock: Any) -> None:
    """A relying party's ``prompt=login`` reaches the upstream as ``prompt=login``/``max_age=0``: with sessions at
    both providers, the upstream still shows its login form, and the new sign-in's auth_time is checked."""
    email, password = upstream_user(bed)
    walker = Walker(bed)
    first = _id_token(bed, walker.sign_in(bed.authorize_params(idp="up"), email, password))

    clock.advance(120)
    again = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
    assert again.status_code in (302, 303) and "code=" in again.headers["Location"]  # SSO: nobody asked anything
    forced = walker.get(
        f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up", prompt="login"))
    )
    upstream_request = query_params(forced.headers["Location"])
    assert upstream_request["prompt"] == "login" and upstream_request["max_age"] == "0"
    login_form = walker.follow(forced)
    assert login_form.status_code == 200 and Page.parse(login_form).has_form("/login")  # despite its session
    second = _id_token(bed, walker.follow(walker.upstream_login(login_form, email, password)))
    assert second["sub"] == first["sub"] and second["auth_time"] >= first["auth_time"] + 120
