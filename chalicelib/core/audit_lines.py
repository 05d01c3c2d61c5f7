"""Audit events as log lines: one JSON object per line, marked ``"gatehouse_audit": 1``.

The API functions write high-volume events (token issue) this way instead of a DynamoDB write per request; Lambda
ships stdout to CloudWatch Logs, a subscription filter (``{ $.gatehouse_audit = 1 }``) hands the lines to the
ingest function, which reads them back with ``event_from_line`` and stores them in the audit table. ``json.dumps``
escapes control characters, so a value (a User-Agent, say) can never start a second line.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.core.entities import AuditEvent
from chalicelib.core.ids import NodeId, TenantId

MARKER = "gatehouse_audit"
VERSION = 1
FILTER_PATTERN = "{ $.gatehouse_audit = 1 }"  # CloudWatch Logs JSON filter pattern selecting these lines
MAX_LINE = 16_384

EVENT_ID = re.compile(r"^\d{13}-[0-9a-f]{16}$")
ACTION = re.compile(r"^[a-z][a-z_.]{0,63}$")
NAME = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
_ENCODER = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per line (json.dumps with options)
_TEXT_LIMITS = {"actor": 256, "target_id": 256, "source_ip": 64, "user_agent": 512, "user_id": 128}


def event_to_line(event: AuditEvent) -> str:
    """The event as one JSON line (no trailing newline)."""
    return _ENCODER.encode(
        {
            MARKER: VERSION,
            "tenant_id": event.tenant_id,
            "event_id": event.event_id,
            "action": event.action,
            "actor": event.actor,
            "target_id": event.target_id,
            "node_id": event.node_id,
            "occurred_at": event.occurred_at,
            "source_ip": event.source_ip,
            "user_agent": event.user_agent,
            "outcome": event.outcome,
            "details": event.details,
            "user_id": event.user_id,
        }
    )


def event_from_line(line: str) -> AuditEvent | None:
    """The event a line carries, or None for any other line and for anything malformed (checked field by field:
    the ingest function trusts nothing it reads from a log)."""
    if not isinstance(line, str) or len(line) > MAX_LINE:
        return None
    start = line.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(data, dict) or type(data.get(MARKER)) is not int or data[MARKER] != VERSION:
        return None
    return _event_of(data)


def _event_of(data: dict[str, Any]) -> AuditEvent | None:
    texts = {name: data.get(name, "") for name in _TEXT_LIMITS}
    if any(not isinstance(v, str) or len(v) > _TEXT_LIMITS[k] for k, v in texts.items()):
        return None
    tenant, event_id, action, node = (data.get(k) for k in ("tenant_id", "event_id", "action", "node_id"))
    occurred_at, outcome, details = data.get("occurred_at"), data.get("outcome"), data.get("details")
    if not (isinstance(tenant, str) and NAME.match(tenant) and isinstance(node, str) and len(node) <= 128):
        return None
    if not (isinstance(event_id, str) and EVENT_ID.match(event_id) and isinstance(action, str)):
        return None
    if not ACTION.match(action) or outcome not in ("success", "failure"):
        return None
    if not (isinstance(occurred_at, int) and not isinstance(occurred_at, bool) and 0 < occurred_at < 10**11):
        return None
    if not isinstance(details, dict) or not all(_scalar(k, v) for k, v in details.items()):
        return None
    return AuditEvent(
        tenant_id=TenantId(tenant),
        event_id=event_id,
        action=action,
        actor=texts["actor"],
        target_id=texts["target_id"],
        node_id=NodeId(node),
        occurred_at=occurred_at,
        source_ip=texts["source_ip"],
        user_agent=texts["user_agent"],
        outcome="failure" if outcome == "failure" else "success",
        details=details,
        user_id=texts["user_id"],
    )


def _scalar(key: object, value: object) -> bool:
    if not isinstance(key, str) or len(key) > 64:
        return False
    return value is None or isinstance(value, bool | int) or (isinstance(value, str) and len(value) <= 256)
