"""OAuth 2.0 clients: registration (validated), cached lookup and secret verification."""

from __future__ import annotations

import builtins
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import settings as config
from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import Client, ClientType
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, ClientId, NodeId, TenantId, new_id, new_secret
from chalicelib.core.ports import ClientRepository
from chalicelib.services.cache import TtlCache

STANDARD_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
GRANTS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "confidential": ("authorization_code", "refresh_token"),
    "public": ("authorization_code", "refresh_token"),
    "service": ("client_credentials",),
}
AUTH_METHODS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "confidential": ("client_secret_basic", "client_secret_post", "private_key_jwt"),
    "public": ("none",),
    "service": ("client_secret_basic", "client_secret_post", "private_key_jwt"),
}
ADMIN_SCOPE = "admin"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def check_redirect_uri(uri: object, *, client_type: str) -> str:
    """Absolute URI without fragment (RFC 6749 §3.1.2); https, or http only on loopback; private-use schemes
    (RFC 8252 §7.1, reverse-DNS with a dot) only for public native clients."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or any(c.isspace() for c in uri):
        raise InvalidInput("Redirect URIs must be absolute URIs.", fields={"redirect_uri": "invalid"})
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise InvalidInput("Redirect URIs must not contain a fragment.", fields={"redirect_uri": "fragment"})
    if parts.scheme == "https" and parts.netloc:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    if client_type == "public" and "." in parts.scheme and parts.scheme not in ("http", "https", "javascript", "data"):
        return uri
    raise InvalidInput(f"Redirect URI '{uri}' is not allowed.", fields={"redirect_uri": "invalid"})


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    for scope in scopes:
        if not scope or any(c.isspace() or c in '"\\' or ord(c) < 0x21 or ord(c) > 0x7E for c in scope):
            raise InvalidInput(f"Invalid scope '{scope}'.", fields={"scope": "invalid"})
    return tuple(dict.fromkeys(scopes))


def check_attribute_names(names: list[str]) -> tuple[str, ...]:
    """Progressive profiling: profile attribute names a client needs (checked against the tenant's editable
    attributes at sign-in; unknown ones are never asked for)."""
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            raise InvalidInput(f"Invalid attribute name '{name}'.", fields={"required_attribute": "invalid"})
    return tuple(dict.fromkeys(names))


class ClientService:
    def __init__(self, repository: ClientRepository) -> None:
        self._repository = repository
        self._cache: TtlCache[Client | None] = TtlCache(config().client_cache_seconds)

    def create(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        client_type: ClientType,
        redirect_uris: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
        scopes: list[str] | None = None,
        tier_node_id: NodeId = ROOT_NODE,
        first_party: bool = False,
        client_id: str | None = None,
        auth_method: str | None = None,
        jwks: dict[str, Any] | None = None,
        required_attributes: list[str] | None = None,
    ) -> tuple[Client, str | None]:
        """Register a client; returns it with its secret (shown once, stored only as a digest)."""
        if client_type not in GRANTS_BY_TYPE:
            raise InvalidInput("Client type must be confidential, public or service.", fields={"type": "invalid"})
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInput("A client needs a name.", fields={"name": "required"})
        method = auth_method or AUTH_METHODS_BY_TYPE[client_type][0]
        if method not in AUTH_METHODS_BY_TYPE[client_type]:
            raise InvalidInput(f"Authentication method '{method}' does not fit a {client_type} client.")
        if method == "private_key_jwt" and not (jwks and isinstance(jwks.get("keys"), list) and jwks["keys"]):
            raise InvalidInput("private_key_jwt needs the client's public keys (JWKS).", fields={"jwks": "required"})
        uris = tuple(check_redirect_uri(u, client_type=client_type) for u in redirect_uris or [])
        if client_type != "service" and not uris:
            raise InvalidInput(
                "A confidential or public client needs a redirect URI.", fields={"redirect_uri": "required"}
            )
        logout_uris = tuple(check_redirect_uri(u, client_type=client_type) for u in post_logout_redirect_uris or [])
        if ADMIN_SCOPE in (scopes or ()) and client_type != "service" and not first_party:
            # A user's admin rights must never be handed to a third-party application.
            raise InvalidInput("Only first-party clients may ask users for the admin scope.", fields={"scope": "admin"})
        default_scopes = STANDARD_SCOPES if client_type != "service" else ()
        secret = new_secret() if method in ("client_secret_basic", "client_secret_post") else None
        client = Client(
            tenant_id=tenant_id,
            client_id=ClientId(client_id or new_id(12)),
            name=name.strip(),
            client_type=client_type,
            token_endpoint_auth_method=method,
            secret_digest=secret_digest(secret) if secret else None,
            redirect_uris=uris,
            post_logout_redirect_uris=logout_uris,
            scopes=check_scopes(list(scopes) if scopes else list(default_scopes)),
            grant_types=GRANTS_BY_TYPE[client_type],
            tier_node_id=tier_node_id,
            first_party=first_party,
            jwks=jwks,
            created_at=clock.now(),
            required_attributes=check_attribute_names(required_attributes or []),
        )
        self._repository.create(client)
        return client, secret

    def get(self, tenant_id: TenantId, client_id: str) -> Client | None:
        """The active client, cached for a few seconds; None for unknown or disabled clients."""
        if not isinstance(client_id, str) or not client_id or len(client_id) > 128 or "#" in client_id:
            return None
        client = self._cache.get_or_load(
            (tenant_id, client_id), lambda: self._repository.get(tenant_id, ClientId(client_id))
        )
        return client if client is not None and client.status == "active" else None

    def rotate_secret(self, tenant_id: TenantId, client_id: str) -> str:
        """A new secret for a confidential or service client; the old one stops working at once."""
        client = self._repository.get(tenant_id, ClientId(client_id))
        if client is None or client.secret_digest is None:
            raise InvalidInput("Only an existing client with a secret can rotate it.")
        secret = new_secret()
        self._repository.replace(replace(client, secret_digest=secret_digest(secret)))
        self._cache.invalidate((tenant_id, client_id))
        return secret

    def list(self, tenant_id: TenantId) -> list[Client]:
        return self._repository.list(tenant_id)

    @staticmethod
    def secret_matches(client: Client, secret: str) -> bool:
        if not client.secret_digest or not isinstance(secret, str) or not secret or len(secret) > 512:
            return False
        return constant_time_equals(client.secret_digest, secret_digest(secret))

    # --- administration (admin API) ---------------------------------------------------------------------------

    def find(self, tenant_id: TenantId, client_id: str) -> Client | None:
        """The client whatever its status, read through (no cache): for administration."""
        if not isinstance(client_id, str) or not client_id or len(client_id) > 128 or "#" in client_id:
            return None
        return self._repository.get(tenant_id, ClientId(client_id))

    def update(
        self,
        tenant_id: TenantId,
        client_id: str,
        *,
        name: str | None = None,
        redirect_uris: builtins.list[str] | None = None,
        post_logout_redirect_uris: builtins.list[str] | None = None,
        scopes: builtins.list[str] | None = None,
    ) -> Client:
        """Change what an admin may change; the redirect URIs follow the same rules as at registration."""
        client = self.find(tenant_id, client_id)
        if client is None:
            raise NotFound("Unknown client.")
        changes: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise InvalidInput("A client needs a name.", fields={"name": "invalid"})
            changes["name"] = name.strip()
        if redirect_uris is not None:
            uris = tuple(check_redirect_uri(u, client_type=client.client_type) for u in _strings(redirect_uris))
            if client.client_type != "service" and not uris:
                raise InvalidInput("A client needs a redirect URI.", fields={"redirect_uri": "required"})
            changes["redirect_uris"] = uris
        if post_logout_redirect_uris is not None:
            changes["post_logout_redirect_uris"] = tuple(
                check_redirect_uri(u, client_type=client.client_type) for u in _strings(post_logout_redirect_uris)
            )
        if scopes is not None:
            new_scopes = check_scopes(_strings(scopes))
            if ADMIN_SCOPE in new_scopes and client.client_type != "service" and not client.first_party:
                raise InvalidInput(
                    "Only first-party clients may ask users for the admin scope.", fields={"scope": "admin"}
                )
            changes["scopes"] = new_scopes
        updated = replace(client, **changes)
        self._repository.replace(updated)
        self._cache.invalidate((tenant_id, client_id))
        return updated

    def delete(self, tenant_id: TenantId, client_id: str) -> None:
        """The client stops authenticating at once in this process (others: within the client cache TTL)."""
        if not self._repository.delete(tenant_id, ClientId(client_id)):
            raise NotFound("Unknown client.")
        self._cache.invalidate((tenant_id, client_id))


def _strings(values: object) -> builtins.list[str]:
    if not isinstance(values, builtins.list) or not all(isinstance(v, str) for v in values) or len(values) > 50:
        raise InvalidInput("Expected a list of at most 50 strings.")
    return [str(v) for v in values]
