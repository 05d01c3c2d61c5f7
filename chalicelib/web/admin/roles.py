"""Admin API for roles: ``/t/{tenant}/admin/roles`` (list; define a custom role), ``/roles/{name}`` (show with its
holders; delete), ``/users/{id}/roles`` (a user's roles; assign) and ``/users/{id}/roles/{role}?node=SLUG``
(remove).

Scoping: a caller sees and assigns roles only at nodes it administers, and only for users it can see (others are
unknown, 404). Tenant-wide roles are defined and deleted by tenant admins; a role scoped to a node by admins of
that node. An assignment defaults to the user's own node. Every write is one audit event.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Role, RoleAssignment, TenantTree
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, UserId
from chalicelib.services.tokens import issuer_url
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response, single


def role_json(tree: TenantTree, role: Role) -> dict[str, Any]:
    node = tree.nodes.get(role.node_id) if role.node_id else None
    return {
        "name": role.name,
        "description": role.description,
        "builtin": role.builtin,
        "admin_tier": role.admin_tier,
        "node": node.slug if node else None,
    }


def assignment_json(tree: TenantTree, assignment: RoleAssignment) -> dict[str, Any]:
    node = tree.nodes.get(assignment.node_id)
    return {
        "user": assignment.user_id,
        "role": assignment.role,
        "node": node.slug if node else None,
        "assigned_at": assignment.assigned_at,
        "assigned_by": assignment.assigned_by,
    }


def _usable(access: AdminAccess, role: Role) -> bool:
    """The caller can hand the role out somewhere: it is unscoped, or its node and the caller's reach meet."""
    scope = role.node_id or ROOT_NODE
    return access.covers(scope) or any(access.tree.is_within(r.node_id, scope) for r in access.roots)


def _owns(access: AdminAccess, role: Role) -> bool:
    """The caller may define or delete the role: it administers the role's node (the root for unscoped roles)."""
    return access.covers(role.node_id or ROOT_NODE)


def _body(request: HttpRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


@admin_endpoint
def roles_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    if request.method == "GET":
        roles = [role_json(tree, r) for r in container.roles().list_roles(tree.tenant_id) if _usable(access, r)]
        return json_response({"roles": roles}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(access.actor, "admin.role.create") as note:
        body = _body(request)
        node = access.node(body["node"]) if body.get("node") is not None else None
        if node is None and not access.whole_tenant:
            raise Forbidden("Only tenant admins define tenant-wide roles; name your node.")
        name, description = body.get("name"), body.get("description", "")
        note.target_id = str(name)[:64]
        note.node_id = node.node_id if node else ROOT_NODE
        role = container.roles().define(tree.tenant_id, name, description, node.node_id if node else None)  # type: ignore[arg-type]
    location = f"{issuer_url(tree.tenant_id)}/admin/roles/{role.name}"
    return json_response(role_json(tree, role), 201, {**NO_STORE, "Location": location})


@admin_endpoint
def role_endpoint(request: HttpRequest, tenant: str, name: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    role = container.roles().get(tree.tenant_id, name)
    if not _usable(access, role):
        raise NotFound(f"Unknown role '{name[:64]}'.")
    if request.method == "GET":
        holders = [
            assignment_json(tree, a)
            for a in container.roles().holders(tree.tenant_id, role.name)
            if access.covers(a.node_id)
        ]
        return json_response({**role_json(tree, role), "holders": holders}, 200, NO_STORE)
    if request.method != "DELETE":
        raise InvalidRequest("Use GET or DELETE.", status=405)
    with audited(access.actor, "admin.role.delete", role.name, role.node_id or ROOT_NODE):
        if not _owns(access, role):
            raise Forbidden("You do not administer the node of this role.")
        container.roles().delete(tree.tenant_id, role.name)
    return HttpResponse(204, "", dict(NO_STORE))


@admin_endpoint
def user_roles_endpoint(request: HttpRequest, tenant: str, user_id: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    user = container.user_admin().get(tree.tenant_id, access.reach, user_id)
    if request.method == "GET":
        held = [
            assignment_json(tree, a)
            for a in container.roles().roles_of(tree.tenant_id, user.user_id)
            if access.covers(a.node_id)
        ]
        return json_response({"roles": held}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(access.actor, "admin.role.assign", user.user_id, user.tier_node_id) as note:
        body = _body(request)
        node = access.node(body["node"]) if body.get("node") is not None else tree.nodes[user.tier_node_id]
        note.node_id = node.node_id
        note.details = {"role": str(body.get("role"))[:64], "node": node.slug}
        role = str(body["role"]) if isinstance(body.get("role"), str) else ""
        assignment = container.roles().assign(tree.tenant_id, user.user_id, role, node.node_id, by=access.actor.subject)
    return json_response(assignment_json(tree, assignment), 201, NO_STORE)


@admin_endpoint
def user_role_endpoint(request: HttpRequest, tenant: str, user_id: str, role: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    user = container.user_admin().get(tree.tenant_id, access.reach, user_id)
    if request.method != "DELETE":
        raise InvalidRequest("Use DELETE.", status=405)
    slug = single(request.query, "node")
    node = access.node(slug) if slug is not None else tree.nodes[user.tier_node_id]
    with audited(access.actor, "admin.role.unassign", user.user_id, node.node_id) as note:
        note.details = {"role": role[:64], "node": node.slug}
        if not access.covers(node.node_id):
            raise Forbidden(f"You do not administer '{node.slug}'.")
        container.roles().unassign(tree.tenant_id, UserId(user.user_id), role, node.node_id)
    return HttpResponse(204, "", dict(NO_STORE))
