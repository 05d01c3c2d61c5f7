"""How the account portal signs users in: as a first-party OpenID Connect client of its own tenant.

Every tenant gets the confidential client ``gatehouse-account`` (first party, so no consent screen; redirect URI
``<issuer>/account/callback``; scopes ``openid profile email``), created on the portal's first use, so tenants that
existed before the portal get it too. Its secret is generated and thrown away: nobody can use the client at the
token endpoint; the portal exchanges its codes in-process (with PKCE S256 and a ``state`` bound to the browser).

The portal's session is server-side state: the grant the code exchange created. The browser holds a cookie
``gh_account``, a JWS signed with the tenant's ES256 key (own ``typ`` and audience, so it is never a token) naming
the user, the grant and the SSO session; every request checks in one round trip that the grant is live and the
user active. Revoking the grant (sign out, "sign out everywhere", password reset, deletion) ends the portal session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, s256
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import AlreadyExists, CodeInvalid, TokenInvalid
from chalicelib.core.ids import ClientId, TenantId, UserId, new_id, new_secret
from chalicelib.services.audit import Scalar
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import record_user_event
from chalicelib.web.errors import InvalidRequest
from chalicelib.web.http import HttpRequest, HttpResponse, cookie, expired_cookie, redirect, single

PORTAL_CLIENT_ID = "gatehouse-account"
PORTAL_SCOPE = ("openid", "profile", "email")
SESSION_COOKIE = "gh_account"
LOGIN_COOKIE = "gh_account_login"
SESSION_TYP = "gh-account+jwt"
LOGIN_TYP = "gh-account-login+jwt"
AUDIENCE = "urn:gatehouse:account"
LOGIN_SECONDS = 900
MAX_RETURN = 1024


def portal_url(tenant_id: TenantId, path: str = "") -> str:
    return f"{issuer_url(tenant_id)}/account{('/' + path) if path else ''}"


def portal_path(tenant_id: TenantId) -> str:
    return f"/t/{tenant_id}/account"


def portal_client(tenant_id: TenantId) -> Client:
    """The tenant's portal client, created on first use."""
    clients = container.clients()
    client = clients.get(tenant_id, PORTAL_CLIENT_ID)
    if client is not None:
        return client
    try:
        client, _secret = clients.create(
            tenant_id,
            name="Account",
            client_type="confidential",
            client_id=PORTAL_CLIENT_ID,
            redirect_uris=[portal_url(tenant_id, "callback")],
            post_logout_redirect_uris=[portal_url(tenant_id)],
            scopes=list(PORTAL_SCOPE),
            first_party=True,
        )
    except AlreadyExists:
        client = container.clients().get(tenant_id, PORTAL_CLIENT_ID)
        if client is None:
            raise
    return client


@dataclass(frozen=True)
class PortalUser:
    user: User
    grant_id: str
    session_id: str
    jti: str
    expires_at: int


def _seal(tenant_id: TenantId, claims: dict[str, Any], typ: str, seconds: int) -> str:
    now = clock.now()
    body = {"iss": issuer_url(tenant_id), "aud": AUDIENCE, "iat": now, "exp": now + seconds, "jti": new_id(), **claims}
    return container.tokens().sign(tenant_id, body, alg="ES256", typ=typ)


def current_user(http: HttpRequest, tenant_id: TenantId) -> PortalUser | None:
    """The signed-in portal user, or None (no cookie, bad seal, grant revoked, user gone or disabled)."""
    sealed = http.cookies().get(SESSION_COOKIE, "")
    if not sealed or len(sealed) > 4096:
        return None
    try:
        claims = container.tokens().verify(tenant_id, sealed, typ=SESSION_TYP, audience=AUDIENCE)
    except TokenInvalid:
        return None
    sub, gid, jti = claims.get("sub"), claims.get("gid"), claims.get("jti")
    if not all(isinstance(v, str) and v for v in (sub, gid, jti)):
        return None
    user = container.devices().live_user(tenant_id, grant_id=str(gid), user_id=UserId(str(sub)), jti=str(jti))
    if user is None:
        return None
    return PortalUser(user, str(gid), str(claims.get("sid") or ""), str(jti), int(claims["exp"]))


