"""The native authentication API for mobile apps (``/t/{tenant}/authn/...``): JSON in, JSON out.

Errors are ``{"error": code, "error_description": text, "fields": {name: code}}`` with a 4xx status (503 with
``Retry-After`` when an AWS dependency failed and the request may simply be repeated); anything unexpected is
logged and becomes a bare ``server_error``. Registration, resend and forgot-password answer 202 with the same body
whether or not the address has an account.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from chalicelib import container
from chalicelib.core import errors as domain
from chalicelib.core.ids import ROOT_NODE, TenantId
from chalicelib.services.registration import RegistrationRequest
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import NO_STORE, Handler, MissingBearer
from chalicelib.web.http import BadRequest, DuplicateParameter, HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc.resources import bearer_token

log = logging.getLogger("gatehouse")

# Looked up along each exception's MRO, so a subclass maps to its own entry before its base class's.
AUTHN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    domain.HumanVerificationFailed: (400, "captcha_failed"),
    domain.InvalidInput: (400, "invalid_input"),
    domain.CodeInvalid: (400, "invalid_link"),
    domain.RegistrationClosed: (403, "registration_closed"),
    domain.Forbidden: (403, "forbidden"),
    domain.TokenInvalid: (401, "invalid_token"),
    MissingBearer: (401, "invalid_token"),
    domain.RateLimited: (429, "rate_limited"),
    domain.TenantUnavailable: (404, "unknown_tenant"),
    domain.NotFound: (404, "not_found"),
    domain.AlreadyExists: (409, "conflict"),
    domain.Conflict: (409, "conflict"),
    domain.DependencyUnavailable: (503, "temporarily_unavailable"),
    BadRequest: (400, "invalid_request"),
    DuplicateParameter: (400, "invalid_request"),
}
ACCEPTED = {"status": "accepted"}
MAX_FIELD = 1024


def _lookup(error: Exception) -> tuple[int, str] | None:
    return next((AUTHN_ERRORS[cls] for cls in type(error).__mro__ if cls in AUTHN_ERRORS), None)


def error_response(error: Exception) -> HttpResponse:
    found = _lookup(error)
    if found is None:
        log.exception("unhandled error in the authn API")
        return json_response({"error": "server_error", "error_description": "An internal error occurred."}, 500)
    status, code = found
    if isinstance(error, BadRequest):
        status = error.status
    body: dict[str, Any] = {"error": code, "error_description": str(getattr(error, "public", "") or error)}
    if isinstance(error, MissingBearer):
        body["error_description"] = "An access token is required."
    fields = getattr(error, "fields", None)
    if fields:
        body["fields"] = dict(fields)
    headers = dict(NO_STORE)
    if status == 503:
        headers["Retry-After"] = "5"
    if isinstance(error, domain.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return json_response(body, status, headers)


def authn_endpoint(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
        try:
            return handler(request, *args)
        except Exception as error:  # noqa: BLE001 - the one place every failure becomes a typed JSON error
            return error_response(error)

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    data = request.json()
    if not isinstance(data, dict):
        raise domain.InvalidInput("The request body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise domain.InvalidInput(f"'{name}' is required and must be a string.", fields={name: "required"})
    if len(value) > MAX_FIELD:
        raise domain.InvalidInput(f"'{name}' is too long.", fields={name: "too_long"})
    return value


def _accepted(body: dict[str, Any] | None = None) -> HttpResponse:
    return json_response(body or ACCEPTED, 202, dict(NO_STORE))


@authn_endpoint
def register_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(request)
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise domain.InvalidInput("'attributes' must be an object.", fields={"attributes": "invalid"})
    registration = RegistrationRequest(
        email=_text(data, "email"),
        password=_text(data, "password"),
        attributes=attributes,
        captcha_token=_text(data, "captcha_token", required=False) or None,
        remote_ip=request.source_ip,
    )
    settings = container.tenants().effective(tenant_id, ROOT_NODE)
    container.request_limiter().count(tenant_id, "register", request.source_ip)
    container.registration().register(tenant_id, registration, settings=settings, origin=origin_of(request))
    return _accepted(
        {"status": "verification_pending", "message": "Check your inbox for a link to verify your email address."}
    )


@authn_endpoint
def resend_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    container.request_limiter().count(tenant_id, "resend", request.source_ip)
    container.verification_flow().resend(tenant_id, _text(_body(request), "email"))
    return _accepted()


@authn_endpoint
def forgot_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    email = _text(_body(request), "email")
    container.request_limiter().count(tenant_id, "forgot", request.source_ip)
    settings = container.tenants().effective(tenant_id)
    container.recovery().request_reset(tenant_id, email, settings=settings, origin=origin_of(request))
    return _accepted()


@authn_endpoint
def reset_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    data = _body(request)
    token, password = _text(data, "token"), _text(data, "password")
    recovery = container.recovery()
    origin = origin_of(request)
    user = container.accounts().get(tenant_id, recovery.check_reset_link(tenant_id, token, origin=origin).user_id)
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    recovery.reset_password(tenant_id, token, password, settings=settings, origin=origin)
    return json_response({"status": "password_reset"}, 200, dict(NO_STORE))


@authn_endpoint
def email_change_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = TenantId(container.tenants().tree(tenant).tenant_id)
    _claims, user = container.authorization().validate_access_token(tenant_id, bearer_token(request), need_user=True)
    if user is None:
        raise domain.TokenInvalid(detail="no user behind the token")
    new_email = _text(_body(request), "new_email")
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    container.request_limiter().count(tenant_id, "email_change", request.source_ip)
    container.recovery().request_email_change(tenant_id, user, new_email, settings=settings, origin=origin_of(request))
    return _accepted({"status": "verification_pending", "message": "Check the new address's inbox for a link."})
