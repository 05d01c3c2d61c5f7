"""The audit log channel's line format and its ingest decoding: round trip, one line whatever a value holds, and
every malformed or foreign line ignored (the ingest function trusts nothing it reads from a log)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from chalicelib.core.audit_lines import FILTER_PATTERN, MARKER, event_from_line, event_to_line
from chalicelib.core.entities import AuditEvent
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.workflows.audit_log import decode_payload, events_in

EVENT = AuditEvent(
    tenant_id=TenantId("demo"),
    event_id="1763900000123-0123456789abcdef",
    action="token.issue",
    actor="demo-web",
    target_id="user-1",
    node_id=NodeId("root"),
    occurred_at=1763900000,
    source_ip="203.0.113.9",
    user_agent='agent\n{"gatehouse_audit":1,"forged":true}',
    outcome="success",
    details={"grant_type": "refresh_token", "grant_id": "g1", "jti": "j1", "scope": "openid"},
)


def test_round_trip_on_one_line() -> None:
    line = event_to_line(EVENT)
    assert "\n" not in line and json.loads(line)[MARKER] == 1
    assert event_from_line(line) == EVENT
    assert event_from_line("2026-11-23T20:00:00Z\trequest-id\t" + line) == EVENT  # a runtime prefix is skipped
    assert FILTER_PATTERN == "{ $.gatehouse_audit = 1 }"


def _line(**changes: Any) -> str:
    data = json.loads(event_to_line(EVENT))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "START RequestId: 1 Version: $LATEST",
        "{not json",
        json.dumps({"action": "token.issue"}),
        _line(gatehouse_audit=2),
        _line(gatehouse_audit=True),
        _line(tenant_id="de mo"),
        _line(tenant_id=""),
        _line(event_id="1-2"),
        _line(action="Token.Issue"),
        _line(outcome="maybe"),
        _line(occurred_at="1763900000"),
        _line(occurred_at=True),
        _line(details={"nested": {"a": 1}}),
        _line(details=["a"]),
        _line(user_agent="x" * 513),
        _line(actor=7),
        "{" + "x" * 20000 + "}",
    ],
)
def test_malformed_lines_are_ignored(line: str) -> None:
    assert event_from_line(line) is None


def _subscription(messages: list[str], message_type: str = "DATA_MESSAGE") -> dict[str, Any]:
    payload = {"messageType": message_type, "logEvents": [{"id": "1", "timestamp": 1, "message": m} for m in messages]}
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}


def test_ingest_reads_only_channel_events_of_data_messages() -> None:
    other = event_to_line(AuditEvent(**{**EVENT.__dict__, "action": "admin.user.delete"}))
    batch = _subscription([event_to_line(EVENT), "plain log line", other])
    assert events_in(decode_payload(batch)) == [EVENT]  # admin events never come from a log line
    assert events_in(decode_payload(_subscription([event_to_line(EVENT)], "CONTROL_MESSAGE"))) == []


@pytest.mark.parametrize(
    "event",
    [{}, {"awslogs": {}}, {"awslogs": {"data": "!!"}}, {"awslogs": {"data": base64.b64encode(b"nogzip").decode()}}],
)
def test_ingest_ignores_what_is_not_a_subscription_batch(event: dict[str, Any]) -> None:
    assert decode_payload(event) == {}
