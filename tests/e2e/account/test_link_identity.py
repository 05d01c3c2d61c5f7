"""Linking another identity to a signed-in account over real HTTP: the portal's "Link" and the account API's
one-time ``link_url``, against a second Gatehouse tenant acting as the upstream OpenID provider (integration
``up`` with linking policy ``none``, so only an explicit link ever joins the two identities).

Negatives: the upstream identity already linked to another user; the link's return replayed, expired, opened in
another browser, for another user, in another tenant or without a portal session; an old session must sign in
again first; the app's link URL is single-use and short-lived. Nothing is linked by any of them, and no 500s."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from jose import jwt

from tests.support.account_portal import PortalAgent
from tests.support.federation import Bed, Walker, add_saml_integration, code_of, make_bed, upstream_user
from tests.support.oidc_client import E2EUser, Page, Provider, query_params
from tests.support.tenants import new_user

pytestmark = pytest.mark.stack


@pytest.fixture
def bed(live_server: str) -> Bed:
    return make_bed(live_server, linking="none")


def linked(bed: Bed, user: E2EUser) -> list[tuple[str, str]]:
    from chalicelib.core.ids import TenantId, UserId
    from chalicelib.storage.federation_repository import DynamoFederatedIdentityRepository

    found = DynamoFederatedIdentityRepository().list_for_user(TenantId(bed.tenant), UserId(user.user_id))
    return [(i.integration, i.subject) for i in found]


def events(bed: Bed, user: E2EUser, action: str) -> list[Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    return [e for e in container.sign_in_activity().list(TenantId(bed.tenant), user.user_id) if e.action == action]


def upstream_leg(agent: PortalAgent, response: requests.Response, email: str, password: str) -> requests.Response:
    """From the redirect to the upstream provider: its login form if it asks (else its SSO session answers)."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    page = agent.follow(response, stop=lambda url: "/account/link/" in url)
    if page.status_code == 200 and Page.parse(page).has_form("/login"):
        page = agent.follow(agent.login_form(page, email, password), stop=lambda url: "/account/link/" in url)
    assert page.status_code in (302, 303) and "/account/link/" in page.headers["Location"], (
        page.status_code,
        page.text[:300],
    )
    return page


def start_link(agent: PortalAgent, bed: Bed, email: str, password: str) -> str:
    """Press "Link" for ``up`` and sign in upstream; the URL the browser is sent back to (not yet opened)."""
    posted = agent.post("/security", {"action": "link", "idp": "up"})
    assert f"/t/{bed.upstream}/authorize" in posted.headers.get("Location", ""), (posted.status_code, posted.text[:300])
    back = upstream_leg(agent, posted, email, password)
    return urljoin(back.url, back.headers["Location"])


def test_portal_links_an_upstream_identity_and_signs_in_with_it(bed: Bed) -> None:
    user = new_user(bed.tenant)
    up_email, up_password = upstream_user(bed, given_name="Upo")
    agent = PortalAgent(bed.base, bed.tenant)
    agent.sign_in(user.email, user.password, "/security")
    security = agent.get(f"{bed.issuer}/account/security")
    assert 'id="link-up"' in security.text and "Link Upstream Inc" in security.text

    done = agent.follow(agent.get(start_link(agent, bed, up_email, up_password)))
    assert done.status_code == 200 and done.url.endswith("/account/security?done=identity_linked")
    assert "The account was linked" in done.text
    assert 'data-integration="up"' in done.text and 'id="link-up"' not in done.text
    [(integration, subject)] = linked(bed, user)
    assert integration == "up" and subject
    [event] = events(bed, user, "identity.linked")
    assert event.details["integration"] == "up" and event.details["via"] == "portal" and event.outcome == "success"
    activity = agent.get(f"{bed.issuer}/account/activity")
    assert 'data-event="identity.linked"' in activity.text and "Account linked" in activity.text

    # A new browser signs in at the relying party through the upstream provider and lands on the same account
    # (the integration's policy is "none": only the link can join them).
    walker = Walker(bed)
    params = bed.authorize_params(idp="up")
    tokens = bed.exchange(code_of(bed, walker.sign_in(params, up_email, up_password)))
    assert jwt.get_unverified_claims(tokens["id_token"])["sub"] == user.user_id


