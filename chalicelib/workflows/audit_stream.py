"""Consumer of the audit table's stream (DynamoDB Streams, ``NEW_IMAGE``): every new event feeds the identity
analytics counters, and a sign-in the risk engine saw from a new device emails the user.

In AWS the Chalice ``on_dynamodb_record`` handler in ``app.py`` receives the stream batches; locally
``infra/local/audit_stream.py`` polls DynamoDB Local's Streams API and hands the same records to the same handler.
Only inserts are consumed (events are immutable; removals are TTL expiries and erasure rewrites).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib import container
from chalicelib.config import settings
from chalicelib.core.entities import AuditEvent
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import NodeId, TenantId, UserId

log = logging.getLogger(__name__)
AUDIT_PK_SUFFIX = "#AUDIT"
STREAM_ARN = settings().audit_stream_arn  # app.py's handler declaration; the CDK stack sets the deployed one


def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB-JSON attribute value as a plain Python value."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return inner
    if kind == "N":
        number = float(inner)
        return int(number) if number.is_integer() else number
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _plain(v) for k, v in inner.items()}
    if kind == "L":
        return [_plain(v) for v in inner]
    if kind in ("SS", "NS"):
        return list(inner)
    return None


def event_of(image: Mapping[str, Any]) -> AuditEvent | None:
    """The audit event in a stream record's new image, or None for anything else."""
    item = {name: _plain(value) for name, value in image.items()}
    pk = str(item.get("PK") or "")
    if not pk.startswith("T#") or not pk.endswith(AUDIT_PK_SUFFIX):
        return None
    details = item.get("details")
    if isinstance(details, str):  # PynamoDB's JSONAttribute stores a JSON string
        import json

        details = json.loads(details)
    return AuditEvent(
        tenant_id=TenantId(pk[2 : -len(AUDIT_PK_SUFFIX)]),
        event_id=str(item.get("SK") or ""),
        action=str(item.get("event_type") or ""),
        actor=str(item.get("actor") or ""),
        target_id=str(item.get("target_id") or ""),
        node_id=NodeId(str(item.get("node_id") or "")),
        occurred_at=int(item.get("occurred_at") or 0),
        source_ip=str(item.get("source_ip") or ""),
        user_agent=str(item.get("user_agent") or ""),
        outcome="failure" if item.get("outcome") == "failure" else "success",
        details=details if isinstance(details, dict) else {},
        user_id=str(item.get("user_id") or ""),
    )


def consume(records: Iterable[Mapping[str, Any]]) -> int:
    """Process a batch of stream records (raw Lambda shape); returns how many audit events were handled."""
    handled = 0
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        event = event_of(record.get("dynamodb", {}).get("NewImage") or {})
        if event is None:
            continue
        container.analytics().count(event)
        notify_new_device(event)
        handled += 1
    return handled


def notify_new_device(event: AuditEvent) -> None:
    """Email the user about a successful sign-in from a device their history does not know."""
    signals = str(event.details.get("risk_signals") or "").split()
    if event.action != "signin.success" or "new_device" not in signals:
        return
    settings = container.tenants().effective(event.tenant_id, event.node_id or NodeId("root"))
    if not settings.get("risk", "notify_new_device"):
        return
    try:
        user = container.accounts().get(event.tenant_id, UserId(event.target_id))
    except NotFound:
        return
    try:
        container.mailer().send(
            "new_device_signin",
            tenant_id=event.tenant_id,
            node_id=user.tier_node_id,
            to=user.email,
            device=describe(event.user_agent),
            place=str(event.details.get("location") or event.details.get("country") or "an unknown place"),
        )
    except Exception:  # the stream must not stall on one undeliverable notice
        log.exception("new-device notice for an event of %s could not be sent", event.tenant_id)


def describe(user_agent: str) -> str:
    from chalicelib.services.devices import describe_user_agent

    found = describe_user_agent(user_agent)
    return " on ".join(part for part in (found.get("browser"), found.get("os")) if part) or "an unknown device"
