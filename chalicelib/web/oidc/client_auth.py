"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3, RFC 7523 §2.2).

Exactly one method per request: ``client_secret_basic``, ``client_secret_post``, ``private_key_jwt`` or ``none``
(public clients identify themselves with ``client_id`` only). The method must be the one the client registered.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.entities import Client
from chalicelib.core.errors import CodeInvalid, TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.services.tokens import check_times, issuer_url
from chalicelib.web.errors import InvalidClient, InvalidRequest
from chalicelib.web.http import HttpRequest, single
from chalicelib.web.oidc import urls

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ASSERTION_ALGS = ("RS256", "ES256", "PS256")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 600


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        client_id, secret = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidClient("Malformed Basic credentials.", www_authenticate='Basic realm="token"') from error
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(request: HttpRequest, tenant_id: TenantId, endpoint_name: str) -> Client:
    client = _authenticate(request, tenant_id, endpoint_name)
    if not container.tenants().tree(tenant_id).is_active(client.tier_node_id):
        # The client's tier node (or one above it) is disabled: the client is, too.
        raise InvalidClient("Client authentication failed.")
    return client


def _authenticate(request: HttpRequest, tenant_id: TenantId, endpoint_name: str) -> Client:
    form = request.form()
    basic = _basic_credentials(request)
    body_id = single(form, "client_id")
    body_secret = single(form, "client_secret")
    assertion = single(form, "client_assertion")
    assertion_type = single(form, "client_assertion_type")
    used = [m for m, present in (("basic", basic), ("post", body_secret), ("jwt", assertion)) if present]
    if len(used) > 1:
        raise InvalidRequest("Use exactly one client authentication method.")
    challenge = 'Basic realm="gatehouse"' if basic else None
    if basic:
        client_id, secret = basic
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id does not match the Authorization header.")
        return _check_secret(tenant_id, client_id, secret, "client_secret_basic", challenge)
    if body_secret is not None:
        if not body_id:
            raise InvalidClient("client_id is required.")
        return _check_secret(tenant_id, body_id, body_secret, "client_secret_post", None)
    if assertion is not None:
        if assertion_type != JWT_BEARER:
            raise InvalidClient("Unsupported client_assertion_type.")
        return _check_assertion(tenant_id, assertion, body_id, endpoint_name)
    if not body_id:
        raise InvalidClient("Client authentication is required.", www_authenticate='Basic realm="gatehouse"')
    client = container.clients().get(tenant_id, body_id)
    if client is None or client.token_endpoint_auth_method != "none":
        raise InvalidClient("Client authentication failed.")
    return client


def _check_secret(tenant_id: TenantId, client_id: str, secret: str, method: str, challenge: str | None) -> Client:
    client = container.clients().get(tenant_id, client_id)
    if client is None or not container.clients().secret_matches(client, secret):
        raise InvalidClient("Client authentication failed.", www_authenticate=challenge)
    if client.token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
        raise InvalidClient("This client must use its registered authentication method.", www_authenticate=challenge)
    return client


def _check_assertion(tenant_id: TenantId, assertion: str, body_id: str | None, endpoint_name: str) -> Client:
    from jose import jwk, jws, jwt
    from jose.exceptions import JOSEError

    try:
        header = jws.get_unverified_header(assertion)
        unverified = jwt.get_unverified_claims(assertion)
    except JOSEError as error:
        raise InvalidClient("Malformed client assertion.") from error
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or unverified.get("iss") != client_id or (body_id and body_id != client_id):
        raise InvalidClient("The client assertion must have iss = sub = client_id.")
    client = container.clients().get(tenant_id, client_id)
    if client is None or client.token_endpoint_auth_method != "private_key_jwt" or not client.jwks:
        raise InvalidClient("Client authentication failed.")
    alg = header.get("alg")
    if alg not in ASSERTION_ALGS or {"jwk", "jku", "x5u", "x5c"} & header.keys():
        raise InvalidClient("Client assertion algorithm or header not allowed.")
    keys = [
        k
        for k in client.jwks.get("keys", [])
        if isinstance(k, dict) and (not header.get("kid") or k.get("kid") == header.get("kid"))
    ]
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                assertion,
                jwk.construct(key, alg),
                algorithms=[alg],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require_exp": True,
                    "require_sub": True,
                    "require_iss": True,
                    "require_jti": True,
                    "leeway": 30,
                },
            )
            break
        except JOSEError:
            continue
    if claims is None:
        raise InvalidClient("The client assertion signature or claims are invalid.")
    claims.setdefault("iat", clock.now())  # RFC 7523 makes iat optional
    try:
        check_times(claims, verify_exp=True)
    except TokenInvalid as error:
        raise InvalidClient("The client assertion has expired or is not yet valid.") from error
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    accepted = {
        issuer_url(tenant_id),
        urls.endpoint(tenant_id, "token_endpoint"),
        urls.endpoint(tenant_id, endpoint_name),
    }
    if not accepted & {a for a in audiences if isinstance(a, str)}:
        raise InvalidClient("The client assertion audience must be this authorization server.")
    now = clock.now()
    exp = int(claims["exp"])
    if exp - now > MAX_ASSERTION_LIFETIME:
        raise InvalidClient("The client assertion lives too long.")
    try:
        container.authorization().use_client_assertion(tenant_id, client.client_id, str(claims["jti"]), expires_at=exp)
    except CodeInvalid as error:
        raise InvalidClient("The client assertion was already used.") from error
    return client
