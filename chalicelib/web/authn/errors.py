"""Typed errors of the native authentication flows: ``{"error", "error_description", "fields"?}``.

One table from exception to (status, code), looked up along the exception's MRO (a subclass before its base);
the README documents every code. Anything unexpected is logged and becomes a bare ``server_error``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from chalicelib.core import errors as domain
from chalicelib.web.errors import NO_STORE, Handler, MissingBearer
from chalicelib.web.http import BadRequest, DuplicateParameter, HttpRequest, HttpResponse, json_response

log = logging.getLogger("gatehouse")


class FlowInvalid(Exception):
    """The flow token is expired, forged or not at this step (``invalid_flow``), or the client may not use the API
    (``invalid_client``)."""

    def __init__(self, public: str, *, code: str = "invalid_flow") -> None:
        super().__init__(public)
        self.public = public
        self.code = code


class MfaEnrollmentRequired(domain.DomainError):
    """A second factor is required but the user has none yet: enrollment happens in the hosted pages."""

    public = "Set up two-step verification in the hosted pages first (/mfa/factors), then sign in again."


class StepUpRequired(domain.DomainError):
    """The change needs a token from a sign-in with a second factor (``acr`` ``urn:gatehouse:loa:2``)."""

    public = "Sign in again with your second factor (acr_values=urn:gatehouse:loa:2) to change your factors."


class SignInRefused(domain.DomainError):
    """The tier's risk policy refused this sign-in (``risk_blocked``), or wants a second factor the account does
    not have (``second_factor_unavailable``)."""

    public = "This sign-in was blocked for your protection. If this was you, try again later or contact support."

    def __init__(self, public: str | None = None, *, code: str = "risk_blocked", detail: str = "") -> None:
        super().__init__(public, detail=detail)
        self.code = code


FLOW_ERRORS: dict[type[Exception], tuple[int, str]] = {
    SignInRefused: (403, "risk_blocked"),
    StepUpRequired: (403, "step_up_required"),
    domain.TokenInvalid: (401, "invalid_token"),
    MissingBearer: (401, "invalid_token"),
    MfaEnrollmentRequired: (403, "mfa_enrollment_required"),
    domain.InvalidCredentials: (401, "invalid_credentials"),
    domain.AccountDisabled: (403, "account_disabled"),
    domain.AccountNotVerified: (403, "account_not_verified"),
    domain.ChallengeClosed: (400, "challenge_closed"),
    domain.CodeInvalid: (400, "invalid_code"),
    domain.InvalidInput: (400, "invalid_input"),
    domain.RateLimited: (429, "rate_limited"),
    domain.TenantUnavailable: (404, "unknown_tenant"),
    domain.NotFound: (404, "not_found"),
    domain.DependencyUnavailable: (503, "temporarily_unavailable"),
    BadRequest: (400, "invalid_request"),
    DuplicateParameter: (400, "invalid_request"),
}


def flow_error_response(error: Exception) -> HttpResponse:
    headers = dict(NO_STORE)
    if isinstance(error, FlowInvalid):
        return json_response({"error": error.code, "error_description": error.public}, 400, headers)
    found = next((FLOW_ERRORS[c] for c in type(error).__mro__ if c in FLOW_ERRORS), None)
    if found is None:
        log.exception("unhandled error in the authn flows")
        return json_response({"error": "server_error", "error_description": "An internal error occurred."}, 500)
    status, code = found
    if isinstance(error, SignInRefused):
        code = error.code
    if isinstance(error, BadRequest):
        status = error.status
    body: dict[str, Any] = {"error": code, "error_description": str(getattr(error, "public", "") or error)}
    fields = getattr(error, "fields", None)
    if fields:
        body["fields"] = dict(fields)
    if isinstance(error, domain.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if status == 503:
        headers["Retry-After"] = "5"
    if status == 401 and code == "invalid_token":
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        if isinstance(error, MissingBearer):
            body["error_description"] = "An access token is required."
    if isinstance(error, domain.DomainError):
        log.info("authn flow error: %s %s", type(error).__name__, error.detail)
    return json_response(body, status, headers)


def authn_flow_endpoint(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
        try:
            return handler(request, *args)
        except Exception as error:  # noqa: BLE001 - the one place every flow failure becomes a typed JSON error
            return flow_error_response(error)

    return wrapper
