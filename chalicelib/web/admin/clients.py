"""Admin API for OAuth clients: ``/t/{tenant}/admin/clients`` (list, create), ``/clients/{id}`` (show, ``PATCH``
name, redirect URIs, post-logout redirect URIs and scopes, delete) and ``POST /clients/{id}/rotate-secret``.

A caller reaches the clients of the nodes it administers; others are unknown (404). A new client lives at a node
the caller administers (default: its own). Marking a client first-party (no consent screen) is a tenant-wide trust
decision, kept for tenant admins. Secrets are shown once, in the creation or rotation response, and never logged
or audited. Every write is one audit event on the client's node.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Client, TenantTree
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound
from chalicelib.services.tokens import issuer_url
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response, single

EDITABLE = frozenset({"name", "redirect_uris", "post_logout_redirect_uris", "scopes"})


def client_json(tree: TenantTree, client: Client) -> dict[str, Any]:
    node = tree.nodes.get(client.tier_node_id)
    return {
        "client_id": client.client_id,
        "name": client.name,
        "type": client.client_type,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "scopes": list(client.scopes),
        "grant_types": list(client.grant_types),
        "node": node.slug if node else None,
        "first_party": client.first_party,
        "status": client.status,
        "created_at": client.created_at,
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def _reachable_client(access: AdminAccess, client_id: str) -> Client:
    client = container.clients().find(access.tree.tenant_id, client_id)
    if client is None or not access.covers(client.tier_node_id):
        raise NotFound("Unknown client.")
    return client


@admin_endpoint
def clients_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    if request.method == "GET":
        node_slug = single(request.query, "node")
        node = access.node(node_slug) if node_slug is not None else None
        listed = [
            client_json(tree, c)
            for c in sorted(container.clients().list(tree.tenant_id), key=lambda c: (c.created_at, c.client_id))
            if access.covers(c.tier_node_id) and (node is None or c.tier_node_id == node.node_id)
        ]
        return json_response({"clients": listed}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(access.actor, "admin.client.create") as note:
        body = _body(request)
        node = access.node_or_home(body.get("node"))
        note.node_id = node.node_id
        first_party = body.get("first_party", False)
        if not isinstance(first_party, bool):
            raise InvalidInput("first_party must be true or false.", fields={"first_party": "invalid"})
        if first_party and not access.whole_tenant:
            raise Forbidden("Only tenant admins register first-party clients.")
        jwks = body.get("jwks")
        client, secret = container.clients().create(
            tree.tenant_id,
            name=body.get("name"),  # type: ignore[arg-type]  # checked by the service
            client_type=body.get("type"),  # type: ignore[arg-type]
            redirect_uris=_list(body, "redirect_uris"),
            post_logout_redirect_uris=_list(body, "post_logout_redirect_uris"),
            scopes=_list(body, "scopes") or None,
            tier_node_id=node.node_id,
            first_party=first_party,
            auth_method=body.get("token_endpoint_auth_method")
            if isinstance(body.get("token_endpoint_auth_method"), str)
            else None,
            jwks=jwks if isinstance(jwks, dict) else None,
        )
        note.target_id = client.client_id
        note.details = {"type": client.client_type, "first_party": client.first_party}
    result = client_json(tree, client)
    if secret:
        result["client_secret"] = secret
    location = f"{issuer_url(tree.tenant_id)}/admin/clients/{client.client_id}"
    return json_response(result, 201, {**NO_STORE, "Location": location})


def _list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 50:
        raise InvalidInput(f"{name} must be a list of at most 50 strings.", fields={name: "invalid"})
    return list(value)


@admin_endpoint
def client_endpoint(request: HttpRequest, tenant: str, client_id: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    client = _reachable_client(access, client_id)
    if request.method == "GET":
        return json_response(client_json(tree, client), 200, NO_STORE)
    if request.method == "PATCH":
        with audited(access.actor, "admin.client.update", client.client_id, client.tier_node_id) as note:
            body = _body(request)
            if not body or set(body) - EDITABLE:
                raise InvalidInput(f"Only {', '.join(sorted(EDITABLE))} can be changed.", fields={"body": "invalid"})
            note.details = {"fields": ",".join(sorted(body))}
            updated = container.clients().update(
                tree.tenant_id,
                client.client_id,
                name=body.get("name"),
                redirect_uris=body.get("redirect_uris"),
                post_logout_redirect_uris=body.get("post_logout_redirect_uris"),
                scopes=body.get("scopes"),
            )
        return json_response(client_json(tree, updated), 200, NO_STORE)
    if request.method == "DELETE":
        with audited(access.actor, "admin.client.delete", client.client_id, client.tier_node_id):
            container.clients().delete(tree.tenant_id, client.client_id)
        return HttpResponse(204, "", dict(NO_STORE))
    raise InvalidRequest("Use GET, PATCH or DELETE.", status=405)


@admin_endpoint
def client_action_endpoint(request: HttpRequest, tenant: str, client_id: str, action: str) -> HttpResponse:
    access = authorize(request, tenant)
    if action != "rotate-secret":
        raise NotFound(f"There is no '{action[:64]}' action.")
    if request.method != "POST":
        raise InvalidRequest("Use POST.", status=405)
    client = _reachable_client(access, client_id)
    with audited(access.actor, "admin.client.rotate_secret", client.client_id, client.tier_node_id):
        secret = container.clients().rotate_secret(access.tree.tenant_id, client.client_id)
    return json_response({"client_id": client.client_id, "client_secret": secret}, 200, NO_STORE)
