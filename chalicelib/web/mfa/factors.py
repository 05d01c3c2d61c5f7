"""The user's own second factors (``/t/{tenant}/mfa/factors``): list, rename, remove and new recovery codes.

Removing a factor or replacing the recovery codes needs the password again (re-authentication, throttled like
sign-in); and any change needs the second factor in this session when the user has one.
"""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.entities import LoginSession, User
from chalicelib.core.errors import InvalidCredentials, InvalidInput, NotFound, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, redirect
from chalicelib.web.mfa.account import needs_step_up, posted, signed_in, step_up_page, user_settings
from chalicelib.web.mfa.enroll import enroll_url, recovery_codes_page
from chalicelib.web.mfa.passkey_enroll import hosted_enrollable_kinds
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.pages import error_page, page
from chalicelib.web.selfservice.forms import check_csrf

MAX_PASSWORD = 1024


def _factors(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    if http.method == "POST":
        check_csrf(http)
    session, user = signed_in(http, tenant_id)
    settings = user_settings(tenant_id, user)
    if needs_step_up(session, user, settings):
        return step_up_page(http, tenant_id, session, user)
    if http.method == "GET":
        return factors_page(http, tenant_id, user, settings)
    return _change(http, tenant_id, session, user, settings)


def _change(
    http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User, settings: EffectiveSettings
) -> HttpResponse:
    mfa = container.mfa()
    action = posted(http, "action", 32)
    enrollment_id = posted(http, "enrollment", 64)
    if action == "rename":
        try:
            mfa.rename(tenant_id, user, enrollment_id, posted(http, "label", 200))
        except InvalidInput:
            return factors_page(http, tenant_id, user, settings, error="mfa.error.label_invalid", status=400)
        return redirect(urls.page(tenant_id, "mfa/factors"))
    if action not in ("remove", "regenerate"):
        return factors_page(http, tenant_id, user, settings, error="error.invalid_request", status=400)
    try:
        container.password_authenticator().authenticate(
            tenant_id, user.email, posted(http, "password", MAX_PASSWORD), ip=http.source_ip, settings=settings
        )
    except (InvalidCredentials, InvalidInput):
        return factors_page(http, tenant_id, user, settings, error="mfa.error.password_wrong", status=401)
    except RateLimited:
        return factors_page(http, tenant_id, user, settings, error="login.error.too_many_attempts", status=429)
    if action == "regenerate":
        codes = mfa.regenerate_recovery_codes(tenant_id, user, origin=origin_of(http))
        return recovery_codes_page(http, tenant_id, codes, "")
    try:
        mfa.remove(tenant_id, user, enrollment_id, origin=origin_of(http))
    except NotFound:
        return factors_page(http, tenant_id, user, settings, error="error.invalid_request", status=404)
    return redirect(urls.page(tenant_id, "mfa/factors"))


def factors_page(
    http: HttpRequest,
    tenant_id: TenantId,
    user: User,
    settings: EffectiveSettings,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    enrollments = container.mfa().enrollments(tenant_id, user)
    csrf, csrf_cookie = flow.csrf_token(http)
    recovery = next((e for e in enrollments if e.kind == "recovery_code"), None)
    return page(
        http,
        "mfa_factors.html",
        tenant_id=tenant_id,
        node_id=user.tier_node_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        action_url=urls.page(tenant_id, "mfa/factors"),
        csrf_token=csrf,
        user_email=user.email,
        factors=[
            {"id": e.enrollment_id, "kind": e.kind, "label": e.label, "last_used_at": e.last_used_at}
            for e in enrollments
            if e.kind != "recovery_code"
        ],
        recovery_left=len(recovery.code_digests) if recovery else None,
        enroll=[{"kind": k, "url": enroll_url(tenant_id, k)} for k in hosted_enrollable_kinds(settings)],
        mode=settings.get("mfa", "mode"),
        error=error,
        field_errors={},
    )


factors_endpoint = page_endpoint(error_page)(_factors)
