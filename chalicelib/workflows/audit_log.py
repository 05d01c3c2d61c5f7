"""Ingest of the audit log channel: the ``IngestAuditLog`` function receives CloudWatch Logs subscription batches
(``{"awslogs": {"data": base64(gzip(JSON))}}``) of the API functions' audit event lines and stores the events in
the audit table; from there the table's stream feeds the usual consumers.

Idempotent: CloudWatch Logs may deliver a batch more than once, and each event keeps the id it was given when it
happened (the key), so a second delivery rewrites the same item. Only the channel's actions are accepted
(``token.*``); anything else in a line is ignored, as is every line that is not a well-formed event.
Locally ``infra/local/audit_log.py`` tails the lines and calls the same handler.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import zlib
from collections.abc import Mapping
from typing import Any

from chalicelib import container
from chalicelib.core.audit_lines import event_from_line
from chalicelib.core.entities import AuditEvent

log = logging.getLogger(__name__)
CHANNEL_ACTIONS = ("token.",)
MAX_PAYLOAD = 8 * 1024 * 1024  # decompressed; CloudWatch Logs sends at most 1 MB compressed per batch


def decode_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """The subscription payload of a CloudWatch Logs event ({} when it is not one)."""
    awslogs = event.get("awslogs") if isinstance(event, Mapping) else None
    data = awslogs.get("data") if isinstance(awslogs, Mapping) else None
    if not isinstance(data, str):
        return {}
    try:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # gzip
        raw = inflater.decompress(base64.b64decode(data, validate=True), MAX_PAYLOAD)
        payload = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def events_in(payload: Mapping[str, Any]) -> list[AuditEvent]:
    if payload.get("messageType") != "DATA_MESSAGE":  # CONTROL_MESSAGE: the subscription's own test message
        return []
    found: list[AuditEvent] = []
    for entry in payload.get("logEvents") or []:
        message = entry.get("message") if isinstance(entry, Mapping) else None
        event = event_from_line(message) if isinstance(message, str) else None
        if event is not None and event.action.startswith(CHANNEL_ACTIONS):
            found.append(event)
    return found


def ingest(event: Mapping[str, Any]) -> dict[str, int]:
    """Store the batch's audit events; returns how many were stored and how many log lines were skipped."""
    payload = decode_payload(event)
    found = events_in(payload)
    stored = container.audit().store_delivered(found) if found else 0
    skipped = len(payload.get("logEvents") or []) - len(found)
    if skipped:
        log.warning("audit log ingest skipped %d line(s) that are not channel events", skipped)
    return {"stored": stored, "skipped": skipped}
