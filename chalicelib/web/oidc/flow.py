"""The sign-in flow state carried through the hosted pages without a database write.

The validated authorization request is sealed into a short-lived JWS signed with the tenant's ES256 key (typ
``gh-flow+jwt``, its own audience, so it can never pass as a token) and bound to the browser's CSRF cookie by
digest. A form post is accepted only with a valid seal, the CSRF cookie, and the same value in the form.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId, new_id, new_secret
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import InvalidRequest
from chalicelib.web.http import HttpRequest, cookie, single
from chalicelib.web.oidc.urls import cookie_path

FLOW_TYP = "gh-flow+jwt"
FLOW_AUDIENCE = "urn:gatehouse:flow"
FLOW_SECONDS = 1800
CSRF_COOKIE = "gh_csrf"
MAX_SEALED = 8192


def csrf_token(request: HttpRequest) -> tuple[str, str | None]:
    """(token, Set-Cookie or None): the browser's CSRF token, minted on first use."""
    existing = request.cookies().get(CSRF_COOKIE, "")
    if 32 <= len(existing) <= 128:
        return existing, None
    token = new_secret()
    tenant = request.path_params.get("tenant", "")
    return token, cookie(CSRF_COOKIE, token, path=cookie_path(TenantId(tenant)), max_age=None)


def seal(tenant_id: TenantId, params: dict[str, Any], csrf: str) -> str:
    now = clock.now()
    claims = {
        "iss": issuer_url(tenant_id),
        "sub": "flow",
        "aud": FLOW_AUDIENCE,
        "iat": now,
        "exp": now + FLOW_SECONDS,
        "jti": new_id(),
        "req": params,
        "csrf": secret_digest(csrf),
    }
    return container.tokens().sign(tenant_id, claims, alg="ES256", typ=FLOW_TYP)


def unseal(tenant_id: TenantId, request: HttpRequest) -> dict[str, Any]:
    """The sealed request parameters of a posted form; raises InvalidRequest on any mismatch."""
    form = request.form()
    sealed = single(form, "flow") or ""
    posted_csrf = single(form, "csrf") or ""
    cookie_csrf = request.cookies().get(CSRF_COOKIE, "")
    try:
        claims = container.tokens().verify(tenant_id, sealed, typ=FLOW_TYP, audience=FLOW_AUDIENCE)
    except TokenInvalid as error:
        raise InvalidRequest("This sign-in page has expired. Please start again from the application.") from error
    if not cookie_csrf or not constant_time_equals(posted_csrf, cookie_csrf):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    if not constant_time_equals(str(claims.get("csrf", "")), secret_digest(cookie_csrf)):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    params = claims.get("req")
    if not isinstance(params, dict):
        raise InvalidRequest("Malformed sign-in flow.")
    return params
