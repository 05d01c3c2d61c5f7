"""Audit events in the audit table: ``PK = T#<tenant>#AUDIT``, ``SK`` = the time-ordered event id, TTL set.

Listing reads the partition backwards (newest first) in pages and filters by action and node in code, so a
filter never makes a page come back short while older matches exist (bounded by MAX_EXAMINED per call).
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.entities import AuditEvent
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import translate_errors
from chalicelib.storage.models import AuditItem

PAGE = 100
MAX_EXAMINED = 2000


def _to_event(tenant_id: TenantId, item: AuditItem) -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant_id,
        event_id=item.sk,
        action=item.event_type,
        actor=item.actor or "",
        target_id=item.target_id or "",
        node_id=NodeId(item.node_id or ""),
        occurred_at=int(item.occurred_at),
        source_ip=item.source_ip or "",
        user_agent=item.user_agent or "",
        outcome="failure" if item.outcome == "failure" else "success",
        details=dict(item.details or {}),
    )


def _matches(event: AuditEvent, action: str | None, node_ids: frozenset[NodeId] | None) -> bool:
    prefix = action is not None and action.endswith(".")
    if action is not None and event.action != action and not (prefix and event.action.startswith(action)):
        return False
    return node_ids is None or event.node_id in node_ids


class DynamoAuditRepository:
    @translate_errors
    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        AuditItem(
            keys.audit_events(event.tenant_id),
            event.event_id,
            event_type=event.action,
            outcome=event.outcome,
            occurred_at=event.occurred_at,
            details=event.details,
            ttl=datetime.fromtimestamp(expires_at, tz=UTC),
            actor=event.actor,
            target_id=event.target_id,
            node_id=event.node_id,
            source_ip=event.source_ip,
            user_agent=event.user_agent,
        ).save(condition=AuditItem.pk.does_not_exist())

    @translate_errors
    def list_events(
        self,
        tenant_id: TenantId,
        *,
        limit: int,
        before: str | None = None,
        action: str | None = None,
        node_ids: frozenset[NodeId] | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        found: list[AuditEvent] = []
        examined = 0
        position = before
        while True:
            condition = AuditItem.sk < position if position else None
            items = list(
                AuditItem.query(
                    keys.audit_events(tenant_id), condition, scan_index_forward=False, limit=PAGE, page_size=PAGE
                )
            )
            for item in items:
                examined += 1
                position = item.sk
                event = _to_event(tenant_id, item)
                if _matches(event, action, node_ids):
                    found.append(event)
                    if len(found) == limit:
                        return found, position
            if len(items) < PAGE:
                return found, None
            if examined >= MAX_EXAMINED:
                return found, position
