"""UserInfo (OIDC Core §5.3, RFC 6750), revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import logging

from chalicelib import container
from chalicelib.core.entities import Client
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.services.audit import Actor
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import (
    NO_STORE,
    InsufficientScope,
    InvalidClient,
    InvalidRequest,
    MissingBearer,
    bearer_endpoint,
    oauth_endpoint,
)
from chalicelib.web.http import FORM, HttpRequest, HttpResponse, json_response, single
from chalicelib.web.oidc.client_auth import authenticate_client

log = logging.getLogger(__name__)

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")


def bearer_token(request: HttpRequest) -> str:
    """RFC 6750 §2.1 header or §2.2 form body; exactly one method; never the query string."""
    header = request.headers.get("authorization", "")
    from_header = header[7:].strip() if header[:7].lower() == "bearer " else None
    from_body = None
    if request.method == "POST" and request.content_type == FORM:
        from_body = single(request.form(), "access_token")
    if from_header and from_body:
        raise InvalidRequest("Send the access token in exactly one place.")
    if "access_token" in request.query:
        raise InvalidRequest("Access tokens in the query string are not accepted.")
    token = from_header or from_body
    if not token:
        raise MissingBearer()
    return token


def _userinfo(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    token = bearer_token(request)
    try:
        claims = container.authorization().userinfo(tree.tenant_id, token)
    except TokenInvalid as error:
        if error.detail == "no openid scope":
            raise InsufficientScope("The access token does not carry the openid scope.") from error
        raise
    return json_response(claims, headers=NO_STORE)


def userinfo_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    return bearer_endpoint(realm=issuer_url(TenantId(tenant)) if tenant else "gatehouse")(_userinfo)(request, tenant)


def _token_and_hint(request: HttpRequest) -> tuple[str, str | None]:
    if request.method != "POST":
        raise InvalidRequest("Use POST.", status=405)
    if request.content_type != FORM:
        raise InvalidRequest(f"Content-Type must be {FORM}.")
    form = request.form()
    token = single(form, "token")
    if not token:
        raise InvalidRequest("token is required.")
    hint = single(form, "token_type_hint")
    return token, hint if hint in TOKEN_TYPE_HINTS else None


@oauth_endpoint
def revocation_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    token, hint = _token_and_hint(request)
    client = authenticate_client(request, tree.tenant_id, "revocation_endpoint")
    revoked = container.authorization().revoke(tree.tenant_id, client, token, hint)
    _record_revocation(request, tree.tenant_id, client, hint, revoked)
    return HttpResponse(200, "", dict(NO_STORE))


def _record_revocation(
    request: HttpRequest, tenant_id: TenantId, client: Client, hint: str | None, revoked: dict[str, str]
) -> None:
    """A ``token.revoke`` event by the client: the response never says whether the token was known (RFC 7009
    §2.2), the event does (``grant_id`` or ``jti`` of what was revoked; ``reason`` "not_found" otherwise)."""
    known = {k: v for k, v in revoked.items() if k in ("grant_id", "jti")}
    try:
        container.audit().record(
            Actor(tenant_id, client.client_id, client.tier_node_id, request.source_ip, request.user_agent),
            "token.revoke",
            revoked.get("subject") or client.client_id,
            details={
                "client_id": client.client_id,
                "hint": hint or "",
                "reason": "revocation_endpoint" if known else "not_found",
                **known,
            },
        )
    except Exception:
        log.exception("token.revoke event could not be stored")


@oauth_endpoint
def introspection_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    token, hint = _token_and_hint(request)
    client = authenticate_client(request, tree.tenant_id, "introspection_endpoint")
    if client.client_type == "public":
        raise InvalidClient("Public clients may not introspect tokens.")
    return json_response(container.authorization().introspect(tree.tenant_id, client, token, hint), headers=NO_STORE)