def test_an_identity_linked_to_another_user_is_refused(bed: Bed) -> None:
    owner, other = new_user(bed.tenant), new_user(bed.tenant)
    up_email, up_password = upstream_user(bed)
    first = PortalAgent(bed.base, bed.tenant)
    first.sign_in(owner.email, owner.password)
    first.follow(first.get(start_link(first, bed, up_email, up_password)))
    owned = linked(bed, owner)
    assert len(owned) == 1

    second = PortalAgent(bed.base, bed.tenant)
    second.sign_in(other.email, other.password)
    refused = second.follow(second.get(start_link(second, bed, up_email, up_password)))
    assert refused.status_code == 200 and refused.url.endswith("/account/security?failed=identity_taken")
    assert "already linked to another account" in refused.text
    assert linked(bed, other) == [] and linked(bed, owner) == owned
    assert events(bed, other, "identity.linked") == []
    assert [e.outcome for e in events(bed, other, "identity.link_refused")] == ["failure"]


def test_the_link_return_is_single_use_and_bound(bed: Bed, clock: Any) -> None:
    from chalicelib.services.federation import LOGIN_SECONDS

    alice, bob = new_user(bed.tenant), new_user(bed.tenant)
    up_email, up_password = upstream_user(bed)
    agent = PortalAgent(bed.base, bed.tenant)
    agent.sign_in(alice.email, alice.password)

    # Another tenant: the link belongs to this tenant only.
    back = start_link(agent, bed, up_email, up_password)
    elsewhere = agent.get(back.replace(f"/t/{bed.tenant}/", f"/t/{bed.upstream}/"))
    assert elsewhere.status_code == 410 and "unknown, expired or was already used" in elsewhere.text
    # Another browser: refused, and the link request is used up.
    stranger = requests.get(back, allow_redirects=False, timeout=30)
    assert stranger.status_code == 400 and "another browser" in stranger.text
    assert agent.get(back).status_code == 400
    assert linked(bed, alice) == []

    # Without a portal session: refused, and used up.
    back = start_link(agent, bed, up_email, up_password)
    portal_cookie = agent.forget_portal_session()
    anonymous = agent.get(back)
    assert anonymous.status_code == 400 and "not signed in" in anonymous.text
    agent.restore(portal_cookie)
    assert agent.get(back).status_code == 400
    assert linked(bed, alice) == []

    # Another user in the same browser: refused.
    back = start_link(agent, bed, up_email, up_password)
    agent.post("/logout", {})
    agent.sign_in(bob.email, bob.password)
    assert agent.get(back).status_code == 403
    assert linked(bed, alice) == [] and linked(bed, bob) == []

    # Expired.
    agent.post("/logout", {})
    agent.sign_in(alice.email, alice.password)
    back = start_link(agent, bed, up_email, up_password)
    clock.advance(LOGIN_SECONDS + 1)
    assert agent.get(back).status_code == 410
    clock.reset()
    assert linked(bed, alice) == []

    # Finally linked; the same return again, and the upstream's answer replayed, are refused.
    posted = agent.post("/security", {"action": "link", "idp": "up"})
    to_callback = agent.follow(posted, stop=lambda url: "/federation/up/callback" in url)
    callback = urljoin(to_callback.url, to_callback.headers["Location"])
    back = urljoin(callback, agent.get(callback).headers["Location"])
    assert agent.follow(agent.get(back)).url.endswith("done=identity_linked")
    assert len(linked(bed, alice)) == 1
    assert agent.get(back).status_code == 400
    assert agent.get(callback).status_code == 400
    assert len(linked(bed, alice)) == 1 and len(events(bed, alice, "identity.linked")) == 1


def test_an_old_session_signs_in_again_before_linking(bed: Bed, clock: Any) -> None:
    from chalicelib.web.account.linking import REAUTH_SECONDS

    user = new_user(bed.tenant)
    agent = PortalAgent(bed.base, bed.tenant)
    agent.sign_in(user.email, user.password)
    clock.advance(REAUTH_SECONDS + 5)
    posted = agent.post("/security", {"action": "link", "idp": "up"})
    assert posted.status_code in (302, 303)
    assert f"/t/{bed.tenant}/authorize" in posted.headers["Location"]
    assert query_params(posted.headers["Location"])["prompt"] == "login"
    login_page = agent.follow(posted)
    assert Page.parse(login_page).has_form("/login"), "the live SSO session must not answer prompt=login"
    back = agent.follow(agent.login_form(login_page, user.email, user.password))
    assert back.status_code == 200 and back.url.endswith("/account/security?link=up")
    assert 'id="relink-hint"' in back.text
    again = agent.post("/security", {"action": "link", "idp": "up"})
    assert f"/t/{bed.upstream}/authorize" in again.headers["Location"]


