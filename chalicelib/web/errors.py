"""Protocol errors and the one place where every exception becomes a wire response.

Each protocol has a decorator (``oauth_endpoint``, ``bearer_endpoint``, ``page_endpoint``) that wraps a handler.
Domain errors are translated through a per-protocol table looked up along the exception's ``__mro__``; anything
not deliberately exposed becomes that protocol's generic server error (logged with its stack, never shown).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from chalicelib.core import errors as domain
from chalicelib.web.http import (
    BadRequest,
    DuplicateParameter,
    HttpRequest,
    HttpResponse,
    json_response,
    redirect,
    with_query,
)

log = logging.getLogger("gatehouse")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """RFC 6749 error. ``allow_redirect`` is False until the redirect URI has matched exactly (RFC 6749 §4.1.2.1)."""

    error = "invalid_request"
    status = 400
    allow_redirect = True

    def __init__(
        self, description: str = "", *, status: int | None = None, www_authenticate: str | None = None
    ) -> None:
        super().__init__(description or self.error)
        # RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
        self.description = "".join(c for c in description if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
        if status is not None:
            self.status = status
        self.www_authenticate = www_authenticate


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): 401."""

    error = "invalid_client"
    status = 401
    allow_redirect = False


class InvalidRedirectUri(OAuthError):
    error = "invalid_request"
    allow_redirect = False


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1."""

    error = "invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503


class AuthorizeRedirect(Exception):
    """An authorization error delivered to the client's (already verified) redirect URI with ``iss`` (RFC 9207)."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None, issuer: str) -> None:
        super().__init__(error.error)
        self.oauth_error = error
        self.redirect_uri = redirect_uri
        self.state = state
        self.issuer = issuer

    def response(self) -> HttpResponse:
        return redirect(
            with_query(
                self.redirect_uri,
                {
                    "error": self.oauth_error.error,
                    "error_description": self.oauth_error.description or None,
                    "state": self.state,
                    "iss": self.issuer,
                },
            )
        )


OAUTH_ERRORS: dict[type[Exception], Callable[[Exception], OAuthError]] = {
    domain.RiskRefused: lambda e: InvalidGrant(str(getattr(e, "public", ""))),
    domain.CodeInvalid: lambda e: InvalidGrant(
        "The grant is invalid, expired, revoked or was issued to another client."
    ),
    domain.ScopeNotAllowed: lambda e: InvalidScope(str(getattr(e, "public", ""))),
    domain.InvalidInput: lambda e: InvalidRequest(str(getattr(e, "public", ""))),
    domain.TenantUnavailable: lambda e: InvalidRequest("Unknown tenant.", status=404),
    domain.TokenInvalid: lambda e: InvalidToken(str(getattr(e, "public", ""))),
    domain.RateLimited: lambda e: InvalidRequest("Too many requests.", status=429),
    domain.DependencyUnavailable: lambda e: TemporarilyUnavailable("Try again shortly."),
    domain.NotFound: lambda e: InvalidRequest(str(getattr(e, "public", "")), status=404),
    BadRequest: lambda e: InvalidRequest(str(e), status=getattr(e, "status", 400)),
    DuplicateParameter: lambda e: InvalidRequest(str(e)),
}


def lookup(
    table: dict[type[Exception], Callable[[Exception], Any]], error: Exception
) -> Callable[[Exception], Any] | None:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return None


def to_oauth_error(error: Exception) -> OAuthError:
    if isinstance(error, OAuthError):
        return error
    translate = lookup(OAUTH_ERRORS, error)
    if translate is not None:
        if isinstance(error, domain.DomainError):
            log.info("oauth error: %s %s", type(error).__name__, error.detail)
        translated: OAuthError = translate(error)
        return translated
    log.exception("unhandled error")
    return ServerError("An internal error occurred.")


def oauth_error_response(error: OAuthError, headers: dict[str, str] | None = None) -> HttpResponse:
    body: dict[str, str] = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    extra = dict(NO_STORE)
    if error.www_authenticate:
        extra["WWW-Authenticate"] = error.www_authenticate
    return json_response(body, error.status, {**extra, **(headers or {})})


