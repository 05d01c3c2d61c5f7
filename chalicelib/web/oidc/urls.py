"""Endpoint URLs of a tenant (one place; discovery advertises exactly these)."""

from __future__ import annotations

from chalicelib.core.ids import TenantId
from chalicelib.services.tokens import issuer_url

PATHS = {
    "authorization_endpoint": "authorize",
    "token_endpoint": "token",
    "userinfo_endpoint": "userinfo",
    "jwks_uri": ".well-known/jwks.json",
    "revocation_endpoint": "revoke",
    "introspection_endpoint": "introspect",
    "end_session_endpoint": "logout",
}


def endpoint(tenant_id: TenantId, name: str) -> str:
    return f"{issuer_url(tenant_id)}/{PATHS[name]}"


def page(tenant_id: TenantId, path: str) -> str:
    return f"{issuer_url(tenant_id)}/{path}"


def cookie_path(tenant_id: TenantId) -> str:
    return f"/t/{tenant_id}"
