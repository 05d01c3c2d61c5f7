"""Security alert channels without I/O: the EventBridge entry and its per-entry failures, the fan-out over SNS and
EventBridge (one failing channel does not stop the other), and which channels the container configures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import TenantId

TENANT = TenantId("acme")
PAYLOAD = {"pattern": "many_accounts_from_ip", "subject": "203.0.113.9", "distinct": 3}


class RecordingSink:
    def __init__(self, error: Exception | None = None) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []
        self.error = error

    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        if self.error is not None:
            raise self.error
        self.published.append((tenant_id, kind, payload))


class FakeEvents:
    """``client("events")``: records the entries, answers what the test sets."""

    def __init__(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.answer = answer if answer is not None else {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}
        self.error = error

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        if self.error is not None:
            raise self.error
        return self.answer


def _publisher(monkeypatch: pytest.MonkeyPatch, events: FakeEvents) -> Any:
    from chalicelib.outbound import eventbridge_alerts

    monkeypatch.setattr(eventbridge_alerts, "client", lambda service: {"events": events}[service])
    return eventbridge_alerts.EventBridgeAlertPublisher("gatehouse-test-alerts")


# --- EventBridge ---------------------------------------------------------------------------------------------------


def test_an_alert_is_one_event_with_tenant_and_kind_in_its_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    events = FakeEvents()
    _publisher(monkeypatch, events).publish(TENANT, "credential_stuffing", PAYLOAD)
    [entry] = events.entries
    assert entry["EventBusName"] == "gatehouse-test-alerts"
    assert entry["Source"] == "gatehouse" and entry["DetailType"] == "Gatehouse Security Alert"
    assert json.loads(entry["Detail"]) == {"tenant": "acme", "kind": "credential_stuffing", **PAYLOAD}


def test_a_payload_cannot_name_another_tenant_or_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    events = FakeEvents()
    _publisher(monkeypatch, events).publish(TENANT, "account_locked", {"tenant": "other", "kind": "x", "n": 1})
    assert json.loads(events.entries[0]["Detail"]) == {"tenant": "acme", "kind": "account_locked", "n": 1}


def test_a_refused_entry_raises_although_put_events_answered_200(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {
        "FailedEntryCount": 1,
        "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
    }
    with pytest.raises(DependencyUnavailable) as raised:
        _publisher(monkeypatch, FakeEvents(answer=refused)).publish(TENANT, "credential_stuffing", PAYLOAD)
    assert "InternalFailure" in raised.value.detail and "try again" in raised.value.detail


def test_a_failed_call_raises_dependency_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        _publisher(monkeypatch, FakeEvents(error=OSError("connection refused"))).publish(TENANT, "k", {})
    assert "connection refused" in raised.value.detail


# --- fan-out -------------------------------------------------------------------------------------------------------


def _fan_out(*sinks: tuple[str, RecordingSink]) -> Any:
    from chalicelib.outbound.alert_fanout import FanOutAlertPublisher

    return FanOutAlertPublisher(list(sinks))


def test_every_channel_gets_the_alert() -> None:
    sns, bus = RecordingSink(), RecordingSink()
    _fan_out(("sns", sns), ("eventbridge", bus)).publish(TENANT, "credential_stuffing", PAYLOAD)
    assert sns.published == bus.published == [("acme", "credential_stuffing", PAYLOAD)]


@pytest.mark.parametrize("error", [DependencyUnavailable(detail="sns down"), RuntimeError("a bug")])
def test_a_failing_channel_does_not_stop_the_next(error: Exception) -> None:
    sns, bus = RecordingSink(error), RecordingSink()
    _fan_out(("sns", sns), ("eventbridge", bus)).publish(TENANT, "credential_stuffing", PAYLOAD)
    assert bus.published == [("acme", "credential_stuffing", PAYLOAD)]


def test_the_first_channel_still_delivers_when_the_last_fails() -> None:
    sns, bus = RecordingSink(), RecordingSink(DependencyUnavailable(detail="bus missing"))
    _fan_out(("sns", sns), ("eventbridge", bus)).publish(TENANT, "account_locked", {})
    assert sns.published == [("acme", "account_locked", {})]


def test_all_channels_failing_raises_naming_each() -> None:
    sns = RecordingSink(DependencyUnavailable(detail="sns down"))
    bus = RecordingSink(DependencyUnavailable(detail="bus missing"))
    with pytest.raises(DependencyUnavailable) as raised:
        _fan_out(("sns", sns), ("eventbridge", bus)).publish(TENANT, "account_locked", {})
    assert "sns:" in raised.value.detail and "eventbridge:" in raised.value.detail
    assert "bus missing" in raised.value.detail


def test_a_single_failing_channel_raises() -> None:
    with pytest.raises(DependencyUnavailable):
        _fan_out(("sns", RecordingSink(DependencyUnavailable(detail="sns down")))).publish(TENANT, "k", {})


def test_a_fan_out_needs_a_channel() -> None:
    with pytest.raises(ValueError):
        _fan_out()


# --- what the container configures ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_alerts(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """``settings()`` and ``container.alerts()`` rebuilt from the environment the test sets, and again after it."""
    from chalicelib import container
    from chalicelib.config import settings

    settings.cache_clear()
    container.alerts.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()
    container.alerts.cache_clear()


def test_without_an_event_bus_alerts_go_to_sns_only(fresh_alerts: pytest.MonkeyPatch) -> None:
    from chalicelib import container

    fresh_alerts.delenv("GATEHOUSE_ALERTS_EVENT_BUS", raising=False)
    assert container.alerts().channels == ("sns",)


def test_with_an_event_bus_alerts_go_to_sns_and_eventbridge(fresh_alerts: pytest.MonkeyPatch) -> None:
    from chalicelib import container
    from chalicelib.outbound.eventbridge_alerts import EventBridgeAlertPublisher

    fresh_alerts.setenv("GATEHOUSE_ALERTS_EVENT_BUS", "arn:aws:events:eu-west-1:123456789012:event-bus/alerts")
    publisher = container.alerts()
    assert publisher.channels == ("sns", "eventbridge")
    [(_, bus)] = [sink for sink in publisher._sinks if sink[0] == "eventbridge"]
    assert isinstance(bus, EventBridgeAlertPublisher)
    assert bus._bus == "arn:aws:events:eu-west-1:123456789012:event-bus/alerts"
