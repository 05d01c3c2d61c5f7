"""Passwordless sign-in with a passkey on the hosted login page (a discoverable credential, user verification
required), ending like every hosted sign-in: SSO session, risk gate, profile and consent, authorization code.

"Sign in with a passkey" posts the login form's sealed flow with ``action=passkey``; only then is a single-use
challenge created (rendering the login page costs no database request). The login page comes back with the
request options in the passkey form, and with the challenge id sealed in ``passkey_state``: a JWS of its own type
and audience, bound to the browser's CSRF cookie and to the client of the flow. The assertion names its user
(``userHandle``) and is checked like a second factor (``MfaService.verify``: single use, attempt limits,
throttling; RP ID and origin from the configured public URL), so a passkey the user removed stops working.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import Client, TenantTree, User
from chalicelib.core.errors import CodeInvalid, NotFound, RateLimited, TokenInvalid
from chalicelib.core.ids import TenantId, UserId, new_id
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.authentication import PasswordAuthentication
from chalicelib.services.mfa import webauthn
from chalicelib.services.mfa.service import CHALLENGE_SECONDS, allowed_kinds
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import InvalidRequest
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc import flow, risk_gate
from chalicelib.web.oidc.authorize import AuthorizationRequest, login_page
from chalicelib.web.oidc.signin_activity import sign_in_context
from chalicelib.web.pages.assets import webauthn_script

STATE_TYP = "gh-passkey+jwt"
STATE_AUDIENCE = "urn:gatehouse:passkey"
MAX_STATE = 2048


def login_context(tenant_id: TenantId, client: Client, ceremony: dict[str, str] | None = None) -> dict[str, Any]:
    """What the login page needs for the passkey button: nothing where the tier does not allow passkeys."""
    if "webauthn" not in allowed_kinds(container.tenants().effective(tenant_id, client.tier_node_id)):
        return {}
    return {"passkey_signin": True, "passkey_ceremony": ceremony, "scripts": (webauthn_script(),)}


def passkey_sign_in(
    http: HttpRequest, tree: TenantTree, client: Client, request: AuthorizationRequest, action: str
) -> HttpResponse:
    tenant_id = tree.tenant_id
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    if "webauthn" not in allowed_kinds(settings):
        raise InvalidRequest("Passkeys are not available here.")
    if action == "passkey":
        return _begin(http, tenant_id, client, request)
    cid = _unseal_state(tenant_id, http, client)
    refused = _Refusal(http, tenant_id, client, request)
    credential = (single(http.form(), "credential") or "")[: webauthn.MAX_CREDENTIAL_JSON + 1]
    user_id = webauthn.user_handle(credential)
    if user_id is None:
        return refused("passkey.error.not_accepted", 400)
    try:
        user = container.accounts().get(tenant_id, UserId(user_id))
    except NotFound:
        return refused("passkey.error.not_accepted", 400)
    if user.status != "active" or not tree.is_active(user.tier_node_id):
        return refused("login.error.account_disabled", 403)
    try:
        origin = origin_of(http, client.client_id)
        container.mfa().verify(tenant_id, user, cid, "webauthn", credential, settings, origin=origin)
    except CodeInvalid:
        refused.record_failure(user, "passkey_invalid")
        return refused("passkey.error.not_accepted", 400)
    except RateLimited as limited:
        response = refused("login.error.too_many_attempts", 429)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    return _signed_in(http, tenant_id, client, request, user, settings, refused)


def _begin(http: HttpRequest, tenant_id: TenantId, client: Client, request: AuthorizationRequest) -> HttpResponse:
    container.request_limiter().count(tenant_id, "passkey_signin", http.source_ip)
    challenge, options = container.passkeys().begin_passwordless(tenant_id)
    csrf, _ = flow.csrf_token(http)
    ceremony = {
        "options": json.dumps(options, separators=(",", ":")),
        "state": _seal_state(tenant_id, challenge.challenge_id, client, csrf),
    }
    return login_page(http, tenant_id, client, request, passkey=ceremony)


def _signed_in(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    settings: EffectiveSettings,
    refused: _Refusal,
) -> HttpResponse:
    """The passkey proved the user (possession and PIN or biometric): the risk gate, then the usual ending."""
    gated = risk_gate.assess_password_sign_in(
        http, tenant_id, PasswordAuthentication(user=user, amr=webauthn.PASSWORDLESS_AMR), "", settings
    )
    if gated.decision == "block":
        risk_gate.record_refusal(http, tenant_id, client, user, gated, reason="risk_blocked")
        response = refused("login.error.risk_blocked", 403)
        response.cookies.extend(gated.cookies)
        return response
    if user.deletion_scheduled_at:
        container.account_deletion().cancel(tenant_id, user)  # signing in cancels a requested deletion
    from chalicelib.web.mfa.signin import finish_sign_in

    amr = webauthn.PASSWORDLESS_AMR
    pending = {"uid": user.user_id, "amr": list(amr), "at": clock.now(), "sid": None, **gated.carry()}
    cookies = list(gated.cookies)
    return finish_sign_in(http, tenant_id, client, request, user, pending, amr, settings, cookies, method="passkey")


class _Refusal:
    """The login page again, with the reason the passkey was not accepted (and a fresh sealed flow)."""

    def __init__(self, http: HttpRequest, tenant_id: TenantId, client: Client, request: AuthorizationRequest) -> None:
        self.http, self.tenant_id, self.client, self.request = http, tenant_id, client, request

    def __call__(self, error: str, status: int) -> HttpResponse:
        return login_page(self.http, self.tenant_id, self.client, self.request, status=status, error=error)

    def record_failure(self, user: User, reason: str) -> None:
        context = sign_in_context(self.http, self.client.client_id)
        container.sign_in_activity().record_failure(
            self.tenant_id, user_id=user.user_id, email=user.email, reason=reason, context=context
        )


def _seal_state(tenant_id: TenantId, challenge_id: str, client: Client, csrf: str) -> str:
    now = clock.now()
    claims = {
        "iss": issuer_url(tenant_id),
        "sub": "passkey",
        "aud": STATE_AUDIENCE,
        "iat": now,
        "exp": now + CHALLENGE_SECONDS,
        "jti": new_id(),
        "cid": challenge_id,
        "client_id": client.client_id,
        "csrf": secret_digest(csrf),
    }
    return container.tokens().sign(tenant_id, claims, alg="ES256", typ=STATE_TYP)


def _unseal_state(tenant_id: TenantId, http: HttpRequest, client: Client) -> str:
    """The challenge id of the posted passkey state (the caller has checked the flow and the CSRF token)."""
    sealed = (single(http.form(), "passkey_state") or "")[:MAX_STATE]
    try:
        claims = container.tokens().verify(tenant_id, sealed, typ=STATE_TYP, audience=STATE_AUDIENCE)
    except TokenInvalid as error:
        raise InvalidRequest("This passkey sign-in has expired. Please try again.") from error
    cookie_csrf = http.cookies().get(flow.CSRF_COOKIE, "")
    if not cookie_csrf or not constant_time_equals(str(claims.get("csrf", "")), secret_digest(cookie_csrf)):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    cid = claims.get("cid")
    if claims.get("client_id") != client.client_id or not isinstance(cid, str) or not cid:
        raise InvalidRequest("This passkey sign-in belongs to another request.")
    return cid
