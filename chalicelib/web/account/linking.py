"""Linking another identity provider to the signed-in account: from the portal's security page, and for apps
through the account API (``POST /account/identities`` returns a one-time ``link_url``).

The providers offered are the ones effective for the user's tier node (what the login page offers a client of
that node) that the user has not linked yet. Starting a link needs a recent authentication: the session behind
the portal (or the app's token) signed in within ``REAUTH_SECONDS``, with the second factor when the user has one
(the MFA pages' rule for changing factors); otherwise the portal sends the user through a fresh sign-in
(``prompt=login``) back to the security page, and the API answers 403 so that the app signs the user in again.

Both end at ``GET /t/{tenant}/account/link/{login_id}``, where ``flow.complete`` sends the browser after the
protocol adapter validated the upstream response: the browser that started (or opened) the link, and the same
portal session (portal) or a still-live grant (app), consume it once and the link is written
(``services.identity_linking``). Any mismatch ends the link request unused; nobody is ever signed in here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import User
from chalicelib.core.errors import CodeInvalid, NotFound, ReauthenticationRequired
from chalicelib.core.federation import FederatedLogin, LinkIntent
from chalicelib.core.ids import TenantId, new_id
from chalicelib.services.identity_linking import TICKET_SECONDS, IdentityTaken, ProviderAlreadyLinked
from chalicelib.services.mfa.service import usable_kinds
from chalicelib.services.step_up import has_second_factor
from chalicelib.web.account.portal_session import PortalUser, current_user, portal_path, portal_url, start_login
from chalicelib.web.errors import InvalidRequest
from chalicelib.web.federation import flow
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.oidc import flow as signin_flow
from chalicelib.web.oidc.pages import page

REAUTH_SECONDS = 300
MAX_NAME = 64
MAX_SECRET = 128


def providers(tenant_id: TenantId, user: User, ways: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The identity providers the user may link now (effective for their tier node, not linked yet)."""
    linked = {w.get("integration") for w in ways if w.get("type") == "federated"}
    return [
        {"name": i.name, "display_name": i.display_name, "kind": i.kind}
        for i in flow.offered(tenant_id, user.tier_node_id)
        if i.name not in linked
    ]


def recently_authenticated(tenant_id: TenantId, user: User, session_id: str) -> bool:
    """The SSO session behind the request authenticated within REAUTH_SECONDS (and with the second factor when
    the user has one): a stolen long-lived session alone cannot add a way into the account."""
    session = container.sessions().get(tenant_id, session_id) if session_id else None
    if session is None or session.user_id != user.user_id or session.revoked_at:
        return False
    if clock.now() - session.auth_time > REAUTH_SECONDS:
        return False
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    return not usable_kinds(user, settings) or has_second_factor(session.amr)


def _offered(tenant_id: TenantId, user: User, idp: str) -> Any:
    integration = flow.find_offered(tenant_id, user.tier_node_id, idp[:MAX_NAME]) if idp else None
    if integration is None:
        raise NotFound("Unknown identity provider.")
    return integration


def start_from_portal(http: HttpRequest, tenant_id: TenantId, portal: PortalUser, idp: str) -> HttpResponse:
    """The security page's "Link" (CSRF already checked): re-authenticate if needed, then go upstream."""
    integration = _offered(tenant_id, portal.user, idp)
    container.identity_linking().check_linkable(tenant_id, portal.user, integration.name)
    if not recently_authenticated(tenant_id, portal.user, portal.session_id):
        back = f"{portal_path(tenant_id)}/security?{urlencode({'link': integration.name})}"
        return start_login(http, tenant_id, back, prompt="login")
    intent = LinkIntent(portal.user.user_id, portal.grant_id, portal.jti, "portal")
    return flow.begin_link(http, tenant_id, integration, portal.user, intent)