Handler = Callable[..., HttpResponse]


def oauth_endpoint(handler: Handler) -> Handler:
    """JSON OAuth errors (RFC 6749 §5.2) with ``Cache-Control: no-store``."""

    @functools.wraps(handler)
    def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
        try:
            return handler(request, *args)
        except Exception as error:  # noqa: BLE001 - the one place every failure becomes a protocol error
            return oauth_error_response(to_oauth_error(error))

    return wrapper


def bearer_endpoint(realm: str) -> Callable[[Handler], Handler]:
    """RFC 6750 §3 errors: ``WWW-Authenticate: Bearer`` with the error code."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
            try:
                return handler(request, *args)
            except Exception as error:  # noqa: BLE001
                if isinstance(error, MissingBearer):
                    challenge = f'Bearer realm="{realm}"'
                    return HttpResponse(401, "", {"WWW-Authenticate": challenge, **NO_STORE})
                oauth = to_oauth_error(error)
                challenge = f'Bearer realm="{realm}", error="{oauth.error}"'
                if oauth.description:
                    challenge += f', error_description="{oauth.description}"'
                oauth.www_authenticate = challenge
                return oauth_error_response(oauth)

        return wrapper

    return decorate


class MissingBearer(Exception):
    """No credentials at all: RFC 6750 §3.1 says answer with the challenge and no error code."""


PageRenderer = Callable[[HttpRequest, int, str, str], HttpResponse]

PAGE_STATUS: dict[type[Exception], int] = {
    domain.TenantUnavailable: 404,
    domain.NotFound: 404,
    domain.InvalidInput: 400,
    domain.RateLimited: 429,
    domain.DependencyUnavailable: 503,
    domain.Forbidden: 403,
    BadRequest: 400,
    DuplicateParameter: 400,
    domain.CodeInvalid: 400,
    domain.Conflict: 409,
}


def page_endpoint(render_error: PageRenderer) -> Callable[[Handler], Handler]:
    """HTML pages: errors render the error page; an authorization error with a verified redirect is redirected."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
            try:
                return handler(request, *args)
            except AuthorizeRedirect as redirect_error:
                return redirect_error.response()
            except OAuthError as error:
                return render_error(
                    request, error.status if error.status != 401 else 400, error.error, error.description
                )
            except Exception as error:
                status = next((PAGE_STATUS[c] for c in type(error).__mro__ if c in PAGE_STATUS), 500)
                if status == 500:
                    log.exception("unhandled error on a page")
                    return render_error(request, 500, "server_error", "Something went wrong. Please try again.")
                message = str(getattr(error, "public", "") or error)
                return render_error(request, status, type(error).__name__, message)

        return wrapper

    return decorate


# --- SCIM 2.0 (RFC 7644 §3.12) -------------------------------------------------------------------------------

SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
REALM_SAFE = re.compile(r"[a-z0-9-]{1,63}")


def safe_realm(tenant: str) -> str:
    """The tenant slug for a challenge's realm, or a constant: a path value never reaches a header unchecked."""
    return tenant if REALM_SAFE.fullmatch(tenant or "") else "gatehouse"


class ScimError(Exception):
    """RFC 7644 §3.12 error: HTTP status, optional ``scimType`` (invalidFilter, uniqueness, mutability, ...)."""

    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, *, bearer_error: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.bearer_error = bearer_error  # RFC 6750 §3.1 code for the WWW-Authenticate challenge


SCIM_ERRORS: dict[type[Exception], Callable[[Exception], ScimError]] = {
    domain.InvalidInput: lambda e: ScimError(400, str(getattr(e, "public", "")), "invalidValue"),
    domain.AlreadyExists: lambda e: ScimError(409, str(getattr(e, "public", "")), "uniqueness"),
    domain.Conflict: lambda e: ScimError(409, str(getattr(e, "public", ""))),
    domain.NotFound: lambda e: ScimError(404, "Resource not found."),
    domain.TenantUnavailable: lambda e: ScimError(404, "Unknown tenant."),
    domain.TokenInvalid: lambda e: ScimError(401, "The access token is invalid.", bearer_error="invalid_token"),
    domain.Forbidden: lambda e: ScimError(403, str(getattr(e, "public", ""))),
    domain.RateLimited: lambda e: ScimError(429, "Too many requests."),
    domain.DependencyUnavailable: lambda e: ScimError(503, "The service is temporarily unavailable."),
    MissingBearer: lambda e: ScimError(401, "An access token is required."),
    InvalidRequest: lambda e: ScimError(getattr(e, "status", 400), getattr(e, "description", "") or "Bad request."),
    BadRequest: lambda e: ScimError(getattr(e, "status", 400), str(e), "invalidSyntax"),
    DuplicateParameter: lambda e: ScimError(400, str(e)),
}


