"""Admin API for identity-provider integrations: ``/t/{tenant}/admin/idps`` (list; create) and
``/admin/idps/{name}`` (show with the metadata; ``PATCH`` the named fields; delete).

Authorized like the nodes API (``authorize_admin_actor``): the caller sees and manages the integrations of the
nodes it administers (its node and below; others are unknown, 404) and creates them on such a node (``node``,
default its own). The OIDC client secret is write-only. Every write is one audit event on the integration's node.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.federation import IdentityProvider
from chalicelib.core.ids import NodeId
from chalicelib.services.identity_providers import to_document
from chalicelib.services.tokens import issuer_url
from chalicelib.web.admin.nodes import NO_STORE, authorize_admin_actor, reach_of, reachable
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response


def _json(tree: TenantTree, integration: IdentityProvider, *, detailed: bool = False) -> dict[str, Any]:
    node = tree.nodes.get(integration.node_id)
    return {**to_document(integration, detailed=detailed), "node": node.slug if node else None}


def _body(request: HttpRequest) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def _in_reach(tree: TenantTree, reach: frozenset[NodeId], name: str) -> IdentityProvider:
    integration = container.identity_providers().get(tree.tenant_id, name)
    if integration.node_id not in reach:
        raise NotFound(f"Unknown identity provider '{name[:64]}'.")
    return integration


@admin_endpoint
def idps_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree, scope, actor = authorize_admin_actor(request, tenant)
    if request.method == "GET":
        reach = reach_of(tree, scope)
        integrations = container.identity_providers().all(tree.tenant_id, fresh=True)
        listed = [_json(tree, i) for i in sorted(integrations, key=lambda i: i.name) if i.node_id in reach]
        return json_response({"identity_providers": listed}, 200, NO_STORE)
    if request.method != "POST":
        raise InvalidRequest("Use GET or POST.", status=405)
    with audited(actor, "admin.idp.create") as note:
        body = _body(request)
        note.target_id = str(body.get("name", ""))[:64]
        node = _node_of(tree, scope, body)
        note.node_id = node.node_id
        integration = container.identity_providers().create(tree.tenant_id, node.node_id, body)
        note.details = {"kind": integration.kind, "linking": integration.linking}
    location = f"{issuer_url(tree.tenant_id)}/admin/idps/{integration.name}"
    return json_response(_json(tree, integration), 201, {**NO_STORE, "Location": location})


def _node_of(tree: TenantTree, scope: TierNode, body: dict[str, Any]) -> TierNode:
    slug = body.get("node", scope.slug)
    if not isinstance(slug, str):
        raise InvalidInput("node must be a slug.", fields={"node": "invalid"})
    return reachable(tree, scope, slug)


@admin_endpoint
def idp_endpoint(request: HttpRequest, tenant: str, name: str) -> HttpResponse:
    tree, scope, actor = authorize_admin_actor(request, tenant)
    reach = reach_of(tree, scope)
    service = container.identity_providers()
    if request.method == "GET":
        return json_response(_json(tree, _in_reach(tree, reach, name), detailed=True), 200, NO_STORE)
    if request.method == "PATCH":
        with audited(actor, "admin.idp.update", name[:64]) as note:
            current = _in_reach(tree, reach, name)
            note.node_id = current.node_id
            body = _body(request)
            updated = service.update(tree.tenant_id, current.name, body)
            note.details = {"fields": ",".join(sorted(body))[:256]}
        return json_response(_json(tree, updated), 200, NO_STORE)
    if request.method == "DELETE":
        with audited(actor, "admin.idp.delete", name[:64]) as note:
            current = _in_reach(tree, reach, name)
            note.node_id = current.node_id
            service.delete(tree.tenant_id, current.name)
        return HttpResponse(204, "", dict(NO_STORE))
    raise InvalidRequest("Use GET, PATCH or DELETE.", status=405)