def issue_for_app(tenant_id: TenantId, user: User, claims: dict[str, Any], session_id: str, idp: str) -> dict[str, Any]:
    """``POST /account/identities {"idp"}``: a one-time ``link_url`` that starts the link in a browser."""
    integration = _offered(tenant_id, user, idp)
    if not recently_authenticated(tenant_id, user, session_id):
        raise ReauthenticationRequired(
            "Sign in again (within the last few minutes) to link another identity.", detail="link without recent auth"
        )
    login_id = new_id()
    secret = container.identity_linking().issue_ticket(
        tenant_id, login_id, integration, user, str(claims.get("gid", "")), str(claims.get("jti", ""))
    )
    return {
        "idp": integration.name,
        "link_url": f"{portal_url(tenant_id, 'link')}/{login_id}?{urlencode({'ticket': secret})}",
        "expires_in": TICKET_SECONDS,
    }


def link_page(http: HttpRequest, tenant_id: TenantId, login_id: str) -> HttpResponse:
    """``GET /account/link/{login_id}``: ``?ticket=`` opens an app's link; without it the upstream round trip
    has come back and the link is finished (portal: back to the security page; app: "return to the app")."""
    if http.method != "GET" or not 0 < len(login_id) <= MAX_NAME:
        raise NotFound("Unknown page.")
    ticket = single(http.query, "ticket")
    if ticket is not None:
        try:
            return flow.open_link_ticket(http, tenant_id, login_id, ticket[:MAX_SECRET])
        except CodeInvalid as error:
            raise InvalidRequest("This link has expired or was already used. Start again in the app.") from error
    linking = container.identity_linking()
    try:
        login = linking.intent_of(tenant_id, login_id)
    except CodeInvalid as error:
        raise InvalidRequest("This link request is unknown, expired or was already used.", status=410) from error
    intent = login.link
    if intent is None:  # intent_of returns link logins only
        raise InvalidRequest("This link request is unknown.", status=410)
    _check_browser(http, tenant_id, login)
    if intent.via == "portal":
        portal = current_user(http, tenant_id)
        if portal is None:
            linking.refuse(tenant_id, login, "no_portal_session")
            raise InvalidRequest("You are not signed in to your account. Nothing was linked; sign in and start again.")
        user, grant_id = portal.user, portal.grant_id
    else:
        devices = container.devices()
        found = devices.live_user(tenant_id, grant_id=intent.grant_id, user_id=intent.user_id, jti=intent.jti)
        if found is None:
            linking.refuse(tenant_id, login, "session_ended")
            raise InvalidRequest("The app's session has ended. Nothing was linked; start again in the app.")
        user, grant_id = found, intent.grant_id
    try:
        outcome = linking.complete(
            tenant_id,
            login,
            user,
            grant_id=grant_id,
            via=intent.via,
            source_ip=http.source_ip,
            user_agent=http.user_agent,
        )
    except (IdentityTaken, ProviderAlreadyLinked) as refused:
        if intent.via != "portal":
            raise
        failed = "identity_taken" if isinstance(refused, IdentityTaken) else "provider_linked"
        return redirect(f"{portal_url(tenant_id, 'security')}?{urlencode({'failed': failed})}")
    if intent.via == "portal":
        return redirect(f"{portal_url(tenant_id, 'security')}?{urlencode({'done': 'identity_linked'})}")
    display = container.identity_providers().get(tenant_id, outcome.integration).display_name
    return page(http, "account_linked.html", tenant_id=tenant_id, node_id=user.tier_node_id, provider=display)


def _check_browser(http: HttpRequest, tenant_id: TenantId, login: FederatedLogin) -> None:
    """Only the browser the link was started in (or the app's link opened in) may finish it."""
    cookie = http.cookies().get(signin_flow.CSRF_COOKIE, "")
    if not login.csrf_digest or not cookie or not constant_time_equals(secret_digest(cookie), login.csrf_digest):
        container.identity_linking().refuse(tenant_id, login, "other_browser")
        raise InvalidRequest("This link was started in another browser. Nothing was linked; please start again.")
