"""Fresh test tenants for the end-to-end packages, set up in-process (what the tests check goes over HTTP): a
customer tenant with signing keys, its first-party web client redirecting to the local stand-in relying party
(``/_local/callback``), and verified users in it."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.oidc_client import E2EUser, Provider


class HostedTenant:
    """URLs of a tenant on the live server; mixed into the packages' site dataclasses (``base`` and ``slug``)."""

    base: str
    slug: str

    @property
    def issuer(self) -> str:
        return f"{self.base}/t/{self.slug}"

    def url(self, path: str) -> str:
        return f"{self.issuer}/{path}"

    def provider(self) -> Provider:
        return Provider(self.base, self.slug)


@dataclass(frozen=True)
class WebClient:
    client_id: str
    client_secret: str
    redirect_uri: str


def new_tenant(prefix: str, node_settings: dict[str, Any] | None = None, *, name: str | None = None) -> str:
    """A customer tenant ``{prefix}-<random>`` with its signing keys; its slug. Its display name is ``name`` and the
    slug's last four characters (told apart in emails), else the slug."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
    display_name = f"{name} {slug[-4:]}" if name else None
    container.tenants().create_customer(slug, display_name, node_settings=node_settings or {})
    container.signing_keys().ensure_keys(TenantId(slug))
    return slug


def new_web_client(live_server: str, slug: str, *, name: str = "Shop web", **options: Any) -> WebClient:
    """A first-party confidential client of ``slug`` whose redirect URI is ``/_local/callback`` (``options``:
    ``scopes``, ``client_id`` …, as ``ClientService.create`` takes them)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    redirect_uri = f"{live_server}/_local/callback"
    client, secret = container.clients().create(
        TenantId(slug),
        name=name,
        client_type="confidential",
        redirect_uris=[redirect_uri],
        first_party=True,
        **options,
    )
    assert secret is not None
    return WebClient(str(client.client_id), secret, redirect_uri)


def new_user(tenant: str, *, verified: bool = True, **profile: Any) -> E2EUser:
    """A user of ``tenant`` with a random email address and password (``profile``: attributes to store)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    email = f"user-{uuid.uuid4().hex[:10]}@example.org"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    tenant_id = TenantId(tenant)
    created = container.accounts().create_user(
        tenant_id,
        email=email,
        password=password,
        verified=verified,
        settings=container.tenants().effective(tenant_id),
        profile=profile or None,
    )
    return E2EUser(email, password, str(created.user_id))


ORGANIZATIONS = (("acme", None), ("globex", None), ("east", "acme"), ("west", "acme"))


def new_org_tree(prefix: str) -> tuple[str, str]:
    """A customer tenant (``new_tenant``) holding the organizations acme and globex and acme's accounts east and
    west, each slugged ``{name}-{tag}``; (tenant slug, tag)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = new_tenant(prefix)
    tag = slug[-8:]
    for child, parent in ORGANIZATIONS:
        container.tenants().create_child(TenantId(slug), f"{parent}-{tag}" if parent else None, f"{child}-{tag}")
    return slug, tag
