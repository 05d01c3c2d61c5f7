"""Admin API for tier nodes: list, create, show (own and effective settings, with where each value came from),
``PATCH`` (name, slug, own settings validated by ``core/settings``), ``DELETE`` (only when empty) and
``POST .../disable|enable`` (a disabled node's clients and users cannot sign in; its users are signed out).

Authorization on every call is ``access.authorize``: the caller manages the nodes it administers and everything
below them, and nothing above or beside them (403). Renaming, editing settings: any admin of the node; changing
the slug, disabling and deleting: only admins above it (an organization admin cannot delete its organization).
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound
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
    node = access.node(slug)
    if request.method == "GET":
        return json_response(_detail(access.tree, node), 200, NO_STORE)
    if request.method == "PATCH":
        with audited(access.actor, "admin.node.update", node.slug, node.node_id) as note:
            body = request.json()
            if not isinstance(body, dict) or not body or set(body) - {"name", "slug", "settings"}:
                raise InvalidInput("Send name, slug and/or settings.", fields={"body": "invalid"})
            note.details = {"fields": ",".join(sorted(body))}
            if "slug" in body and body["slug"] != node.slug:
                _check_parent_admin(access, node)
                note.details["new_slug"] = str(body["slug"])[:64]
            node = container.tenants().update_node(
                access.tree.tenant_id,
                node.node_id,
                name=body.get("name"),
                slug=body.get("slug"),
                settings=body.get("settings"),
            )
        tree = container.tenants().tree(access.tree.tenant_id)
        return json_response(_detail(tree, tree.nodes[node.node_id]), 200, NO_STORE)
    if request.method == "DELETE":
        with audited(access.actor, "admin.node.delete", node.slug, node.parent_id or node.node_id):
            _check_parent_admin(access, node)
            container.node_admin().delete(access.tree.tenant_id, node.node_id)
        return HttpResponse(204, "", dict(NO_STORE))
    raise InvalidRequest("Use GET, PATCH or DELETE.", status=405)


@admin_endpoint
def node_action_endpoint(request: HttpRequest, tenant: str, slug: str, action: str) -> HttpResponse:
    access = authorize(request, tenant)
    if action not in ("disable", "enable"):
        raise NotFound(f"There is no '{action[:64]}' action.")
    if request.method != "POST":
        raise InvalidRequest("Use POST.", status=405)
    node = access.node(slug)
    with audited(access.actor, f"admin.node.{action}", node.slug, node.node_id) as note:
        _check_parent_admin(access, node)
        node, revoked = container.node_admin().set_disabled(access.tree.tenant_id, node.node_id, action == "disable")
        note.details = dict(revoked)
    tree = container.tenants().tree(access.tree.tenant_id)
    return json_response({**_node(tree, tree.nodes[node.node_id]), "signed_out": revoked}, 200, NO_STORE)


def _check_parent_admin(access: AdminAccess, node: TierNode) -> None:
    """Disabling, deleting or re-slugging a node is for the admins above it, never for its own admins."""
    if node.parent_id is None or not access.covers(node.parent_id):
        raise Forbidden(f"Only the admins above '{node.slug}' can do this.")


def _detail(tree: TenantTree, node: TierNode) -> dict[str, Any]:
    effective = container.tenants().effective(tree.tenant_id, node.node_id)
    slugs = {n.node_id: n.slug for n in tree.nodes.values()}
    return {
        **_node(tree, node),
        "settings": node.settings,
        "effective": effective.values,
        "sources": {key: slugs.get(source, source) for key, source in effective.sources.items()},  # type: ignore[call-overload]
    }
