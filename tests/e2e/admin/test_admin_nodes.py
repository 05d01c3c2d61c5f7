"""Admin API for tier nodes over real HTTP: tier-scoped admin tokens (an organization admin manages that
organization and its accounts only; an account admin cannot touch its sibling or its parent), node creation,
effective settings with their provenance, and authorization errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests


@pytest.fixture(scope="module")
def tiers(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    """A fresh customer tenant whose root sets one branding value, with its own signing keys."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"tiers-{uuid.uuid4().hex[:8]}"
    container.tenants().create_customer(slug, node_settings={"branding": {"primary_color": "#111111"}})
    container.signing_keys().ensure_keys(TenantId(slug))
    return {"tenant": slug, "base": f"{live_server}/t/{slug}/admin"}


def admin_token(live_server: str, tenant: str, node_slug: str | None, scopes: tuple[str, ...] = ("admin",)) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(tenant)
    node = container.tenants().resolve_node(tenant_id, node_slug)
    client, secret = container.clients().create(
        tenant_id,
        name=f"admin of {node.slug}",
        client_type="service",
        scopes=list(scopes),
        tier_node_id=node.node_id,
        client_id=f"adm-{uuid.uuid4().hex[:10]}",
    )
    assert secret is not None
    response = requests.post(
        f"{live_server}/t/{tenant}/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def call(base: str, token: str | None) -> Callable[..., requests.Response]:
    def send(method: str, path: str = "", body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, f"{base}/nodes{path}", json=body, headers=headers, timeout=10)

    return send


@pytest.fixture(scope="module")
def tree(tiers: dict[str, Any], live_server: str) -> dict[str, Any]:
    """acme (organization) with accounts acme-east and acme-west, and a sibling organization globex."""
    tenant = tiers["tenant"]
    root = call(tiers["base"], admin_token(live_server, tenant, None))
    tag = uuid.uuid4().hex[:6]
    names = {"acme": f"acme-{tag}", "globex": f"globex-{tag}", "east": f"east-{tag}", "west": f"west-{tag}"}
    for key, parent in (("acme", None), ("globex", None), ("east", "acme"), ("west", "acme")):
        body = {"slug": names[key], "name": key.title()}
        if parent:
            body["parent"] = names[parent]
        response = root("POST", body=body)
        assert response.status_code == 201, response.text
    return {"root": root, **names}


def slugs(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {n["slug"] for n in response.json()["nodes"]}


def test_a_root_admin_creates_and_sees_the_whole_tree(tiers: dict[str, Any], tree: dict[str, Any]) -> None:
    listed = tree["root"]("GET")
    assert {tiers["tenant"], tree["acme"], tree["globex"], tree["east"], tree["west"]} <= slugs(listed)
    nodes = {n["slug"]: n for n in listed.json()["nodes"]}
    assert nodes[tree["acme"]]["tier"] == "organization" and nodes[tree["acme"]]["parent"] == tiers["tenant"]
    assert nodes[tree["east"]]["tier"] == "account" and nodes[tree["east"]]["parent"] == tree["acme"]
    assert nodes[tree["east"]]["name"] == "East"


def test_an_organization_admin_manages_only_its_organization(
    tiers: dict[str, Any], tree: dict[str, Any], live_server: str
) -> None:
    acme = call(tiers["base"], admin_token(live_server, tiers["tenant"], tree["acme"]))
    assert slugs(acme("GET")) == {tree["acme"], tree["east"], tree["west"]}
    north = f"north-{uuid.uuid4().hex[:6]}"
    created = acme("POST", body={"slug": north})  # the default parent is the admin's own node
    assert created.status_code == 201, created.text
    assert created.json() == {
        "slug": north,
        "tier": "account",
        "name": north,
        "parent": tree["acme"],
        "status": "active",
    }
    assert created.headers["Location"].endswith(f"/t/{tiers['tenant']}/admin/nodes/{north}")
    assert acme("GET", f"/{north}").status_code == 200
    for parent in (tree["globex"], tiers["tenant"]):
        refused = acme("POST", body={"slug": f"x-{uuid.uuid4().hex[:6]}", "parent": parent})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert acme("GET", f"/{tree['globex']}").status_code == 403
    assert acme("GET", f"/{tiers['tenant']}").status_code == 403
    assert tree["globex"] in slugs(tree["root"]("GET"))  # the sibling is untouched


def test_an_account_admin_cannot_touch_its_sibling_or_its_parent(
    tiers: dict[str, Any], tree: dict[str, Any], live_server: str
) -> None:
    east = call(tiers["base"], admin_token(live_server, tiers["tenant"], tree["east"]))
    assert slugs(east("GET")) == {tree["east"]}
    assert east("GET", f"/{tree['east']}").status_code == 200
    assert east("GET", f"/{tree['west']}").status_code == 403
    assert east("GET", f"/{tree['acme']}").status_code == 403
    assert east("POST", body={"slug": "y", "parent": tree["acme"]}).status_code == 403
    below = east("POST", body={"slug": f"z-{uuid.uuid4().hex[:6]}"})  # accounts have no children
    assert below.status_code == 400 and below.json()["error"] == "invalid_request"


def test_effective_settings_name_where_each_value_came_from(tiers: dict[str, Any], tree: dict[str, Any]) -> None:
    response = tree["root"]("GET", f"/{tree['east']}")
    assert response.status_code == 200, response.text
    node = response.json()
    assert node["settings"] == {}
    assert node["effective"]["branding"]["primary_color"] == "#111111"
    assert node["sources"]["branding.primary_color"] == tiers["tenant"]
    assert node["sources"]["branding.logo_url"] == "default"
    assert tree["root"]("GET", "/no-such-node").status_code == 404


def test_bad_input(tree: dict[str, Any]) -> None:
    taken = tree["root"]("POST", body={"slug": tree["acme"]})
    assert taken.status_code == 400 and taken.json()["fields"] == {"slug": "taken"}
    assert tree["root"]("POST", body={"slug": "Not A Slug"}).status_code == 400
    assert tree["root"]("POST", body={"name": "no slug"}).status_code == 400
    assert tree["root"]("POST", body={"slug": "q", "parent": "missing"}).status_code == 404


def test_authorization_errors(tiers: dict[str, Any], live_server: str, scim: Any) -> None:
    anonymous = call(tiers["base"], None)("GET")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    bad = call(tiers["base"], "not-a-token")("GET")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    scim_only = call(tiers["base"], admin_token(live_server, tiers["tenant"], None, ("scim",)))("GET")
    assert scim_only.status_code == 403 and scim_only.json()["error"] == "insufficient_scope"
    # a demo-tenant token (even the operator's admin token) is not valid at another tenant
    import argparse

    from chalicelib.cli.commands import token_admin

    demo_admin = token_admin(argparse.Namespace(tenant="demo"))["access_token"]
    assert call(f"{live_server}/t/demo/admin", demo_admin)("GET").status_code == 200
    assert call(tiers["base"], demo_admin)("GET").status_code == 401
    assert call(tiers["base"], scim.token)("GET").status_code == 401