def test_unknown_or_already_linked_provider_and_forged_forms(bed: Bed) -> None:
    user = new_user(bed.tenant)
    up_email, up_password = upstream_user(bed)
    agent = PortalAgent(bed.base, bed.tenant)
    agent.sign_in(user.email, user.password)
    unknown = agent.post("/security", {"action": "link", "idp": "nope"})
    assert unknown.status_code == 404 and "no longer exists" in unknown.text
    forged = agent.session.post(
        f"{bed.issuer}/account/security", data={"action": "link", "idp": "up", "csrf": "x" * 43}, timeout=30
    )
    assert forged.status_code == 400
    agent.follow(agent.get(start_link(agent, bed, up_email, up_password)))
    again = agent.post("/security", {"action": "link", "idp": "up"})
    assert again.status_code == 409 and "already linked" in again.text


# --- the account API: a one-time link URL for apps ----------------------------------------------------------------


def app_token(bed: Bed, user: E2EUser, session: requests.Session | None = None) -> str:
    """An access token of the app (first party) after a sign-in in ``session`` (its SSO session, if live)."""
    session = session or requests.Session()
    params = Provider(bed.base, bed.tenant).sign_in(session, bed.authorize_params(), user.email, user.password)
    return str(bed.exchange(params["code"])["access_token"])


def api(bed: Bed, token: str, method: str, path: str = "/identities", **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"{bed.issuer}/account{path}",
        headers={"Authorization": f"Bearer {token}"},
        allow_redirects=False,
        timeout=30,
        **kwargs,
    )


def test_app_gets_a_one_time_link_url(bed: Bed, clock: Any) -> None:
    from chalicelib.services.identity_linking import TICKET_SECONDS
    from chalicelib.web.account.linking import REAUTH_SECONDS

    user = new_user(bed.tenant)
    up_email, up_password = upstream_user(bed)
    app_browser = requests.Session()
    token = app_token(bed, user, app_browser)
    assert api(bed, token, "POST", json={"idp": "nope"}).status_code == 404
    assert api(bed, token, "POST", json={}).status_code == 400
    issued = api(bed, token, "POST", json={"idp": "up"})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["idp"] == "up" and body["expires_in"] == TICKET_SECONDS

    browser = PortalAgent(bed.base, bed.tenant)  # the app's system browser: no portal session
    opened = browser.get(body["link_url"])
    assert opened.status_code in (302, 303) and f"/t/{bed.upstream}/authorize" in opened.headers["Location"]
    back = upstream_leg(browser, opened, up_email, up_password)
    done = browser.get(urljoin(back.url, back.headers["Location"]))
    assert done.status_code == 200 and 'id="linked-message"' in done.text and "return to the app" in done.text
    assert [i for i, _ in linked(bed, user)] == ["up"]
    assert events(bed, user, "identity.linked")[0].details["via"] == "app"
    # Single use: the link URL again (even in the same browser) does nothing.
    assert browser.get(body["link_url"]).status_code == 400
    assert api(bed, token, "POST", json={"idp": "up"}).status_code == 409

    # Short-lived: an unopened link URL expires.
    assert api(bed, token, "DELETE", "/identities/up").status_code == 200
    late = api(bed, token, "POST", json={"idp": "up"}).json()["link_url"]
    clock.advance(TICKET_SECONDS + 1)
    assert PortalAgent(bed.base, bed.tenant).get(late).status_code == 400
    # A fresh token from an SSO session whose sign-in is not recent: the user must sign in again first.
    clock.advance(REAUTH_SECONDS)
    stale = api(bed, app_token(bed, user, app_browser), "POST", json={"idp": "up"})
    assert stale.status_code == 403 and "Sign in again" in stale.json()["error_description"]
    assert linked(bed, user) == []


def test_app_link_refuses_an_identity_of_another_user(bed: Bed) -> None:
    owner, other = new_user(bed.tenant), new_user(bed.tenant)
    up_email, up_password = upstream_user(bed)
    for person in (owner, other):
        link_url = api(bed, app_token(bed, person), "POST", json={"idp": "up"}).json()["link_url"]
        browser = PortalAgent(bed.base, bed.tenant)
        back = upstream_leg(browser, browser.get(link_url), up_email, up_password)
        result = browser.get(urljoin(back.url, back.headers["Location"]))
    assert result.status_code == 409 and "already linked to another account" in result.text
    assert len(linked(bed, owner)) == 1 and linked(bed, other) == []


