"""Admin API for users: ``/t/{tenant}/admin/users`` (list with ``email``/``status`` filters and an opaque
``cursor``; create), ``/users/{id}`` (show, ``PATCH`` the profile, delete) and ``POST /users/{id}/disable``,
``/enable``, ``/revoke-sessions``, ``/reset-mfa`` (every second factor removed, remembered browsers forgotten),
``/promote``, ``/retire``, ``/lock`` and ``/unlock``.

Every call is authorized by ``access.authorize`` and reaches only the users of the nodes
the caller administers; others are unknown (404). Every write is one audit event on the user's node.
"""

from __future__ import annotations

import base64
import binascii
from contextlib import AbstractContextManager
from typing import Any

from chalicelib import container
from chalicelib.core.entities import TenantTree, User
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import NodeId
from chalicelib.services.audit import Actor
from chalicelib.services.tokens import issuer_url
from chalicelib.services.user_admin import UserQuery
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.admin.security import SECURITY_ACTIONS, security_action
from chalicelib.web.audit import Note, audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response, single

ACTIONS = {
    "disable": "admin.user.disable",
    "enable": "admin.user.enable",
    "revoke-sessions": "admin.user.revoke_sessions",
    "reset-mfa": "admin.user.reset_mfa",
    "promote": "admin.user.promote",
    "retire": "admin.user.retire",
}
ADMIN_ROLE_OF_TIER = {"customer": "tenant-admin", "organization": "organization-admin", "account": "account-admin"}


