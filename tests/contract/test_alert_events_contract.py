"""Security alerts on the local EventBridge bus over real boto3: the container publishes each alert to the SNS topic
and as an event on the bus, where rules select one tenant's (and one kind's) alerts; a bus that is missing fails the
publish with DependencyUnavailable."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support.alert_events import alert_queue, tenant_pattern

pytestmark = pytest.mark.stack


def test_the_local_stack_names_and_creates_the_alerts_bus(local_stack: Any) -> None:
    import boto3

    from chalicelib.config import settings
    from infra.local.stack import ALERTS_EVENT_BUS

    assert settings().alerts_event_bus == ALERTS_EVENT_BUS
    events = boto3.session.Session().client("events", region_name="us-east-1")
    assert events.describe_event_bus(Name=ALERTS_EVENT_BUS)["Name"] == ALERTS_EVENT_BUS


def test_an_alert_reaches_the_rules_of_its_tenant_and_kind_only(local_stack: Any, outbox: Any) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant, other = f"ev-{uuid.uuid4().hex[:8]}", f"ev-{uuid.uuid4().hex[:8]}"
    payload = {"pattern": "many_accounts_from_ip", "blocked": "ip", "subject": "203.0.113.7", "distinct": 3}
    with (
        alert_queue(tenant_pattern(tenant)) as everything,
        alert_queue(tenant_pattern(tenant, kind=["account_locked"])) as locks_only,
        alert_queue(tenant_pattern(other)) as other_tenant,
    ):
        container.alerts().publish(TenantId(tenant), "credential_stuffing", payload)
        [event] = everything.events(wait_seconds=2)
        assert event["source"] == "gatehouse" and event["detail-type"] == "Gatehouse Security Alert"
        assert event["detail"] == {"tenant": tenant, "kind": "credential_stuffing", **payload}
        assert locks_only.events() == [] and other_tenant.events() == []

        container.alerts().publish(TenantId(tenant), "account_locked", {"subject": "digest"})
        assert [e["detail"]["kind"] for e in locks_only.events(wait_seconds=2)] == ["account_locked"]
        assert [e["detail"]["kind"] for e in everything.events(wait_seconds=2)] == ["account_locked"]
        assert other_tenant.events() == []

    # The SNS side published each alert once (the local outbox reads the topic; the bus adds no entry).
    sent = [json.loads(e["text"]) for e in outbox() if e["channel"] == "alert"]
    assert [a["kind"] for a in sent if a["tenant"] == tenant] == ["account_locked", "credential_stuffing"]


def test_a_missing_bus_fails_the_publish(local_stack: Any) -> None:
    from chalicelib.core.errors import DependencyUnavailable
    from chalicelib.core.ids import TenantId
    from chalicelib.outbound.eventbridge_alerts import EventBridgeAlertPublisher

    with pytest.raises(DependencyUnavailable) as raised:
        EventBridgeAlertPublisher("gatehouse-no-such-bus").publish(TenantId("acme"), "account_locked", {})
    assert "gatehouse-no-such-bus" in raised.value.detail


def test_sns_still_gets_the_alert_when_the_bus_is_missing(local_stack: Any, outbox: Any) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.outbound.alert_fanout import FanOutAlertPublisher
    from chalicelib.outbound.eventbridge_alerts import EventBridgeAlertPublisher
    from chalicelib.outbound.sns_alerts import SnsAlertPublisher

    tenant = f"ev-{uuid.uuid4().hex[:8]}"
    publisher = FanOutAlertPublisher(
        [("sns", SnsAlertPublisher()), ("eventbridge", EventBridgeAlertPublisher("gatehouse-no-such-bus"))]
    )
    publisher.publish(TenantId(tenant), "account_unlocked", {"subject": "digest"})
    sent = [json.loads(e["text"]) for e in outbox() if e["channel"] == "alert"]
    assert [a["kind"] for a in sent if a["tenant"] == tenant] == ["account_unlocked"]