def start_login(http: HttpRequest, tenant_id: TenantId, return_to: str, *, prompt: str | None = None) -> HttpResponse:
    """Redirect to our own authorization endpoint, keeping state, nonce and the PKCE verifier in a sealed cookie
    (``prompt="login"``: the user must authenticate again, even with a live SSO session)."""
    client = portal_client(tenant_id)
    if not return_to.startswith(portal_path(tenant_id)) or len(return_to) > MAX_RETURN or "//" in return_to:
        return_to = portal_path(tenant_id)
    state, verifier = new_secret(), new_secret()
    params = {
        "client_id": client.client_id,
        "redirect_uri": portal_url(tenant_id, "callback"),
        "response_type": "code",
        "scope": " ".join(PORTAL_SCOPE),
        "state": state,
        "nonce": new_id(),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    ui_locales = single(http.query, "ui_locales")
    if ui_locales and len(ui_locales) < 64:
        params["ui_locales"] = ui_locales
    sealed = _seal(tenant_id, {"sub": "login", "state": state, "pkce": verifier, "to": return_to}, LOGIN_TYP, 900)
    response = redirect(f"{issuer_url(tenant_id)}/authorize?{urlencode(params)}")
    response.cookies.append(cookie(LOGIN_COOKIE, sealed, path=portal_path(tenant_id), max_age=LOGIN_SECONDS))
    return response


def finish_login(http: HttpRequest, tenant_id: TenantId) -> HttpResponse:
    """The authorization response: check ``state``, exchange the code in-process, set the portal cookie."""
    try:
        login = container.tokens().verify(
            tenant_id, http.cookies().get(LOGIN_COOKIE, "") or "-", typ=LOGIN_TYP, audience=AUDIENCE
        )
    except TokenInvalid as error:
        raise InvalidRequest("This sign-in has expired. Open your account page again.") from error
    state = single(http.query, "state") or ""
    if not constant_time_equals(state, str(login.get("state", ""))):
        raise InvalidRequest("This sign-in could not be verified. Open your account page again.")
    if single(http.query, "error"):
        return redirect(portal_url(tenant_id, "signed-out"))
    code = single(http.query, "code") or ""
    client = portal_client(tenant_id)
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    try:
        tokens = container.authorization().exchange_code(
            tenant_id,
            client,
            code=code,
            redirect_uri=portal_url(tenant_id, "callback"),
            code_verifier=str(login.get("pkce", "")),
            settings=settings,
        )
    except CodeInvalid as error:
        raise InvalidRequest("This sign-in could not be completed. Open your account page again.") from error
    claims = container.tokens().verify_access_token(tenant_id, tokens["access_token"])
    grant_id = str(claims["gid"])
    seconds = int(settings.get("tokens", "session_seconds"))
    sealed = _seal(
        tenant_id,
        {"sub": claims["sub"], "gid": grant_id, "sid": container.devices().session_of_grant(tenant_id, grant_id)},
        SESSION_TYP,
        seconds,
    )
    response = redirect(str(login.get("to") or portal_path(tenant_id)))
    response.cookies.append(cookie(SESSION_COOKIE, sealed, path=portal_path(tenant_id), max_age=seconds))
    response.cookies.append(expired_cookie(LOGIN_COOKIE, path=portal_path(tenant_id)))
    return response


def sign_out(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    """End the portal's grant and the browser's SSO session (RP-initiated logout of our own client)."""
    container.devices().end_portal_session(
        tenant_id, grant_id=portal.grant_id, jti=portal.jti, expires_at=portal.expires_at
    )
    if portal.session_id:
        container.sessions().end(tenant_id, portal.session_id)
    details: dict[str, Scalar] = {"client_id": PORTAL_CLIENT_ID}
    record_user_event(http, tenant_id, portal.user.user_id, portal.user.tier_node_id, "session.signed_out", details)
    response = redirect(portal_url(tenant_id, "signed-out"))
    response.cookies.append(expired_cookie(SESSION_COOKIE, path=portal_path(tenant_id)))
    return response


def portal_client_id() -> ClientId:
    return ClientId(PORTAL_CLIENT_ID)
