"""The pending second-factor step of a browser sign-in, sealed like the sign-in flow (``web.oidc.flow``) but with
its own ``typ``, so a sign-in flow can never pass as a completed password step and vice versa.

It carries the authorization request and ``pending``: the user, the challenge, what was proven so far (``amr``,
``at``) and, for step-up, the session being upgraded (``sid``). Bound to the browser's CSRF cookie by digest.

The hosted login's "Choose a new password" step (``web.oidc.new_password``) keeps its pending state the same way
under a ``typ`` and audience of its own (``step="new_password"``): a state sealed for one step never passes as the
other's, so the pending second factor (issued after the password alone) can never reach the password change.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId, new_id
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import InvalidRequest
from chalicelib.web.http import HttpRequest, single
from chalicelib.web.oidc.flow import CSRF_COOKIE

PENDING_TYP = "gh-mfa+jwt"
PENDING_AUDIENCE = "urn:gatehouse:mfa"
PENDING_SECONDS = 600
NEW_PASSWORD_TYP = "gh-newpw+jwt"
NEW_PASSWORD_AUDIENCE = "urn:gatehouse:new-password"
STEPS = {"mfa": (PENDING_TYP, PENDING_AUDIENCE), "new_password": (NEW_PASSWORD_TYP, NEW_PASSWORD_AUDIENCE)}


def seal(tenant_id: TenantId, params: dict[str, Any], pending: dict[str, Any], csrf: str, *, step: str = "mfa") -> str:
    typ, audience = STEPS[step]
    now = clock.now()
    claims = {
        "iss": issuer_url(tenant_id),
        "sub": str(pending["uid"]),
        "aud": audience,
        "iat": now,
        "exp": now + PENDING_SECONDS,
        "jti": new_id(),
        "req": params,
        "mfa": pending,
        "csrf": secret_digest(csrf),
    }
    return container.tokens().sign(tenant_id, claims, alg="ES256", typ=typ)


def unseal(tenant_id: TenantId, request: HttpRequest, *, step: str = "mfa") -> tuple[dict[str, Any], dict[str, Any]]:
    """(authorization request parameters, pending step) of a posted form; InvalidRequest on any mismatch."""
    typ, audience = STEPS[step]
    form = request.form()
    posted_csrf = single(form, "csrf") or ""
    cookie_csrf = request.cookies().get(CSRF_COOKIE, "")
    try:
        claims = container.tokens().verify(tenant_id, single(form, "flow") or "", typ=typ, audience=audience)
    except TokenInvalid as error:
        raise InvalidRequest("This sign-in step has expired. Please start again from the application.") from error
    if not cookie_csrf or not constant_time_equals(posted_csrf, cookie_csrf):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    if not constant_time_equals(str(claims.get("csrf", "")), secret_digest(cookie_csrf)):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    params, pending = claims.get("req"), claims.get("mfa")
    if not isinstance(params, dict) or not isinstance(pending, dict) or pending.get("uid") != claims.get("sub"):
        raise InvalidRequest("Malformed sign-in step.")
    return params, pending
