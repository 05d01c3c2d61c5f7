"""The native authentication API (``/t/{tenant}/authn/flows``) for first-party public clients (mobile apps).

A flow starts with what an authorization request would carry (client, exact redirect URI, scope, PKCE S256
challenge, state) and answers each step with a typed JSON challenge (``password``, ``mfa_choice``, ``mfa_code``,
``new_password_required``) until it is ``complete`` with an authorization code, which the app exchanges at the
token endpoint with its PKCE verifier: every token still comes from one place.

The state between steps is a signed ``flow_token`` (its own ``typ`` and audience, 10 minutes). A token is safe to
replay: passwords are throttled, a challenge is single-use, a password change is bound to the password it replaces,
and the code is bound to the PKCE challenge.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.entities import Client, MfaEnrollment, User
from chalicelib.core.errors import AccountDisabled, CodeInvalid, InvalidInput, NotFound, TokenInvalid
from chalicelib.core.ids import TenantId, UserId, new_id
from chalicelib.core.risk import HistoryUpdate
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.authentication import is_outdated
from chalicelib.services.mfa import FACTORS, webauthn
from chalicelib.services.mfa.service import allowed_kinds
from chalicelib.services.step_up import SignIn, amr_after, decide
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import origin_of
from chalicelib.web.authn import native_risk
from chalicelib.web.authn.errors import FlowInvalid, MfaEnrollmentRequired, authn_flow_endpoint
from chalicelib.web.errors import NO_STORE, InvalidRedirectUri
from chalicelib.web.http import HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc import risk_gate
from chalicelib.web.oidc.authorize import CHALLENGE, check_redirect_uri
from chalicelib.web.oidc.grants import parse_scope
from chalicelib.web.oidc.pages import branding_for
from chalicelib.web.oidc.signin_activity import sign_in_context, start_session

FLOW_TYP = "gh-authn+jwt"
FLOW_AUDIENCE = "urn:gatehouse:authn"
FLOW_SECONDS = 600
MAX_FIELD = 2048


def _body(http: HttpRequest) -> dict[str, Any]:
    data = http.json()
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = True, limit: int = MAX_FIELD) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(f"'{name}' is required and must be a string.", fields={name: "required"})
    if len(value) > limit:
        raise InvalidInput(f"'{name}' is too long.", fields={name: "too_long"})
    return value


# --- the flow token ----------------------------------------------------------------------------------------------


def _seal(tenant_id: TenantId, req: dict[str, Any], stage: str, **state: Any) -> str:
    now = clock.now()
    claims = {
        "iss": issuer_url(tenant_id),
        "sub": str(state.get("uid") or "flow"),
        "aud": FLOW_AUDIENCE,
        "iat": now,
        "exp": now + FLOW_SECONDS,
        "jti": new_id(),
        "req": req,
        "stage": stage,
        **state,
    }
    return container.tokens().sign(tenant_id, claims, alg="ES256", typ=FLOW_TYP)


def _unseal(tenant_id: TenantId, data: dict[str, Any], stage: str) -> dict[str, Any]:
    try:
        claims = container.tokens().verify(
            tenant_id, _text(data, "flow_token", limit=8192), typ=FLOW_TYP, audience=FLOW_AUDIENCE
        )
    except TokenInvalid as error:
        raise FlowInvalid("The flow has expired or is invalid. Start a new flow.") from error
    if claims.get("stage") != stage or not isinstance(claims.get("req"), dict):
        raise FlowInvalid(f"This flow is not waiting for '{stage}'.")
    return claims


def _client(tenant_id: TenantId, req: dict[str, Any]) -> Client:
    client = container.clients().get(tenant_id, str(req.get("client_id", "")))
    if client is None or client.client_type != "public" or not client.first_party:
        raise FlowInvalid("Only first-party public clients may use this API.", code="invalid_client")
    return client


# --- responses ---------------------------------------------------------------------------------------------------


def _answer(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return json_response(body, status, dict(NO_STORE))


def _next(
    tenant_id: TenantId, req: dict[str, Any], stage: str, challenge: dict[str, Any], **state: Any
) -> HttpResponse:
    return _answer(
        {
            "status": "challenge",
            "flow_token": _seal(tenant_id, req, stage, **state),
            "expires_in": FLOW_SECONDS,
            "next": challenge,
        }
    )


def _method(enrollment: MfaEnrollment) -> dict[str, Any]:
    return {"id": enrollment.enrollment_id, "type": enrollment.kind, "label": enrollment.label}


def _complete(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    req: dict[str, Any],
    user: User,
    amr: tuple[str, ...],
    settings: EffectiveSettings,
    risk: dict[str, Any] | None = None,
    finished: tuple[dict[str, Any], HistoryUpdate | None] | None = None,
) -> HttpResponse:
    """Issue the code. ``finished``: the risk details and history update of a sign-in assessed in this very
    request (else they are rebuilt from the sealed ``risk``, reading the history once)."""
    from chalicelib.services.authorization import CodeRequest

    if user.deletion_scheduled_at:
        container.account_deletion().cancel(tenant_id, user)  # signing in cancels a requested deletion
    context = sign_in_context(http, client.client_id)
    session, _ = start_session(tenant_id, user, context, amr=amr, settings=settings)
    risk_details, history = finished or risk_gate.completed_sign_in(http, tenant_id, client, user, risk or {}, amr)
    request = CodeRequest(
        client.client_id, req["redirect_uri"], tuple(req["scope"]), req.get("nonce"), req["code_challenge"]
    )
    event = container.sign_in_activity().success_event(tenant_id, user, context, amr=amr, method="native")
    event = risk_gate.with_details(event, risk_details)
    code = container.authorization().issue_code(
        tenant_id, request, user, session, new_session=True, settings=settings, events=[event], history=history
    )
    return _answer(
        {
            "status": "complete",
            "authorization_code": code,
            "redirect_uri": req["redirect_uri"],
            "state": req.get("state"),
            "iss": issuer_url(tenant_id),
        }
    )


def _after_first_factor(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    req: dict[str, Any],
    user: User,
    settings: EffectiveSettings,
    *,
    pwv: str | None,
    risk: dict[str, Any] | None = None,
    finished: tuple[dict[str, Any], HistoryUpdate | None] | None = None,
) -> HttpResponse:
    acr_values = tuple(str(req.get("acr_values") or "").split())
    risk = risk or {}
    decision = str(risk.get("risk", "allow"))
    step = decide(
        SignIn(
            user=user, amr=("pwd",), acr_values=acr_values, settings=settings, remembered=lambda: False, risk=decision
        )
    )
    if step.action == "none":
        return _authenticated(
            http, tenant_id, client, req, user, ("pwd",), settings, pwv=pwv, risk=risk, finished=finished
        )
    if step.action == "enroll":
        raise MfaEnrollmentRequired(detail=",".join(step.reasons))
    mfa = container.mfa()
    challenge = mfa.start_challenge(tenant_id, user)
    methods = mfa.methods(tenant_id, user, settings)
    state = {"uid": user.user_id, "cid": challenge.challenge_id, "pwv": pwv, **risk}
    return _next(tenant_id, req, "mfa", {"type": "mfa_choice", "methods": [_method(m) for m in methods]}, **state)


def _authenticated(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    req: dict[str, Any],
    user: User,
    amr: tuple[str, ...],
    settings: EffectiveSettings,
    *,
    pwv: str | None,
    risk: dict[str, Any] | None = None,
    finished: tuple[dict[str, Any], HistoryUpdate | None] | None = None,
) -> HttpResponse:
    """Every factor is proven: a password the policy now refuses must be replaced before the code is issued (only
    now, so the password alone can never change the password of an account with a second factor)."""
    if pwv:
        state = {"uid": user.user_id, "pwv": pwv, "amr": list(amr), **(risk or {})}
        return _next(tenant_id, req, "new_password", {"type": "new_password_required"}, **state)
    return _complete(http, tenant_id, client, req, user, amr, settings, risk, finished)


# --- the steps ---------------------------------------------------------------------------------------------------


@authn_flow_endpoint
def start_flow(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(http)
    client = _client(tenant_id, {"client_id": _text(data, "client_id", limit=128)})
    try:
        redirect_uri = check_redirect_uri(client, _text(data, "redirect_uri"))
    except InvalidRedirectUri as error:
        raise FlowInvalid("The redirect_uri is not registered for this client.", code="invalid_client") from error
    scope = parse_scope(_text(data, "scope"))
    if not scope or not set(scope) <= set(client.scopes):
        raise InvalidInput("The requested scope is not allowed for this client.", fields={"scope": "invalid"})
    challenge = _text(data, "code_challenge", limit=128)
    if _text(data, "code_challenge_method", limit=16) != "S256" or not CHALLENGE.match(challenge):
        raise InvalidInput("PKCE with code_challenge_method S256 is required.", fields={"code_challenge": "invalid"})
    req = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": list(scope),
        "code_challenge": challenge,
        "state": _text(data, "state", required=False) or None,
        "nonce": _text(data, "nonce", required=False) or None,
        "acr_values": _text(data, "acr_values", required=False) or None,
        # The app's stable installation id: the risk engine's device (only its digest is kept).
        "device_id": _text(data, "device_id", required=False, limit=64) or None,
    }
    return _next(tenant_id, req, "password", {"type": "password"})


@authn_flow_endpoint
def password_step(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(http)
    claims = _unseal(tenant_id, data, "password")
    req = claims["req"]
    client = _client(tenant_id, req)
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    email, password = _text(data, "email", limit=254), _text(data, "password", limit=1024)
    result = native_risk.authenticate(http, tenant_id, client, email, password, settings)
    gated = risk_gate.assess_password_sign_in(
        http, tenant_id, result, password, settings, device_id=str(req.get("device_id") or "")
    )
    native_risk.refuse_unless_allowed(http, tenant_id, client, result.user, gated, settings)
    risk = {"risk": gated.decision, **gated.carry()}
    outdated = is_outdated(password, settings.section("password_policy"), result.user.email)
    pwv = result.password_version if outdated else None
    finished = risk_gate.finished_now(tenant_id, result.user, gated)  # used if no further step is needed
    return _after_first_factor(
        http, tenant_id, client, req, result.user, settings, pwv=pwv, risk=risk, finished=finished
    )


@authn_flow_endpoint
def new_password_step(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(http)
    claims = _unseal(tenant_id, data, "new_password")
    req = claims["req"]
    client = _client(tenant_id, req)
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    user = _active_user(tenant_id, claims["uid"])
    new_password = _text(data, "new_password", limit=1024)
    try:
        container.password_changer().replace_outdated(
            tenant_id,
            user,
            new_password,
            version=str(claims.get("pwv", "")),
            settings=settings,
            origin=origin_of(http, client.client_id),
        )
    except InvalidInput as error:
        raise InvalidInput(error.public, fields={"new_password": error.fields.get("password", "invalid")}) from error
    amr = tuple(str(a) for a in claims.get("amr") or ("pwd",))
    return _complete(http, tenant_id, client, req, user, amr, settings, native_risk.carried(claims))


@authn_flow_endpoint
def mfa_select_step(http: HttpRequest, tenant: str) -> HttpResponse:
    """Pick a method (``method_id``); email and SMS methods get a fresh code (again: a resend)."""
    tenant_id, _data, claims, _owner, settings, user, method = _mfa_context(http, tenant)
    state = {"uid": user.user_id, "cid": claims["cid"], "pwv": claims.get("pwv"), **native_risk.carried(claims)}
    if method.kind == "webauthn":
        options = container.passkeys().assertion_options(tenant_id, str(claims["cid"]), user, settings)
        ceremony: dict[str, Any] = {"type": "mfa_passkey", "method": _method(method), "public_key": options}
        return _next(tenant_id, claims["req"], "mfa", ceremony, **state)
    if FACTORS[method.kind].delivers_code:
        container.mfa().send_code(
            tenant_id, str(claims["cid"]), method, settings, service_name=branding_for(tenant_id)["display_name"]
        )
    challenge = {"type": "mfa_code", "method": _method(method), "code_sent": FACTORS[method.kind].delivers_code}
    return _next(tenant_id, claims["req"], "mfa", challenge, **state)


@authn_flow_endpoint
def mfa_verify_step(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id, data, claims, client, settings, user, method = _mfa_context(http, tenant)
    answer = _credential(data) if method.kind == "webauthn" else _text(data, "code", limit=64)
    origin = origin_of(http, client.client_id)
    verified = container.mfa().verify(tenant_id, user, str(claims["cid"]), method.kind, answer, settings, origin=origin)
    amr = amr_after(("pwd",), verified.amr)
    pwv = claims.get("pwv") if isinstance(claims.get("pwv"), str) else None
    risk = native_risk.carried(claims)
    return _authenticated(http, tenant_id, client, claims["req"], user, amr, settings, pwv=pwv, risk=risk)


def _active_user(tenant_id: TenantId, user_id: object) -> User:
    user = container.accounts().get(tenant_id, UserId(str(user_id)))
    if user.status != "active":
        raise AccountDisabled(detail="disabled during the flow")
    return user


def _mfa_context(
    http: HttpRequest, tenant: str
) -> tuple[TenantId, dict[str, Any], dict[str, Any], Client, EffectiveSettings, User, MfaEnrollment]:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(http)
    claims = _unseal(tenant_id, data, "mfa")
    client = _client(tenant_id, claims["req"])
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    user = _active_user(tenant_id, claims["uid"])
    method_id = _text(data, "method_id", limit=64)
    methods = container.mfa().methods(tenant_id, user, settings)
    method = next((m for m in methods if m.enrollment_id == method_id), None)
    if method is None:
        raise InvalidInput("Unknown method for this user.", fields={"method_id": "invalid"})
    return tenant_id, data, claims, client, settings, user, method


@authn_flow_endpoint
def passkey_step(http: HttpRequest, tenant: str) -> HttpResponse:
    """Instead of the password: sign in with a discoverable passkey (passwordless first factor)."""
    tenant_id = container.tenants().tree(tenant).tenant_id
    claims = _unseal(tenant_id, _body(http), "password")
    client = _client(tenant_id, claims["req"])
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    if "webauthn" not in allowed_kinds(settings):
        raise InvalidInput("Passkeys are not available.", fields={"step": "passkey"})
    challenge, options = container.passkeys().begin_passwordless(tenant_id)
    ceremony = {"type": "passkey", "public_key": options}
    return _next(tenant_id, claims["req"], "passkey", ceremony, cid=challenge.challenge_id)


@authn_flow_endpoint
def passkey_verify_step(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(http)
    claims = _unseal(tenant_id, data, "passkey")
    client = _client(tenant_id, claims["req"])
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    credential = _credential(data)
    user_id = webauthn.user_handle(credential)
    if user_id is None:
        raise CodeInvalid("The passkey was not recognised.", detail="no user handle")
    try:
        user = _active_user(tenant_id, user_id)
    except NotFound as error:
        raise CodeInvalid("The passkey was not recognised.", detail="unknown user handle") from error
    origin = origin_of(http, client.client_id)
    container.mfa().verify(tenant_id, user, str(claims["cid"]), "webauthn", credential, settings, origin=origin)
    return _complete(http, tenant_id, client, claims["req"], user, webauthn.PASSWORDLESS_AMR, settings)


def _credential(data: dict[str, Any]) -> str:
    value = data.get("credential")
    if not isinstance(value, dict):
        raise InvalidInput(
            "'credential' must be the WebAuthn credential as a JSON object.", fields={"credential": "required"}
        )
    text = json.dumps(value)
    if len(text) > webauthn.MAX_CREDENTIAL_JSON:
        raise InvalidInput("'credential' is too large.", fields={"credential": "too_long"})
    return text


STEPS = {
    "passkey": passkey_step,
    "passkey_verify": passkey_verify_step,
    "password": password_step,
    "new_password": new_password_step,
    "mfa_select": mfa_select_step,
    "mfa_verify": mfa_verify_step,
}


def flow_step(http: HttpRequest, tenant: str, step: str) -> HttpResponse:
    handler = STEPS.get(step)
    if handler is None:
        return _answer({"error": "not_found", "error_description": "Unknown step."}, 404)
    return handler(http, tenant)


__all__ = ["flow_step", "start_flow"]