def to_json(tree: TenantTree, user: User) -> dict[str, Any]:
    node = tree.nodes.get(user.tier_node_id)
    return {
        "id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "status": user.status,
        "profile": user.profile,
        "node": node.slug if node else None,
        "external_id": user.external_id,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def _cursor(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("Unknown cursor.", fields={"cursor": "invalid"}) from error


def _body(request: HttpRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


@admin_endpoint
def user_list_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree, actor = access.tree, access.actor
    if request.method == "GET":
        limit = single(request.query, "limit") or "50"
        if not limit.isdigit():
            raise InvalidInput("limit must be a number.", fields={"limit": "invalid"})
        query = UserQuery(
            email_prefix=single(request.query, "email"),
            status=single(request.query, "status"),
            limit=int(limit),
            after=_cursor(single(request.query, "cursor")),
        )
        users, position = container.user_admin().list(tree.tenant_id, access.reach, query)
        cursor = base64.urlsafe_b64encode(position.encode()).decode().rstrip("=") if position else None
        return json_response({"users": [to_json(tree, u) for u in users], "next_cursor": cursor}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(actor, "admin.user.create") as note:
        user = _create(request, access)
        note.target_id, note.node_id = user.user_id, user.tier_node_id
        note.details = {
            "verified": user.email_verified,
            "invited": user.status == "pending" and not user.email_verified,
        }
    location = f"{issuer_url(tree.tenant_id)}/admin/users/{user.user_id}"
    return json_response(to_json(tree, user), 201, {**NO_STORE, "Location": location})


def _create(request: HttpRequest, access: AdminAccess) -> User:
    body = _body(request)
    tree = access.tree
    node = access.node_or_home(body.get("node"))
    invite = body.get("invite", False)
    if invite is True:
        # The existing invitation flow: a pending account without password and a set-password email.
        if set(body) - {"email", "node", "invite"}:
            raise InvalidInput("An invitation takes only email and node.", fields={"invite": "invalid"})
        settings = container.tenants().effective(tree.tenant_id, node.node_id)
        email = body.get("email")
        if not isinstance(email, str):
            raise InvalidInput("An invitation needs an email.", fields={"email": "required"})
        return container.registration().invite(tree.tenant_id, email, settings=settings, node_id=node.node_id)
    if invite is not False:
        raise InvalidInput("invite must be true or false.", fields={"invite": "invalid"})
    password, verified = body.get("password"), body.get("verified", False)
    if password is not None and not isinstance(password, str):
        raise InvalidInput("password must be a string.", fields={"password": "invalid"})
    if not isinstance(verified, bool):
        raise InvalidInput("verified must be true or false.", fields={"verified": "invalid"})
    return container.user_admin().create(
        tree.tenant_id,
        node.node_id,
        email=body.get("email"),  # type: ignore[arg-type]  # checked by the service
        password=password,
        verified=verified,
        profile=body.get("profile", {}),
        settings=container.tenants().effective(tree.tenant_id, node.node_id),
    )


@admin_endpoint
def user_item_endpoint(request: HttpRequest, tenant: str, user_id: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree, actor, reach = access.tree, access.actor, access.reach
    service = container.user_admin()
    if request.method == "GET":
        return json_response(to_json(tree, service.get(tree.tenant_id, reach, user_id)), 200, NO_STORE)
    if request.method == "PATCH":
        with _audited_on_user(actor, "admin.user.update", tree, reach, user_id) as note:
            body = _body(request)
            if set(body) != {"profile"}:
                raise InvalidInput("Only the profile can be changed here.", fields={"profile": "required"})
            user = service.update_profile(tree.tenant_id, reach, user_id, body["profile"])
            note.details = {"claims": ",".join(sorted(body["profile"]))[:256]}
        return json_response(to_json(tree, user), 200, NO_STORE)
    if request.method == "DELETE":
        with _audited_on_user(actor, "admin.user.delete", tree, reach, user_id):
            service.delete(tree.tenant_id, reach, user_id)
        return HttpResponse(204, "", dict(NO_STORE))
    raise InvalidRequest("Use GET, PATCH or DELETE.", status=405)


@admin_endpoint
def user_action_endpoint(request: HttpRequest, tenant: str, user_id: str, action: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree, actor, reach = access.tree, access.actor, access.reach
    if action not in ACTIONS and action not in SECURITY_ACTIONS:
        raise NotFound(f"There is no '{action[:64]}' action.")
    if request.method != "POST":
        raise InvalidRequest("Use POST.", status=405)
    if action in SECURITY_ACTIONS:
        return security_action(request, access, user_id, action)
    service = container.user_admin()
    with _audited_on_user(actor, ACTIONS[action], tree, reach, user_id) as note:
        if action == "revoke-sessions":
            revoked = service.revoke_sessions(tree.tenant_id, reach, user_id)
            note.details = dict(revoked)
            return json_response({"revoked": revoked}, 200, NO_STORE)
        if action == "reset-mfa":
            target = service.get(tree.tenant_id, reach, user_id)
            removed = container.mfa().reset(tree.tenant_id, target)
            container.account_profile().forget_devices(target)  # remembered browsers must ask again
            note.details = {"factors_removed": removed}
            return json_response({"id": target.user_id, "factors_removed": removed}, 200, NO_STORE)
        if action == "promote":
            return _promote(request, access, user_id, note)
        if action == "retire":
            retired, counts = service.retire(tree.tenant_id, reach, user_id)
            note.details = dict(counts)
            return json_response({**to_json(tree, retired), "retired": counts}, 200, NO_STORE)
        user = service.set_disabled(tree.tenant_id, reach, user_id, disabled=action == "disable")
    return json_response(to_json(tree, user), 200, NO_STORE)


def _promote(request: HttpRequest, access: AdminAccess, user_id: str, note: Note) -> HttpResponse:
    """Make the user an admin of a node (``{"node"?}``, default its own): the admin role of the node's tier."""
    tree = access.tree
    user = container.user_admin().get(tree.tenant_id, access.reach, user_id)
    body = request.json() if request.body else {}
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    node = access.node(body["node"]) if body.get("node") is not None else tree.nodes[user.tier_node_id]
    role = ADMIN_ROLE_OF_TIER[node.tier]
    note.node_id, note.details = node.node_id, {"role": role, "node": node.slug}
    container.roles().assign(tree.tenant_id, user.user_id, role, node.node_id, by=access.actor.subject)
    return json_response({"user": user.user_id, "role": role, "node": node.slug}, 201, NO_STORE)


def _audited_on_user(
    actor: Actor, action: str, tree: TenantTree, reach: frozenset[NodeId], user_id: str
) -> AbstractContextManager[Note]:
    """An audit block on the user's node (the caller's node when the user is unknown to the caller)."""
    try:
        node_id = container.user_admin().get(tree.tenant_id, reach, user_id).tier_node_id
    except NotFound:
        node_id = actor.node_id
    return audited(actor, action, user_id, node_id)
