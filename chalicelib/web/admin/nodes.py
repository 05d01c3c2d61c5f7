"""Admin API for tier nodes: list, create and show (own and effective settings, with where each value came from).

Authorization, on every call (``authorize_admin``): a bearer access token of this tenant (per-tenant issuer and
audience), issued by client_credentials (no user grant), carrying the ``admin`` scope, from a service client that
still exists and is active. The client's tier node is the reach of the token: an admin client of an organization
manages that organization and its accounts, and nothing above or beside it (403).
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound
from chalicelib.core.ids import ClientId, NodeId
from chalicelib.services.audit import Actor
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import actor_of, audited
from chalicelib.web.errors import InsufficientScope, InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc.resources import bearer_token

ADMIN_SCOPE = "admin"
NO_STORE = {"Cache-Control": "no-store"}


def authorize_admin(request: HttpRequest, tenant: str) -> tuple[TenantTree, TierNode]:
    """The tenant's tree and the node the caller administers."""
    tree, scope, _ = authorize_admin_actor(request, tenant)
    return tree, scope


def authorize_admin_actor(request: HttpRequest, tenant: str) -> tuple[TenantTree, TierNode, Actor]:
    """The tenant's tree, the node the caller administers and the caller as an audit actor."""
    tree = container.tenants().tree(tenant)
    claims, _ = container.authorization().validate_access_token(tree.tenant_id, bearer_token(request), need_user=False)
    if claims.get("gid") is not None or ADMIN_SCOPE not in str(claims.get("scope", "")).split():
        raise InsufficientScope("An admin token (client_credentials with the 'admin' scope) is required.")
    client = container.clients().get(tree.tenant_id, ClientId(str(claims["client_id"])))
    if client is None or client.status != "active" or client.tier_node_id not in tree.nodes:
        raise Forbidden(detail="admin client gone or disabled")
    actor = actor_of(request, tree.tenant_id, client.client_id, client.tier_node_id)
    return tree, tree.nodes[client.tier_node_id], actor


def reach_of(tree: TenantTree, scope: TierNode) -> frozenset[NodeId]:
    """The ids of the nodes an admin scoped to ``scope`` administers: that node and everything below it."""
    return frozenset(n for n in tree.nodes if tree.is_within(n, scope.node_id))


def _node(tree: TenantTree, node: TierNode) -> dict[str, Any]:
    parent = tree.nodes.get(node.parent_id) if node.parent_id else None
    return {
        "slug": node.slug,
        "tier": node.tier,
        "name": node.name,
        "parent": parent.slug if parent else None,
        "status": node.status,
    }


def reachable(tree: TenantTree, scope: TierNode, slug: str) -> TierNode:
    node = tree.find_by_slug(slug)
    if node is None:
        raise NotFound(f"Unknown tier node '{slug[:64]}'.")
    if not tree.is_within(node.node_id, scope.node_id):
        raise Forbidden(f"You do not administer '{node.slug}'.")
    return node


@admin_endpoint
def nodes_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree, scope, actor = authorize_admin_actor(request, tenant)
    if request.method == "GET":
        nodes = [_node(tree, n) for n in tree.nodes.values() if tree.is_within(n.node_id, scope.node_id)]
        return json_response(
            {"nodes": sorted(nodes, key=lambda n: (n["tier"] != "customer", n["slug"]))}, 200, NO_STORE
        )
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(actor, "admin.node.create") as note:
        node = _create_node(request, tree, scope)
        note.target_id, note.node_id = node.slug, node.node_id
    tree = container.tenants().tree(tree.tenant_id)
    return json_response(
        _node(tree, node), 201, {**NO_STORE, "Location": f"{issuer_url(tree.tenant_id)}/admin/nodes/{node.slug}"}
    )


def _create_node(request: HttpRequest, tree: TenantTree, scope: TierNode) -> TierNode:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("slug"), str):
        raise InvalidInput("A node needs a slug.", fields={"slug": "required"})
    parent_slug = body.get("parent", scope.slug)
    if not isinstance(parent_slug, str):
        raise InvalidInput("parent must be a slug.", fields={"parent": "invalid"})
    parent = reachable(tree, scope, parent_slug)
    name = body.get("name")
    tier = body.get("tier")
    if (name is not None and not isinstance(name, str)) or (tier is not None and not isinstance(tier, str)):
        raise InvalidInput("name and tier must be strings.")
    return container.tenants().create_child(tree.tenant_id, parent.slug, body["slug"], tier, name)  # type: ignore[arg-type]


@admin_endpoint
def node_endpoint(request: HttpRequest, tenant: str, slug: str) -> HttpResponse:
    tree, scope = authorize_admin(request, tenant)
    if request.method != "GET":
        raise InvalidRequest("Use GET.", status=405)
    node = reachable(tree, scope, slug)
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