# --- SAML: the same link through the ACS ---------------------------------------------------------------------------


def saml_round_trip(agent: PortalAgent, idp: Any, who: Any) -> tuple[str, dict[str, str], requests.Response]:
    """Press "Link" for ``corp``; the test IdP answers our AuthnRequest; (ACS URL, posted form, ACS response)."""
    posted = agent.post("/security", {"action": "link", "idp": "corp"})
    location = posted.headers.get("Location", "")
    assert location.startswith(f"{idp.sso_url}?"), (posted.status_code, posted.text[:300])
    request = idp.receive_redirect(location)
    acs = request.assertion_consumer_service_url
    answer = idp.response(
        sp_entity_id=request.issuer.text, acs_url=acs, in_response_to=request.id, user=who, sign_response=True
    )
    form = {"SAMLResponse": answer, "RelayState": query_params(location)["RelayState"]}
    return acs, form, agent.session.post(acs, data=form, allow_redirects=False, timeout=30)


def test_saml_link_is_single_use_and_never_takes_another_users_identity(bed: Bed, tmp_path: Any) -> None:
    from saml2.saml import NAMEID_FORMAT_PERSISTENT

    from tests.support.saml_idp import SamlTestIdP, User

    idp = SamlTestIdP(tmp_path / "idp")
    add_saml_integration(bed, idp)
    owner, other = new_user(bed.tenant), new_user(bed.tenant)
    who = User(name_id=f"corp-{uuid.uuid4().hex[:10]}", name_id_format=NAMEID_FORMAT_PERSISTENT,
               attributes={"mail": [owner.email]})  # fmt: skip
    agent = PortalAgent(bed.base, bed.tenant)
    agent.sign_in(owner.email, owner.password)
    acs, form, answered = saml_round_trip(agent, idp, who)
    assert answered.status_code == 303 and "/account/link/" in answered.headers["Location"]
    done = agent.follow(agent.get(urljoin(acs, answered.headers["Location"])))
    assert done.url.endswith("done=identity_linked")
    assert linked(bed, owner) == [("corp", who.name_id)]

    replayed = agent.session.post(acs, data=form, allow_redirects=False, timeout=30)
    assert replayed.status_code == 400 and "Location" not in replayed.headers

    second = PortalAgent(bed.base, bed.tenant)
    second.sign_in(other.email, other.password)
    _, _, answered = saml_round_trip(second, idp, who)
    refused = second.follow(second.get(urljoin(acs, answered.headers["Location"])))
    assert refused.url.endswith("failed=identity_taken") and "already linked to another account" in refused.text
    assert linked(bed, other) == [] and linked(bed, owner) == [("corp", who.name_id)]


# --- an account without a password (federation only) confirms its deletion by a recent sign-in --------------------


def test_an_account_without_a_password_confirms_deletion_by_a_recent_sign_in(bed: Bed, clock: Any) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tree = container.tenants().tree(bed.tenant)
    container.tenants().update_node(
        TenantId(bed.tenant), tree.root.node_id, settings={"tokens": {"access_token_seconds": 900}}
    )
    email, password = upstream_user(bed)
    walker = Walker(bed)
    token = str(
        bed.exchange(code_of(bed, walker.sign_in(bed.authorize_params(idp="up"), email, password)))["access_token"]
    )
    user = container.accounts().find_by_email(TenantId(bed.tenant), email)
    assert not container.linked_identities().has_password(TenantId(bed.tenant), user)
    assert api(bed, token, "GET", "/deletion").json()["confirm_with"] == "sign_in"

    clock.advance(600)  # the sign-in behind the token is no longer recent: confirm it is you first
    stale = api(bed, token, "POST", "/deletion", json={})
    assert stale.status_code == 403, stale.text
    assert container.accounts().get(TenantId(bed.tenant), user.user_id).deletion_scheduled_at == 0

    fresh = Walker(bed)
    code = code_of(bed, fresh.sign_in(bed.authorize_params(idp="up", prompt="login"), email, password))
    fresh_token = str(bed.exchange(code)["access_token"])
    scheduled = api(bed, fresh_token, "POST", "/deletion", json={"password": "ignored: there is none"})
    assert scheduled.status_code == 202 and scheduled.json()["scheduled"] is True
