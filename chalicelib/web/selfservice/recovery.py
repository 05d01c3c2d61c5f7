"""Hosted account recovery and email change: ``/password/forgot``, ``/password/reset``, ``/email/change`` and
``/email/verify``. Forgot-password shows the same page whatever the address; the email change page needs the
browser's session."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.errors import CodeInvalid, DependencyUnavailable, InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, TenantId
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.authorize import SESSION_COOKIE
from chalicelib.web.oidc.pages import error_page, page
from chalicelib.web.selfservice import forms
from chalicelib.web.selfservice.register import check_email_page
from chalicelib.web.selfservice.verify import confirmation_page, invalid_link_page, password_form, result_page

MAX_EMAIL = 254


def _email_form(
    http: HttpRequest,
    tenant_id: TenantId,
    template: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    email: str = "",
    current_email: str = "",
) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    path = "email/change" if template == "email_change.html" else "password/forgot"
    return page(
        http,
        template,
        tenant_id=tenant_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        action_url=urls.page(tenant_id, path),
        csrf_token=csrf,
        email=email,
        current_email=current_email,
        field_errors=errors or {},
    )


def _forgot(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    if http.method == "GET":
        return _email_form(http, tenant_id, "forgot_password.html")
    forms.check_csrf(http)
    email = (single(http.form(), "email") or "").strip()[:MAX_EMAIL]
    try:
        container.request_limiter().count(tenant_id, "forgot", http.source_ip)
        settings = container.tenants().effective(tenant_id)
        container.recovery().request_reset(tenant_id, email, settings=settings, origin=origin_of(http))
    except InvalidInput:
        errors = {"email": "login.error.email_invalid"}
        return _email_form(http, tenant_id, "forgot_password.html", status=400, errors=errors, email=email)
    except DependencyUnavailable:
        return check_email_page(http, tenant_id, ROOT_NODE, "check_email.retry", status=503)
    return check_email_page(http, tenant_id, ROOT_NODE, "check_email.reset")


def _reset(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    recovery = container.recovery()
    if http.method == "GET":
        token = single(http.query, "token") or ""
        try:
            recovery.check_reset_link(tenant_id, token)
        except CodeInvalid:
            return invalid_link_page(http, tenant_id)
        return password_form(http, tenant_id, token, mode="reset", errors={})
    forms.check_csrf(http)
    token = single(http.form(), "token") or ""
    try:
        origin = origin_of(http)
        verification = recovery.check_reset_link(tenant_id, token, origin=origin)
        user = container.accounts().get(tenant_id, verification.user_id)
        settings = container.tenants().effective(tenant_id, user.tier_node_id)
        password = single(http.form(), "password") or ""
        recovery.reset_password(tenant_id, token, password, settings=settings, origin=origin)
    except (CodeInvalid, NotFound):
        return invalid_link_page(http, tenant_id)
    except InvalidInput as failure:
        errors = forms.field_error_keys(failure.fields)
        return password_form(http, tenant_id, token, mode="reset", status=400, errors=errors)
    return result_page(http, tenant_id, title="reset.done.title", message="reset.done.message")


def _email_change(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    resolved = container.sessions().resolve(tenant_id, http.cookies().get(SESSION_COOKIE))
    if resolved is None:
        return result_page(
            http, tenant_id, status=401, title="email_change.signed_out.title", message="email_change.signed_out"
        )
    _session, user = resolved
    if http.method == "GET":
        return _email_form(http, tenant_id, "email_change.html", current_email=user.email)
    forms.check_csrf(http)
    new_email = (single(http.form(), "new_email") or "").strip()[:MAX_EMAIL]
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    try:
        container.request_limiter().count(tenant_id, "email_change", http.source_ip)
        container.recovery().request_email_change(tenant_id, user, new_email, settings=settings, origin=origin_of(http))
    except InvalidInput as failure:
        return _email_form(
            http,
            tenant_id,
            "email_change.html",
            status=400,
            errors=forms.field_error_keys(failure.fields),
            email=new_email,
            current_email=user.email,
        )
    return check_email_page(http, tenant_id, user.tier_node_id, "check_email.email_change")


def _email_verify(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    recovery = container.recovery()
    if http.method == "GET":
        return confirmation_page(
            http,
            tenant_id,
            lambda token: recovery.check_email_change_link(tenant_id, token),
            messages="email_change",
            path="email/verify",
        )
    forms.check_csrf(http)
    try:
        recovery.confirm_email_change(tenant_id, single(http.form(), "token") or "", origin=origin_of(http))
    except CodeInvalid:
        return invalid_link_page(http, tenant_id)
    except InvalidInput:
        return result_page(
            http, tenant_id, status=409, title="email_change.taken.title", message="email_change.error.taken"
        )
    return result_page(http, tenant_id, title="email_change.done.title", message="email_change.done.message")


forgot_endpoint = page_endpoint(error_page)(_forgot)
reset_endpoint = page_endpoint(error_page)(_reset)
email_change_endpoint = page_endpoint(error_page)(_email_change)
email_verify_endpoint = page_endpoint(error_page)(_email_verify)
