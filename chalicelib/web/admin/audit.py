"""Admin API for the audit trail: ``GET /t/{tenant}/admin/audit`` (newest first; ``type``, ``user``, ``since`` and
``until`` (epoch seconds), ``limit``, ``cursor``).

A caller sees the events of the nodes it administers: the customer's admin sees the whole tenant, an
organization's admin only events on that organization and its accounts.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chalicelib import container
from chalicelib.core.entities import AuditEvent, TenantTree
from chalicelib.core.errors import InvalidInput
from chalicelib.web.admin.access import NO_STORE, authorize
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response, single


def _event(tree: TenantTree, event: AuditEvent) -> dict[str, Any]:
    node = tree.nodes.get(event.node_id)
    return {
        "id": event.event_id,
        "type": event.action,
        "actor": event.actor,
        "target": event.target_id,
        "node": node.slug if node else None,
        "occurred_at": event.occurred_at,
        "source_ip": event.source_ip,
        "user_agent": event.user_agent,
        "outcome": event.outcome,
        "details": event.details,
    }


def encode_cursor(event_id: str) -> str:
    return base64.urlsafe_b64encode(event_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("Unknown cursor.", fields={"cursor": "invalid"}) from error


def _limit(request: HttpRequest) -> int:
    text = single(request.query, "limit")
    if text is None:
        return 50
    if not text.isdigit():
        raise InvalidInput("limit must be a number.", fields={"limit": "invalid"})
    return int(text)


def _epoch(request: HttpRequest, name: str) -> int | None:
    text = single(request.query, name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 11:
        raise InvalidInput(f"{name} must be a time in epoch seconds.", fields={name: "invalid"})
    return int(text)


@admin_endpoint
def audit_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    access = authorize(request, tenant)
    tree = access.tree
    if request.method != "GET":
        raise InvalidRequest("Use GET.", status=405)
    cursor = single(request.query, "cursor")
    node_ids = None if access.whole_tenant else access.reach
    events, position = container.audit().list(
        tree.tenant_id,
        limit=_limit(request),
        before=decode_cursor(cursor) if cursor else None,
        action=single(request.query, "type"),
        node_ids=node_ids,
        subject=single(request.query, "user"),
        since=_epoch(request, "since"),
        until=_epoch(request, "until"),
    )
    body = {"events": [_event(tree, e) for e in events], "next_cursor": encode_cursor(position) if position else None}
    return json_response(body, 200, NO_STORE)
