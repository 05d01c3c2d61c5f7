"""Admin API for group membership: ``GET /t/{tenant}/admin/groups`` (the tenant's groups with the members the
caller can see), ``GET|POST /users/{id}/groups`` (a user's groups; add to ``{"group": ID}``) and
``DELETE /users/{id}/groups/{group_id}``.

Groups belong to the whole tenant (usually provisioned over SCIM); an admin changes the membership of the users
it administers only (others are unknown, 404), and sees only those members. Every change is an audit event.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Group
from chalicelib.core.errors import InvalidInput
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response


def group_json(access: AdminAccess, group: Group, visible: frozenset[str]) -> dict[str, Any]:
    return {
        "id": group.group_id,
        "display_name": group.display_name,
        "external_id": group.external_id,
        "members": [m for m in group.members if m in visible],
    }


def _visible_users(access: AdminAccess) -> frozenset[str]:
    return frozenset(
        u.user_id for u in container.provisioning().list(access.tree.tenant_id) if access.covers(u.tier_node_id)
    )


@admin_endpoint
def admin_groups_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    if request.method != "GET":
        raise InvalidRequest("Use GET.", status=405)
    visible = _visible_users(access)
    groups = [group_json(access, g, visible) for g in container.groups().list(access.tree.tenant_id)]
    return json_response({"groups": groups}, 200, NO_STORE)


@admin_endpoint
def user_groups_endpoint(request: HttpRequest, tenant: str, user_id: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    user = container.user_admin().get(tree.tenant_id, access.reach, user_id)
    if request.method == "GET":
        held = [
            {"id": g.group_id, "display_name": g.display_name}
            for g in container.groups().list(tree.tenant_id)
            if user.user_id in g.members
        ]
        return json_response({"groups": held}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(access.actor, "admin.group.add_member", user.user_id, user.tier_node_id) as note:
        body = request.json()
        group_id = body.get("group") if isinstance(body, dict) else None
        if not isinstance(group_id, str) or not group_id:
            raise InvalidInput("Name the group.", fields={"group": "required"})
        note.details = {"group": group_id[:64]}
        group = container.groups().change_membership(tree.tenant_id, group_id, user.user_id, member=True)
    return json_response({"id": group.group_id, "display_name": group.display_name}, 200, NO_STORE)


@admin_endpoint
def user_group_endpoint(request: HttpRequest, tenant: str, user_id: str, group_id: str) -> HttpResponse:
    access = authorize(request, tenant)
    user = container.user_admin().get(access.tree.tenant_id, access.reach, user_id)
    if request.method != "DELETE":
        raise InvalidRequest("Use DELETE.", status=405)
    with audited(access.actor, "admin.group.remove_member", user.user_id, user.tier_node_id) as note:
        note.details = {"group": group_id[:64]}
        container.groups().change_membership(access.tree.tenant_id, group_id, user.user_id, member=False)
    return HttpResponse(204, "", dict(NO_STORE))
