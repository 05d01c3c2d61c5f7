"""Admin API for tier nodes: list, create and show (own and effective settings, with where each value came from).

Authorization on every call is ``access.authorize``: the caller manages the nodes it administers and everything
below them, and nothing above or beside them (403).
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import InvalidInput
from chalicelib.services.tokens import issuer_url
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response


def _node(tree: TenantTree, node: TierNode) -> dict[str, Any]:
    parent = tree.nodes.get(node.parent_id) if node.parent_id else None
    return {
        "slug": node.slug,
        "tier": node.tier,
        "name": node.name,
        "parent": parent.slug if parent else None,
        "status": node.status,
    }


@admin_endpoint
def nodes_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree, actor = access.tree, access.actor
    if request.method == "GET":
        nodes = [_node(tree, n) for n in tree.nodes.values() if access.covers(n.node_id)]
        return json_response(
            {"nodes": sorted(nodes, key=lambda n: (n["tier"] != "customer", n["slug"]))}, 200, NO_STORE
        )
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(actor, "admin.node.create") as note:
        node = _create_node(request, access)
        note.target_id, note.node_id = node.slug, node.node_id
    tree = container.tenants().tree(tree.tenant_id)
    return json_response(
        _node(tree, node), 201, {**NO_STORE, "Location": f"{issuer_url(tree.tenant_id)}/admin/nodes/{node.slug}"}
    )


def _create_node(request: HttpRequest, access: AdminAccess) -> TierNode:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("slug"), str):
        raise InvalidInput("A node needs a slug.", fields={"slug": "required"})
    tree = access.tree
    parent = access.node_or_home(body.get("parent"), "parent")
    name = body.get("name")
    tier = body.get("tier")
    if (name is not None and not isinstance(name, str)) or (tier is not None and not isinstance(tier, str)):
        raise InvalidInput("name and tier must be strings.")
    return container.tenants().create_child(tree.tenant_id, parent.slug, body["slug"], tier, name)  # type: ignore[arg-type]


@admin_endpoint
def node_endpoint(request: HttpRequest, tenant: str, slug: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    if request.method != "GET":
        raise InvalidRequest("Use GET.", status=405)
    node = access.node(slug)
    effective = container.tenants().effective(tree.tenant_id, node.node_id)
    slugs = {n.node_id: n.slug for n in tree.nodes.values()}
    return json_response(
        {
            **_node(tree, node),
            "settings": node.settings,
            "effective": effective.values,
            "sources": {key: slugs.get(source, source) for key, source in effective.sources.items()},  # type: ignore[call-overload]
        },
        200,
        NO_STORE,
    )
