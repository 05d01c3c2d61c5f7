"""Audit events in the audit table: ``PK = T#<tenant>#AUDIT``, ``SK`` = the time-ordered event id, TTL set.

Listing reads backwards (newest first) in pages: the tenant's partition, or, filtered by type, only that kind's
partition of ``KindIndex`` (so a flood of token events never buries the sign-ins). Exact type, node and subject
are filtered in code, so a filter never makes a page come back short while older matches exist (bounded by
MAX_EXAMINED per call, which then returns a cursor).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from chalicelib.core.entities import AuditEvent
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import translate_errors
from chalicelib.storage.models import AuditItem

PAGE = 100
MAX_EXAMINED = 2000
RETENTION_SECONDS = 400 * 24 * 3600  # the audit service's retention (events written inside other transactions)


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
        user_id=item.user_id or "",
    )


def audit_item_for(event: AuditEvent, expires_at: int | None = None) -> AuditItem:
    """The item of an event (also used inside other repositories' transactions). Events about an end user are
    indexed by that user (``UserIndex``), so their activity can be listed and, at erasure, pseudonymized."""
    retention = expires_at if expires_at is not None else event.occurred_at + RETENTION_SECONDS
    return AuditItem(
        keys.audit_events(event.tenant_id),
        event.event_id,
        event_type=event.action,
        outcome=event.outcome,
        occurred_at=event.occurred_at,
        details=event.details,
        ttl=datetime.fromtimestamp(retention, tz=UTC),
        actor=event.actor,
        target_id=event.target_id,
        node_id=event.node_id,
        source_ip=event.source_ip,
        user_agent=event.user_agent,
        user_id=event.user_id or None,
        gsi1pk=keys.audit_user_index(event.tenant_id, event.user_id) if event.user_id else None,
        gsi1sk=event.event_id if event.user_id else None,
        gsi2pk=keys.audit_kind_index(event.tenant_id, event.action),
        gsi2sk=event.event_id,
    )


def _matches(event: AuditEvent, action: str | None, node_ids: frozenset[NodeId] | None) -> bool:
    prefix = action is not None and action.endswith(".")
    if action is not None and event.action != action and not (prefix and event.action.startswith(action)):
        return False
    return node_ids is None or event.node_id in node_ids


def _newest_first(tenant_id: TenantId, action: str | None, before: str | None) -> list[AuditItem]:
    """One page of events older than ``before``: of the action's kind when there is an action filter."""
    if action is None:
        condition = AuditItem.sk < before if before else None
        return list(
            AuditItem.query(
                keys.audit_events(tenant_id), condition, scan_index_forward=False, limit=PAGE, page_size=PAGE
            )
        )
    condition = AuditItem.gsi2sk < before if before else None
    return list(
        AuditItem.kind_index.query(
            keys.audit_kind_index(tenant_id, action), condition, scan_index_forward=False, limit=PAGE, page_size=PAGE
        )
    )


class DynamoAuditRepository:
    @translate_errors
    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        audit_item_for(event, expires_at).save(condition=AuditItem.pk.does_not_exist())

    @translate_errors
    def append_batch(self, events: Sequence[AuditEvent]) -> int:
        """BatchWriteItem (25 per request, unprocessed items retried by PynamoDB). Idempotent: the key is the event
        id and a delivery writes the same item again, which DynamoDB Streams does not report as a change."""
        unique = {(e.tenant_id, e.event_id): e for e in events}  # a batch may not name one key twice
        with AuditItem.batch_write() as batch:
            for event in unique.values():
                batch.save(audit_item_for(event))
        return len(unique)

    @translate_errors
    def list_events(
        self,
        tenant_id: TenantId,
        *,
        limit: int,
        before: str | None = None,
        action: str | None = None,
        node_ids: frozenset[NodeId] | None = None,
        subject: str | None = None,
        since: str | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        found: list[AuditEvent] = []
        examined = 0
        position = before
        while True:
            items = _newest_first(tenant_id, action, position)
            for item in items:
                if since is not None and item.sk < since:
                    return found, None  # newest first: everything from here on is older than the range
                examined += 1
                position = item.sk
                event = _to_event(tenant_id, item)
                about = subject is None or subject in (event.user_id, event.target_id, event.actor)
                if about and _matches(event, action, node_ids):
                    found.append(event)
                    if len(found) == limit:
                        return found, position
            if len(items) < PAGE:
                return found, None
            if examined >= MAX_EXAMINED:
                return found, position

    @translate_errors
    def list_for_user(self, tenant_id: TenantId, user_id: str, *, since_event_id: str, limit: int) -> list[AuditEvent]:
        """Events about one end user newer than ``since_event_id``, newest first (at most ``limit``)."""
        items = AuditItem.user_index.query(
            keys.audit_user_index(tenant_id, user_id),
            AuditItem.gsi1sk > since_event_id,
            scan_index_forward=False,
            limit=limit,
            page_size=min(limit, PAGE),
        )
        return [_to_event(tenant_id, item) for item in items]

    @translate_errors
    def pseudonymize_user(self, tenant_id: TenantId, user_id: str, pseudonym: str) -> int:
        """Replace the user's id by ``pseudonym`` in every event about or by the user, and drop the network
        details and free-text details of those events; returns how many events were rewritten."""
        found: dict[str, AuditItem] = {
            item.sk: item for item in AuditItem.user_index.query(keys.audit_user_index(tenant_id, user_id))
        }
        # Admin and provisioning events name the user as target or actor without indexing it.
        mentions = (AuditItem.target_id == user_id) | (AuditItem.actor == user_id)
        for item in AuditItem.query(keys.audit_events(tenant_id), filter_condition=mentions):
            found.setdefault(item.sk, item)
        for item in found.values():
            item.update(
                actions=[
                    AuditItem.actor.set(pseudonym if item.actor == user_id else item.actor or ""),
                    AuditItem.target_id.set(pseudonym if item.target_id == user_id else item.target_id or ""),
                    AuditItem.user_id.set(pseudonym if item.user_id else ""),
                    AuditItem.source_ip.set(""),
                    AuditItem.user_agent.set(""),
                    AuditItem.details.set(_pseudonymous_details(item.details or {})),
                    AuditItem.gsi1pk.remove(),
                    AuditItem.gsi1sk.remove(),
                ]
            )
        return len(found)


# Detail values that describe the event, not the person; everything else (emails, locations, devices) goes.
KEPT_DETAILS = frozenset({"client_id", "reason", "method", "amr", "scope", "status", "kind", "fields", "count"})


def _pseudonymous_details(details: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in details.items() if k in KEPT_DETAILS}
