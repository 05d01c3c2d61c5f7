"""Fixtures of the federation end-to-end tests: fresh tenants with a tier tree, tier-scoped admin tokens and
relying-party clients, all on the live server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tenant(live_server: str) -> dict[str, Any]:
    """A fresh customer tenant with organizations ``org`` (account ``acc`` below it) and ``other``."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = unique("fed")
    container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(TenantId(slug))
    nodes = {"root": slug}
    for key, parent in (("org", None), ("acc", "org"), ("other", None)):
        nodes[key] = unique(key)
        container.tenants().create_child(TenantId(slug), nodes.get(parent or "", None), nodes[key])
    return {"tenant": slug, "nodes": nodes, "base": f"{live_server}/t/{slug}"}


@pytest.fixture
def admin_token(live_server: str) -> Callable[..., str]:
    """``admin_token(tenant, node_slug)``: a client_credentials token of an admin client of that node."""

    def issue(tenant: str, node_slug: str | None = None) -> str:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        node = container.tenants().resolve_node(TenantId(tenant), node_slug)
        client, secret = container.clients().create(
            TenantId(tenant),
            name="admin",
            client_type="service",
            scopes=["admin"],
            tier_node_id=node.node_id,
            client_id=unique("adm"),
        )
        response = requests.post(
            f"{live_server}/t/{tenant}/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, secret or ""),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    return issue
