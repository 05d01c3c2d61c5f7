"""Hosted registration (``/t/{tenant}/register``) and the "resend the verification email" action."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.config import settings as config
from chalicelib.core.attributes import parse_schema
from chalicelib.core.errors import DependencyUnavailable, InvalidInput, RegistrationClosed
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.registration import RegistrationRequest
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.pages import error_page, locale_for, page
from chalicelib.web.selfservice import forms
from chalicelib.web.selfservice.links import resend_url

MAX_FIELD = 1024
TURNSTILE_ORIGIN = "https://challenges.cloudflare.com"
TURNSTILE_RESPONSE_FIELD = "cf-turnstile-response"  # what the Turnstile widget adds to the form


def _node_and_settings(tenant_id: TenantId, resume: dict[str, Any] | None) -> tuple[NodeId, EffectiveSettings]:
    """Users register at the tier node of the application they came from (the customer root otherwise)."""
    restored = forms.restore_request(tenant_id, resume)
    node_id = restored[0].tier_node_id if restored else ROOT_NODE
    return node_id, container.tenants().effective(tenant_id, node_id)


def _form_page(
    http: HttpRequest,
    tenant_id: TenantId,
    *,
    sealed: str | None,
    resume: dict[str, Any] | None,
    status: int = 200,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    error: str | None = None,
) -> HttpResponse:
    node_id, settings = _node_and_settings(tenant_id, resume)
    if not settings.get("registration", "enabled"):
        raise RegistrationClosed()
    csrf, csrf_cookie = flow.csrf_token(http)
    values = values or {}
    errors = field_errors or {}
    captcha = str(settings.get("registration", "captcha"))
    ui_locales = str(resume.get("ui_locales", "")) if resume else None
    response = page(
        http,
        "register.html",
        tenant_id=tenant_id,
        node_id=node_id,
        ui_locales=ui_locales,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        action_url=urls.page(tenant_id, "register"),
        csrf_token=csrf,
        flow_id=sealed or "",
        email=values.get("email", ""),
        attributes=forms.attribute_fields(settings, locale_for(http, ui_locales), values, errors),
        field_errors=errors,
        error=error,
        captcha=captcha,
        turnstile_site_key=config().turnstile_site_key,
        min_length=int(settings.get("password_policy", "min_length")),
    )
    if captcha == "turnstile":
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; script-src {TURNSTILE_ORIGIN}; "
            f"frame-src {TURNSTILE_ORIGIN}; connect-src {TURNSTILE_ORIGIN}; form-action 'self' http: https:; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
    return response


def _register_form(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    sealed = forms.sealed_flow_from_query(tenant_id, http)
    resume = None
    if sealed:
        resume = container.tokens().verify(tenant_id, sealed, typ=flow.FLOW_TYP, audience=flow.FLOW_AUDIENCE)["req"]
    return _form_page(http, tenant_id, sealed=sealed, resume=resume)


def _register(http: HttpRequest, tenant: str) -> HttpResponse:
    if http.method == "GET":
        return _register_form(http, tenant)
    tenant_id = container.tenants().tree(tenant).tenant_id
    forms.check_csrf(http)
    form = http.form()
    resume = forms.posted_flow(tenant_id, http)
    sealed = single(form, "flow") if resume else None
    node_id, settings = _node_and_settings(tenant_id, resume)
    schema = parse_schema(settings.get("attributes", "schema"))
    values = {k: (v[-1] if v else "")[:MAX_FIELD] for k, v in form.items() if k not in ("password", "csrf", "flow")}
    attributes = {spec.name: values.get(spec.name) for spec in schema}
    request = RegistrationRequest(
        email=values.get("email", ""),
        password=(single(form, "password") or "")[:MAX_FIELD],
        attributes=attributes,
        captcha_token=values.get(TURNSTILE_RESPONSE_FIELD) or values.get("captcha_token") or None,
        remote_ip=http.source_ip,
        resume=resume,
    )
    container.request_limiter().count(tenant_id, "register", http.source_ip)
    try:
        origin = origin_of(http, str((resume or {}).get("client_id") or ""))
        container.registration().register(tenant_id, request, settings=settings, node_id=node_id, origin=origin)
    except InvalidInput as failure:
        return _form_page(
            http,
            tenant_id,
            sealed=sealed,
            resume=resume,
            status=400,
            values=values,
            field_errors=forms.field_error_keys(failure.fields, schema),
        )
    except DependencyUnavailable:
        return _form_page(
            http, tenant_id, sealed=sealed, resume=resume, status=503, values=values, error="register.error.retry"
        )
    return check_email_page(http, tenant_id, node_id, "check_email.registration", email=request.email)


def check_email_page(
    http: HttpRequest, tenant_id: TenantId, node_id: NodeId, message: str, *, email: str = "", status: int = 200
) -> HttpResponse:
    """ "Check your inbox" (the same page whether or not the address has an account)."""
    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        "check_email.html",
        tenant_id=tenant_id,
        node_id=node_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        message=message,
        email=email.strip()[:254],
        resend_url=resend_url(tenant_id) if email else "",
        csrf_token=csrf,
    )


def _resend(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    forms.check_csrf(http)
    email = (single(http.form(), "email") or "").strip()[:254]
    try:
        container.request_limiter().count(tenant_id, "resend", http.source_ip)
        container.verification_flow().resend(tenant_id, email)
    except InvalidInput:
        pass  # a malformed address gets the same answer: there is nothing to tell
    except DependencyUnavailable:
        return check_email_page(http, tenant_id, ROOT_NODE, "check_email.retry", email=email, status=503)
    return check_email_page(http, tenant_id, ROOT_NODE, "check_email.resent", email=email)


register_endpoint = page_endpoint(error_page)(_register)
resend_endpoint = page_endpoint(error_page)(_resend)