def to_scim_error(error: Exception) -> ScimError:
    if isinstance(error, ScimError):
        return error
    translate = lookup(SCIM_ERRORS, error)
    if translate is None:
        log.exception("unhandled error in SCIM")
        return ScimError(500, "An internal error occurred.")
    if isinstance(error, domain.DomainError):
        log.info("scim error: %s %s", type(error).__name__, error.detail)
    translated: ScimError = translate(error)
    return translated


def scim_error_response(error: ScimError, realm: str) -> HttpResponse:
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(error.status), "detail": error.detail}
    if error.scim_type:
        body["scimType"] = error.scim_type
    headers = {"Content-Type": SCIM_JSON, **NO_STORE}
    if error.status == 401 or error.bearer_error:
        challenge = f'Bearer realm="{realm}"'
        if error.bearer_error:
            challenge += f', error="{error.bearer_error}"'
        headers["WWW-Authenticate"] = challenge
    return json_response(body, error.status, headers)


def scim_endpoint(handler: Handler) -> Handler:
    """SCIM JSON errors for ``handler(request, tenant, ...)``; 401s carry a Bearer challenge (RFC 6750 §3)."""

    @functools.wraps(handler)
    def wrapper(request: HttpRequest, tenant: str, *args: Any) -> HttpResponse:
        try:
            return handler(request, tenant, *args)
        except Exception as error:  # noqa: BLE001 - the one place every SCIM failure becomes a SCIM error
            return scim_error_response(to_scim_error(error), realm=f"scim/{safe_realm(tenant)}")

    return wrapper


# --- admin API (JSON, bearer tokens) ---------------------------------------------------------------------------

ADMIN_STATUS: dict[type[Exception], tuple[int, str]] = {
    MissingBearer: (401, "invalid_token"),
    domain.TokenInvalid: (401, "invalid_token"),
    InsufficientScope: (403, "insufficient_scope"),
    domain.Forbidden: (403, "forbidden"),
    domain.NotFound: (404, "not_found"),
    domain.TenantUnavailable: (404, "not_found"),
    domain.InvalidInput: (400, "invalid_request"),
    domain.AlreadyExists: (409, "conflict"),
    domain.Conflict: (409, "conflict"),
    domain.RateLimited: (429, "rate_limited"),
    domain.DependencyUnavailable: (503, "temporarily_unavailable"),
    InvalidRequest: (400, "invalid_request"),
    BadRequest: (400, "invalid_request"),
    DuplicateParameter: (400, "invalid_request"),
}


