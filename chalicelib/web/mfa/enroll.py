"""Enrollment pages: choose a method, set up an authenticator app (``otpauth://`` URI and QR code), or prove an
email address or phone number with a code; then the recovery codes, shown once.

Every enrollment is confirmed by a first valid code through the same single-use challenge as sign-in.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Client, LoginSession, MfaEnrollment, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, DependencyUnavailable, InvalidInput, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.mfa.phones import to_e164
from chalicelib.services.mfa.service import Verified
from chalicelib.services.step_up import amr_after, has_second_factor
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, redirect
from chalicelib.web.mfa.account import (
    carried_flow,
    continue_sign_in,
    needs_step_up,
    posted,
    signed_in,
    step_up_page,
    user_settings,
)
from chalicelib.web.mfa.passkey_enroll import hosted_enrollable_kinds, passkey_enrollment
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.pages import branding_for, error_page, page
from chalicelib.web.selfservice.forms import check_csrf

CODE_ERRORS = {
    ChallengeClosed: "mfa.error.locked",
    CodeInvalid: "mfa.error.wrong_code",
    RateLimited: "mfa.error.too_many",
}


def choice_page(
    http: HttpRequest,
    tenant_id: TenantId,
    settings: EffectiveSettings,
    *,
    csrf: str,
    flow_id: str,
    cookies: list[str],
    node: Client | None = None,
) -> HttpResponse:
    return page(
        http,
        "mfa_enroll_choose.html",
        tenant_id=tenant_id,
        node_id=node.tier_node_id if node else container.tenants().tree(tenant_id).root.node_id,
        cookies=cookies,
        kinds=[{"kind": k, "url": enroll_url(tenant_id, k, flow_id)} for k in hosted_enrollable_kinds(settings)],
        required=settings.get("mfa", "mode") == "required",
        csrf_token=csrf,
        flow_id=flow_id,
    )


def enroll_url(tenant_id: TenantId, kind: str, flow_id: str = "") -> str:
    from chalicelib.web.http import with_query

    return with_query(urls.page(tenant_id, f"mfa/enroll/{kind}"), {"flow": flow_id or None})


def _page(http: HttpRequest, tenant_id: TenantId, template: str, *, status: int = 200, **context: Any) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        template,
        tenant_id=tenant_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        csrf_token=csrf,
        flow_id=carried_flow(http),
        field_errors=context.pop("field_errors", {}),
        error=context.pop("error", None),
        **context,
    )


def _enroll(http: HttpRequest, tenant: str, kind: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    if http.method == "POST":
        check_csrf(http)
    session, user = signed_in(http, tenant_id)
    settings = user_settings(tenant_id, user)
    if kind not in hosted_enrollable_kinds(settings):
        return error_page(http, 404, "not_found", "This method is not available.")
    if needs_step_up(session, user, settings):
        return step_up_page(http, tenant_id, session, user)
    if kind == "webauthn":
        return passkey_enrollment(http, tenant_id, session, user, settings)
    if kind == "totp":
        return _totp(http, tenant_id, session, user, settings)
    return _delivery(http, tenant_id, session, user, settings, kind)


def _totp(
    http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User, settings: EffectiveSettings
) -> HttpResponse:
    mfa = container.mfa()
    if http.method == "GET" or posted(http, "step") == "restart":
        # Each setup is a new encrypted secret (a KMS data key): counted like the other enrollment requests.
        container.request_limiter().count(tenant_id, "mfa_enroll", http.source_ip)
        setup = mfa.begin_totp(tenant_id, user, issuer=branding_for(tenant_id)["display_name"])
        return _totp_page(http, tenant_id, setup.enrollment, setup.challenge.challenge_id, setup.secret, setup.uri)
    pending = mfa.pending_enrollment(tenant_id, user, posted(http, "enrollment", 64))
    challenge_id = posted(http, "challenge", 64)
    try:
        code = posted(http, "code", 64)
        verified = mfa.verify(tenant_id, user, challenge_id, "totp", code, settings, origin=origin_of(http))
    except (CodeInvalid, RateLimited) as error:
        from chalicelib.services.mfa import totp

        secret = mfa.secret_of(pending).decode("ascii")
        uri = totp.provisioning_uri(secret, account=user.email, issuer=branding_for(tenant_id)["display_name"])
        key = next(v for k, v in CODE_ERRORS.items() if isinstance(error, k))
        return _totp_page(http, tenant_id, pending, challenge_id, secret, uri, error=key, status=400)
    return enrolled(http, tenant_id, session, user, verified)


def _totp_page(
    http: HttpRequest,
    tenant_id: TenantId,
    enrollment: MfaEnrollment,
    challenge_id: str,
    secret: str,
    uri: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    import segno

    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title="QR code")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return _page(
        http,
        tenant_id,
        "mfa_enroll_totp.html",
        status=status,
        action_url=urls.page(tenant_id, "mfa/enroll/totp"),
        qr_svg=qr_svg,
        secret=grouped,
        otpauth_uri=uri,
        enrollment_id=enrollment.enrollment_id,
        challenge_id=challenge_id,
        error=error,
    )


def _delivery(
    http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User, settings: EffectiveSettings, kind: str
) -> HttpResponse:
    mfa = container.mfa()
    step = posted(http, "step") if http.method == "POST" else "start"
    service_name = branding_for(tenant_id)["display_name"]
    if step in ("start", "send"):
        if step == "start":
            return _target_page(http, tenant_id, user, kind)
        try:
            container.request_limiter().count(tenant_id, "mfa_enroll", http.source_ip)
            target = to_e164(posted(http, "phone_number", 64)) if kind == "sms_otp" else user.email
            enrollment, challenge = mfa.begin_delivery(
                tenant_id, user, kind, target, settings, service_name=service_name
            )
        except InvalidInput:
            return _target_page(http, tenant_id, user, kind, error="mfa.error.phone_invalid", status=400)
        except DependencyUnavailable:
            return _target_page(http, tenant_id, user, kind, error="mfa.error.send_failed", status=503)
        except RateLimited:
            return _target_page(http, tenant_id, user, kind, error="mfa.error.too_many", status=429)
        return _code_page(http, tenant_id, kind, enrollment, challenge.challenge_id, notice="mfa.notice.code_sent")
    pending = mfa.pending_enrollment(tenant_id, user, posted(http, "enrollment", 64))
    challenge_id = posted(http, "challenge", 64)
    if step == "resend":
        notice = "mfa.notice.code_sent"
        try:
            mfa.send_code(tenant_id, challenge_id, pending, settings, service_name=service_name)
        except RateLimited:
            notice = "mfa.error.resend_wait"
        except (CodeInvalid, DependencyUnavailable):
            notice = "mfa.error.send_failed"
        return _code_page(http, tenant_id, kind, pending, challenge_id, notice=notice)
    try:
        code = posted(http, "code", 64)
        verified = mfa.verify(tenant_id, user, challenge_id, kind, code, settings, origin=origin_of(http))
    except (CodeInvalid, RateLimited) as error:
        key = next(v for k, v in CODE_ERRORS.items() if isinstance(error, k))
        return _code_page(http, tenant_id, kind, pending, challenge_id, error=key, status=400)
    return enrolled(http, tenant_id, session, user, verified)


def _target_page(
    http: HttpRequest, tenant_id: TenantId, user: User, kind: str, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    return _page(
        http,
        tenant_id,
        "mfa_enroll_target.html",
        status=status,
        action_url=urls.page(tenant_id, f"mfa/enroll/{kind}"),
        kind=kind,
        email=user.email,
        phone_number=posted(http, "phone_number", 64) if http.method == "POST" else "",
        error=error,
        field_errors={"phone_number": error} if error == "mfa.error.phone_invalid" else {},
    )


def _code_page(
    http: HttpRequest,
    tenant_id: TenantId,
    kind: str,
    enrollment: MfaEnrollment,
    challenge_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    is_error = notice is not None and notice.startswith("mfa.error.")
    return _page(
        http,
        tenant_id,
        "mfa_enroll_code.html",
        status=status,
        action_url=urls.page(tenant_id, f"mfa/enroll/{kind}"),
        kind=kind,
        target=enrollment.label,
        enrollment_id=enrollment.enrollment_id,
        challenge_id=challenge_id,
        notice=None if is_error else notice,
        error=error or (notice if is_error else None),
    )


def enrolled(
    http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User, verified: Verified
) -> HttpResponse:
    if not has_second_factor(session.amr):
        # The first factor of this user, proven by its first code: the session now has two factors.
        container.sessions().record_step_up(session, amr_after(session.amr, verified.amr))
    sealed = carried_flow(http)
    if verified.recovery_codes:
        return recovery_codes_page(http, tenant_id, list(verified.recovery_codes), sealed)
    if sealed:
        return continue_sign_in(http, tenant_id)
    return redirect(urls.page(tenant_id, "mfa/factors"))


def recovery_codes_page(http: HttpRequest, tenant_id: TenantId, codes: list[str], sealed: str) -> HttpResponse:
    return _page(
        http,
        tenant_id,
        "mfa_recovery_codes.html",
        codes=codes,
        continue_url=urls.page(tenant_id, "mfa/continue") if sealed else None,
        factors_url=urls.page(tenant_id, "mfa/factors"),
    )


enroll_endpoint = page_endpoint(error_page)(_enroll)
