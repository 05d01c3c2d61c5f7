"""The second factor inside the browser sign-in: after the password, on an existing session (step-up), and the
challenge page's form post.

``services.step_up.decide`` says whether a factor is needed; this module only renders and routes. A user with
no factor where one is needed is sent to enrollment with a session that has only the password.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.entities import Client, LoginSession, MfaEnrollment, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, DependencyUnavailable, InvalidInput, RateLimited
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.mfa import FACTORS
from chalicelib.services.step_up import SignIn, StepUp, amr_after, decide
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import InvalidRequest, OAuthError, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.mfa import device, state
from chalicelib.web.oidc import flow, risk_gate, urls
from chalicelib.web.oidc.authorize import (
    AuthorizationRequest,
    check_client,
    check_redirect_uri,
    code_redirect,
    consent_page,
    fail,
    session_cookie,
)
from chalicelib.web.oidc.pages import error_page, page, redirect_sources
from chalicelib.web.oidc.profiling import missing_attributes, profile_page
from chalicelib.web.oidc.signin_activity import device_cookie, sign_in_context, start_session
from chalicelib.web.pages.assets import Script, webauthn_script

FACTORS_PAGE = "mfa/factors"
HOSTED_KINDS = frozenset({"totp", "email_otp", "sms_otp", "recovery_code", "webauthn"})


class InteractionRequired(OAuthError):
    """OIDC Core §3.1.2.6: ``prompt=none`` but the user must act (here: prove a second factor)."""

    error = "interaction_required"


def acr_values(request: AuthorizationRequest) -> tuple[str, ...]:
    return tuple((request.acr_values or "").split())


def decide_step(
    http: HttpRequest,
    tenant_id: TenantId,
    user: User,
    amr: tuple[str, ...],
    request_acr: tuple[str, ...],
    settings: EffectiveSettings,
    risk: str = "allow",
) -> StepUp:
    return decide(
        SignIn(
            user=user,
            amr=amr,
            acr_values=request_acr,
            settings=settings,
            remembered=lambda: device.is_remembered(
                http, tenant_id, user.user_id, settings, not_before=user.devices_forgotten_at
            ),
            risk=risk,
        )
    )


def after_first_factor(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    settings: EffectiveSettings,
    *,
    amr: tuple[str, ...] = ("pwd",),
    method: str = "pwd",
    risk: str = "allow",
    carry: dict[str, Any] | None = None,
    pwv: str | None = None,
) -> HttpResponse | None:
    """None when the first factor (``amr``: the password, or a federated sign-in with what the upstream asserted)
    is enough; else the challenge page or, without a factor, enrollment. ``risk`` is the risk engine's decision;
    ``carry`` travels in the sealed challenge state to the end of the sign-in. ``pwv``: the version of a password
    the policy now refuses, to be replaced once every factor is proven (``web.oidc.new_password``), before the
    session exists."""
    step = decide_step(http, tenant_id, user, amr, acr_values(request), settings, risk)
    pending = {"uid": user.user_id, "amr": list(amr), "at": clock.now(), "sid": None, **(carry or {})}
    if step.action == "challenge":
        if pwv:
            pending["pwv"] = pwv
        return start_challenge(http, tenant_id, client, request.to_params(), user, pending, settings)
    if pwv:  # the password is every factor this sign-in needs (or the account has): replace it first
        from chalicelib.web.oidc.new_password import ask_new_password

        pending.update(pwv=pwv, m=method, next=step.action)
        return ask_new_password(http, tenant_id, client, request, user, pending, settings)
    if step.action == "none":
        return None
    return password_session_then_enrollment(http, tenant_id, client, request, user, settings, amr=amr, method=method)


def password_session_then_enrollment(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    settings: EffectiveSettings,
    *,
    amr: tuple[str, ...],
    method: str,
) -> HttpResponse:
    """A factor is needed but the account has none: a session with the first factor only, then enrollment."""
    context = sign_in_context(http, client.client_id)
    session, cookie_value = start_session(tenant_id, user, context, amr=amr, settings=settings)
    container.sessions().store(session)
    activity = container.sign_in_activity()
    activity.record(activity.success_event(tenant_id, user, context, amr=amr, method=method))
    cookie = session_cookie(tenant_id, cookie_value, int(settings.get("tokens", "session_seconds")))
    cookies = [cookie, device_cookie(tenant_id, context, user.user_id)]
    return enrollment_choice(http, tenant_id, client, request, settings, cookies=cookies)


def for_session(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    session: LoginSession,
    user: User,
) -> HttpResponse | None:
    """Step-up for a signed-in browser: None when the session already satisfies the request."""
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    step = decide_step(http, tenant_id, user, session.amr, acr_values(request), settings)
    if step.action == "none":
        return None
    if "none" in request.prompt:
        raise fail(tenant_id, request, InteractionRequired("A second authentication factor is required."))
    if step.action == "challenge":
        pending = {"uid": user.user_id, "amr": list(session.amr), "at": session.auth_time, "sid": session.session_id}
        return start_challenge(http, tenant_id, client, request.to_params(), user, pending, settings)
    return enrollment_choice(http, tenant_id, client, request, settings)


def enrollment_choice(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    settings: EffectiveSettings,
    cookies: list[str] | None = None,
) -> HttpResponse:
    from chalicelib.web.mfa.enroll import choice_page

    csrf, csrf_cookie = flow.csrf_token(http)
    sealed = flow.seal(tenant_id, request.to_params(), csrf)
    all_cookies = [*(cookies or []), *([csrf_cookie] if csrf_cookie else [])]
    return choice_page(http, tenant_id, settings, csrf=csrf, flow_id=sealed, cookies=all_cookies, node=client)


def start_challenge(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    params: dict[str, Any],
    user: User,
    pending: dict[str, Any],
    settings: EffectiveSettings,
) -> HttpResponse:
    challenge = container.mfa().start_challenge(tenant_id, user)
    pending = {**pending, "cid": challenge.challenge_id}
    csrf, csrf_cookie = flow.csrf_token(http)
    sealed = state.seal(tenant_id, params, pending, csrf)
    methods = hosted_methods(tenant_id, user, settings)
    if not methods:
        raise InvalidRequest("No second factor is available. Please start again from the application.")
    # A passkey first (one touch; without JavaScript the page offers the others), then an app code (nothing to
    # send), then a sent code; recovery codes only when the user picks them.
    primary = [m for m in methods if FACTORS[m.kind].primary] or methods
    current = (
        next((m for m in primary if m.kind == "webauthn"), None)
        or next((m for m in primary if not FACTORS[m.kind].delivers_code), None)
        or primary[0]
    )
    notice = None
    if FACTORS[current.kind].delivers_code:
        notice = _send(tenant_id, challenge.challenge_id, current, settings)
    return challenge_page(
        http,
        tenant_id,
        client,
        settings,
        csrf=csrf,
        sealed=sealed,
        methods=methods,
        current=current,
        cookies=[csrf_cookie] if csrf_cookie else [],
        notice=notice,
        passkey=PasskeyCeremony(user, challenge.challenge_id),
    )


def hosted_methods(tenant_id: TenantId, user: User, settings: EffectiveSettings) -> list[MfaEnrollment]:
    """Methods the hosted pages can use (passkeys through ``web.pages.assets``' script, the others without any)."""
    return [m for m in container.mfa().methods(tenant_id, user, settings) if m.kind in HOSTED_KINDS]


@dataclass(frozen=True)
class PasskeyCeremony:
    """Whose challenge a passkey answer goes to: the page puts a fresh WebAuthn challenge on it when it offers one."""

    user: User
    challenge_id: str

    def options(self, tenant_id: TenantId, settings: EffectiveSettings) -> tuple[str | None, str | None]:
        """(request options as JSON for the page's form, or None; the error to show instead)."""
        try:
            options = container.passkeys().assertion_options(tenant_id, self.challenge_id, self.user, settings)
        except CodeInvalid:
            return None, "mfa.error.locked"
        except RateLimited:
            return None, "mfa.error.too_many"
        except InvalidInput:
            return None, "error.invalid_request"
        return json.dumps(options, separators=(",", ":")), None


def _send(tenant_id: TenantId, challenge_id: str, enrollment: MfaEnrollment, settings: EffectiveSettings) -> str:
    """Send a code; returns the notice (or error) key for the page."""
    from chalicelib.web.oidc.pages import branding_for

    try:
        container.mfa().send_code(
            tenant_id, challenge_id, enrollment, settings, service_name=branding_for(tenant_id)["display_name"]
        )
    except RateLimited:
        return "mfa.error.resend_wait"
    except DependencyUnavailable:
        return "mfa.error.send_failed"
    return "mfa.notice.code_sent"


def challenge_page(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    settings: EffectiveSettings,
    *,
    csrf: str,
    sealed: str,
    methods: list[MfaEnrollment],
    current: MfaEnrollment,
    cookies: list[str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    ui_locales: str | None = None,
    passkey: PasskeyCeremony | None = None,
) -> HttpResponse:
    remember_days = device.remember_seconds(settings) // 86400
    passkey_options: str | None = None
    scripts: tuple[Script, ...] = ()
    if current.kind == "webauthn" and passkey is not None:
        passkey_options, failure = passkey.options(tenant_id, settings)
        error = error or failure
        scripts = (webauthn_script(),)
    others = [
        {"value": f"{m.kind}:{m.enrollment_id}", "kind": m.kind, "label": m.label}
        for m in methods
        if m.enrollment_id != current.enrollment_id
    ]
    is_error = notice is not None and notice.startswith("mfa.error.")
    return page(
        http,
        "mfa_challenge.html",
        tenant_id=tenant_id,
        node_id=client.tier_node_id if client else container.tenants().tree(tenant_id).root.node_id,
        ui_locales=ui_locales,
        status=status,
        cookies=cookies or [],
        form_targets=redirect_sources(client.redirect_uris) if client else (),
        action_url=urls.page(tenant_id, "mfa/challenge"),
        csrf_token=csrf,
        flow_id=sealed,
        method=current.kind,
        enrollment_id=current.enrollment_id,
        method_label=current.label,
        delivers_code=FACTORS[current.kind].delivers_code,
        others=others,
        remember_days=remember_days if remember_days > 0 and current.kind != "recovery_code" else 0,
        notice=None if is_error else notice,
        error=error or (notice if is_error else None),
        field_errors={},
        passkey_options=passkey_options,
        scripts=scripts,
    )


def _challenge(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    params, pending = state.unseal(tenant_id, http)
    client, request = _restore(tenant_id, params)
    user = container.accounts().get(tenant_id, UserId(str(pending["uid"])))
    if user.status != "active":
        raise InvalidRequest("This account cannot sign in.")
    settings = container.tenants().effective(tenant_id, client.tier_node_id if client else user.tier_node_id)
    methods = hosted_methods(tenant_id, user, settings)
    if not methods:
        raise InvalidRequest("No second factor is available. Please start again from the application.")
    form = http.form()
    action = single(form, "action") or "verify"
    current = _chosen(methods, single(form, "method") or "", single(form, "enrollment") or "")
    if action.startswith("use:"):
        kind, _, enrollment_id = action[4:].partition(":")
        current = _chosen(methods, kind, enrollment_id)
    challenge_id = str(pending["cid"])
    render = _renderer(http, tenant_id, client, settings, methods, request, PasskeyCeremony(user, challenge_id))
    if action.startswith("use:") or action == "send":
        notice = _send(tenant_id, challenge_id, current, settings) if FACTORS[current.kind].delivers_code else None
        return render(current, notice=notice)
    answer = single(form, "credential" if current.kind == "webauthn" else "code") or ""
    try:
        verified = container.mfa().verify(
            tenant_id, user, challenge_id, current.kind, answer, settings, origin=origin_of(http, _client_id(client))
        )
    except ChallengeClosed:
        _record_mfa_failure(http, tenant_id, client, user, "mfa_locked")
        return render(current, error="mfa.error.locked", status=400)
    except CodeInvalid:
        _record_mfa_failure(http, tenant_id, client, user, "mfa_invalid_code")
        return render(current, error="mfa.error.wrong_code", status=400)
    except RateLimited as limited:
        response = render(current, error="mfa.error.too_many", status=429)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    amr = amr_after(tuple(pending.get("amr") or ("pwd",)), verified.amr)
    cookies = []
    if single(form, "remember") == "on" and device.remember_seconds(settings) > 0:
        cookies.append(device.remember_cookie(tenant_id, user.user_id, settings))
    return _finish(http, tenant_id, client, request, user, pending, amr, settings, cookies)


def _finish(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    request: AuthorizationRequest | None,
    user: User,
    pending: dict[str, Any],
    amr: tuple[str, ...],
    settings: EffectiveSettings,
    cookies: list[str],
    *,
    method: str = "mfa",
) -> HttpResponse:
    """``method``: how the sign-in was made, for its ``signin.success`` event (``mfa``: a first factor and a second
    one; ``passkey``: passwordless; ``pwd``: the password alone, after a required password change)."""
    sessions = container.sessions()
    session_id = pending.get("sid")
    new_session = not session_id
    if new_session and pending.get("pwv") and client is not None and request is not None:
        from chalicelib.web.oidc.new_password import ask_new_password

        # Every factor is proven: the password the policy now refuses is replaced before the session exists.
        asked = {**pending, "amr": list(amr), "m": method, "next": "none"}
        response = ask_new_password(http, tenant_id, client, request, user, asked, settings)
        response.cookies.extend(cookies)
        return response
    context = sign_in_context(http, _client_id(client))
    events = []
    history = None  # the user's risk history remembering a new sign-in (a step-up of a session adds none)
    if session_id:
        existing = sessions.get(tenant_id, str(session_id))
        if existing is None or existing.user_id != user.user_id or existing.revoked_at:
            raise InvalidRequest("Your session has ended. Please start again from the application.")
        session = sessions.record_step_up(existing, amr)
    else:
        session, cookie_value = start_session(tenant_id, user, context, amr=amr, settings=settings)
        cookies.append(session_cookie(tenant_id, cookie_value, int(settings.get("tokens", "session_seconds"))))
        cookies.append(device_cookie(tenant_id, context, user.user_id))
        risk_details, history = risk_gate.completed_sign_in(http, tenant_id, client, user, pending, amr)
        event = container.sign_in_activity().success_event(tenant_id, user, context, amr=amr, method=method)
        events.append(risk_gate.with_details(event, risk_details))
    if client is None or request is None:
        if new_session:
            sessions.store(session)
            for event in events:
                container.sign_in_activity().record(event)
            container.risk().record_history(history)
        response = redirect(urls.page(tenant_id, FACTORS_PAGE))
        response.cookies.extend(cookies)
        return response
    missing = missing_attributes(tenant_id, client, user)
    if missing:  # progressive profiling: ask for what the client needs first
        if new_session:
            sessions.store(session)
            for event in events:
                container.sign_in_activity().record(event)
            container.risk().record_history(history)
        return profile_page(http, tenant_id, client, request.to_params(), missing, cookies=cookies)
    forced = "consent" in request.prompt
    if container.consent().is_needed(tenant_id, client, user.user_id, request.scope, forced=forced):
        if new_session:
            sessions.store(session)
            for event in events:
                container.sign_in_activity().record(event)
            container.risk().record_history(history)
        return consent_page(http, tenant_id, client, request, user, cookies=cookies)
    response = redirect(
        code_redirect(
            tenant_id, client, request, user, session, new_session=new_session, events=events, history=history
        )
    )
    response.cookies.extend(cookies)
    return response


def _client_id(client: Client | None) -> str:
    return client.client_id if client is not None else ""


def _record_mfa_failure(http: HttpRequest, tenant_id: TenantId, client: Client | None, user: User, reason: str) -> None:
    """A wrong or exhausted second factor is a failed sign-in of this (known) user."""
    container.sign_in_activity().record_failure(
        tenant_id,
        user_id=user.user_id,
        email=user.email,
        reason=reason,
        context=sign_in_context(http, _client_id(client)),
    )


def _restore(tenant_id: TenantId, params: dict[str, Any]) -> tuple[Client | None, AuthorizationRequest | None]:
    """The authorization request to continue, or (None, None) for a step-up of the factor management pages."""
    if not params:
        return None, None
    request = AuthorizationRequest.from_params(params)
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    return client, request


def _chosen(methods: list[MfaEnrollment], kind: str, enrollment_id: str) -> MfaEnrollment:
    for method in methods:
        if method.kind == kind and (not enrollment_id or method.enrollment_id == enrollment_id):
            return method
    return methods[0]


def _renderer(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    settings: EffectiveSettings,
    methods: list[MfaEnrollment],
    request: AuthorizationRequest | None,
    passkey: PasskeyCeremony,
) -> Callable[..., HttpResponse]:
    sealed = single(http.form(), "flow") or ""
    csrf = single(http.form(), "csrf") or ""

    def render(
        current: MfaEnrollment, *, notice: str | None = None, error: str | None = None, status: int = 200
    ) -> HttpResponse:
        return challenge_page(
            http,
            tenant_id,
            client,
            settings,
            csrf=csrf,
            sealed=sealed,
            methods=methods,
            current=current,
            notice=notice,
            error=error,
            status=status,
            ui_locales=request.ui_locales if request else None,
            passkey=passkey,
        )

    return render


challenge_endpoint = page_endpoint(error_page)(_challenge)
finish_sign_in = _finish  # every factor proven: session, risk history, profile, consent, code (passwordless too)