def json_api_endpoint(
    statuses: dict[type[Exception], tuple[int, str]], realm: str, label: str
) -> Callable[[Handler], Handler]:
    """The JSON APIs behind a bearer token (admin, account): ``{"error", "error_description", "fields"?}`` errors
    from ``statuses`` (by MRO); 401/403 carry a Bearer challenge (RFC 6750), 429 a Retry-After."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(request: HttpRequest, tenant: str, *args: Any) -> HttpResponse:
            try:
                return handler(request, tenant, *args)
            except Exception as error:  # noqa: BLE001 - the one place these APIs turn any failure into JSON
                return _json_api_error(error, statuses, f"{realm}/{safe_realm(tenant)}", label)

        return wrapper

    return decorate


def _json_api_error(
    error: Exception, statuses: dict[type[Exception], tuple[int, str]], realm: str, label: str
) -> HttpResponse:
    found = next((statuses[c] for c in type(error).__mro__ if c in statuses), None)
    if found is None:
        log.exception("unhandled error in the %s", label)
        return json_response({"error": "server_error"}, 500, dict(NO_STORE))
    status, code = found
    if isinstance(error, BadRequest):
        status = error.status
    if isinstance(error, OAuthError) and error.status not in (401, 403):
        status = error.status
    description = str(getattr(error, "public", "") or getattr(error, "description", "") or error)
    if isinstance(error, MissingBearer):
        description = "An access token is required."
    body: dict[str, Any] = {"error": code, "error_description": description}
    if isinstance(error, domain.InvalidInput) and error.fields:
        body["fields"] = error.fields
    headers = dict(NO_STORE)
    if isinstance(error, domain.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if status in (401, 403):
        challenge = f'Bearer realm="{realm}"'
        if not isinstance(error, MissingBearer):
            challenge += f', error="{code if status == 401 else "insufficient_scope"}"'
        headers["WWW-Authenticate"] = challenge
    if isinstance(error, domain.DomainError):
        log.info("%s error: %s %s", label, type(error).__name__, error.detail)
    return json_response(body, status, headers)


admin_endpoint = json_api_endpoint(ADMIN_STATUS, "admin", "admin API")


# --- SAML 2.0 service provider (HTML error pages) ----------------------------------------------------------------


class SamlError(Exception):
    """A rejected SAML message or SAML endpoint request: ``reason`` is a short code for logs, audit and the page."""

    def __init__(self, reason: str, detail: str = "", *, status: int = 400, public: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status
        self.public = public or (
            "The sign-in response from your identity provider could not be accepted. Please start the sign-in again "
            "from the application; if this keeps happening, contact your administrator."
        )


SAML_ERRORS: dict[type[Exception], Callable[[Exception], SamlError]] = {
    domain.TenantUnavailable: lambda e: SamlError("unknown_tenant", status=404, public="Unknown tenant."),
    domain.NotFound: lambda e: SamlError(
        "unknown_idp", status=404, public="This identity provider is not configured for this service."
    ),
    domain.InvalidInput: lambda e: SamlError("invalid_request", str(getattr(e, "public", ""))),
    domain.CodeInvalid: lambda e: SamlError("request_unknown", getattr(e, "detail", "")),
    domain.RateLimited: lambda e: SamlError("rate_limited", status=429, public="Too many attempts. Please wait."),
    domain.DependencyUnavailable: lambda e: SamlError(
        "unavailable", status=503, public="The service is temporarily unavailable. Please try again."
    ),
    BadRequest: lambda e: SamlError("invalid_request", str(e), status=getattr(e, "status", 400)),
    DuplicateParameter: lambda e: SamlError("invalid_request", str(e)),
}


def to_saml_error(error: Exception) -> SamlError:
    if isinstance(error, SamlError):
        return error
    translate = lookup(SAML_ERRORS, error)
    if translate is None:
        log.exception("unhandled error in a SAML endpoint")
        return SamlError("server_error", status=500, public="Something went wrong. Please try again.")
    translated: SamlError = translate(error)
    return translated


def saml_endpoint(render_error: PageRenderer) -> Callable[[Handler], Handler]:
    """SAML SP endpoints: every failure is an HTML error page naming the rejection reason (never a stack trace)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(request: HttpRequest, *args: Any) -> HttpResponse:
            try:
                return handler(request, *args)
            except Exception as error:  # noqa: BLE001 - the one place every SAML failure becomes an error page
                saml = to_saml_error(error)
                log.warning("saml rejected: %s %s", saml.reason, saml.detail)
                return render_error(request, saml.status, saml.reason, saml.public)

        return wrapper

    return decorate


# --- account API (JSON, the user's bearer token) ----------------------------------------------------------------

ACCOUNT_STATUS: dict[type[Exception], tuple[int, str]] = {
    **ADMIN_STATUS,
    domain.CodeInvalid: (400, "invalid_link"),
    domain.InvalidCredentials: (400, "invalid_request"),
    domain.ChallengeClosed: (400, "challenge_closed"),
}


account_endpoint = json_api_endpoint(ACCOUNT_STATUS, "account", "account API")
