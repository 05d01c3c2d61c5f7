"""Token endpoint grants (RFC 6749 §4.1.3, §6, §4.4). Discovery's ``grant_types_supported`` comes from GRANTS."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalicelib import container
from chalicelib.core.entities import Client
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import Origin
from chalicelib.web.errors import InvalidGrant, InvalidRequest, InvalidScope
from chalicelib.web.http import HttpRequest, single
from chalicelib.web.oidc.risk_gate import refresh_screen

VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")  # RFC 6749 §3.3

Form = dict[str, list[str]]
Grant = Callable[[TenantId, Client, Form, EffectiveSettings], dict[str, Any]]
# The token request being served (set by the token endpoint): grants that look at the request itself (the risk
# check on refresh reads the source IP and CloudFront location headers) take it from here.
CURRENT_REQUEST: ContextVar[HttpRequest | None] = ContextVar("current_token_request", default=None)


def request_origin() -> Origin | None:
    """The token request's source IP and User-Agent, for the audit events."""
    http = CURRENT_REQUEST.get()
    return Origin(http.source_ip, http.user_agent) if http is not None else None


def parse_scope(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    scopes = tuple(dict.fromkeys(value.split(" ")))
    if not value or any(not SCOPE_TOKEN.match(s) for s in scopes):
        raise InvalidScope("Malformed scope.")
    return scopes


def authorization_code(tenant_id: TenantId, client: Client, form: Form, settings: EffectiveSettings) -> dict[str, Any]:
    code = single(form, "code")
    redirect_uri = single(form, "redirect_uri")
    verifier = single(form, "code_verifier")
    if not code or len(code) > 256:
        raise InvalidRequest("code is required.")
    if not redirect_uri:
        raise InvalidRequest("redirect_uri is required.")
    if verifier is not None and not VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed.")
    return container.authorization().exchange_code(
        tenant_id,
        client,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=verifier,
        settings=settings,
        origin=request_origin(),
    )


def refresh_token(tenant_id: TenantId, client: Client, form: Form, settings: EffectiveSettings) -> dict[str, Any]:
    token = single(form, "refresh_token")
    if not token:
        raise InvalidRequest("refresh_token is required.")
    http = CURRENT_REQUEST.get()
    return container.authorization().refresh(
        tenant_id,
        client,
        refresh_token=token,
        scope=parse_scope(single(form, "scope")),
        settings=settings,
        screen=refresh_screen(http, tenant_id, settings) if http is not None else None,
        origin=Origin(http.source_ip, http.user_agent) if http is not None else None,
    )


def client_credentials(tenant_id: TenantId, client: Client, form: Form, settings: EffectiveSettings) -> dict[str, Any]:
    requested = parse_scope(single(form, "scope"))
    scope = requested if requested is not None else client.scopes
    if not set(scope) <= set(client.scopes):
        raise InvalidScope("The requested scope is not allowed for this client.")
    return container.authorization().client_credentials(
        tenant_id, client, scope=scope, settings=settings, origin=request_origin()
    )


GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code,
    "refresh_token": refresh_token,
    "client_credentials": client_credentials,
}
GRANT_TYPES = tuple(GRANTS)
