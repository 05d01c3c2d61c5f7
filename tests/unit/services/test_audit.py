"""AuditService: one event per record, credential-like detail keys dropped, 400-day retention, input checks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent
from chalicelib.core.errors import InvalidInput
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.services.audit import RETENTION_SECONDS, Actor, AuditService

ACTOR = Actor(TenantId("t1"), "svc-1", NodeId("root"), "203.0.113.5", "curl/8")


class MemoryAudit:
    def __init__(self) -> None:
        self.appended: list[tuple[AuditEvent, int]] = []
        self.queries: list[dict[str, Any]] = []

    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        self.appended.append((event, expires_at))

    def list_events(self, tenant_id: TenantId, **kwargs: Any) -> tuple[list[AuditEvent], str | None]:
        self.queries.append({"tenant_id": tenant_id, **kwargs})
        return [], None


@pytest.fixture
def repository() -> MemoryAudit:
    clock.reset()
    return MemoryAudit()


def test_record_appends_one_event_with_who_what_where_and_retention(repository: MemoryAudit) -> None:
    event = AuditService(repository).record(ACTOR, "admin.user.create", "u-1", node_id=NodeId("n-2"))
    assert repository.appended == [(event, event.occurred_at + RETENTION_SECONDS)]
    assert RETENTION_SECONDS == 400 * 86400
    assert (event.tenant_id, event.actor, event.action, event.target_id) == ("t1", "svc-1", "admin.user.create", "u-1")
    assert (event.node_id, event.source_ip, event.user_agent, event.outcome) == (
        "n-2",
        "203.0.113.5",
        "curl/8",
        "success",
    )
    assert abs(event.occurred_at - clock.now()) <= 1


def test_event_ids_are_time_ordered_and_unique(repository: MemoryAudit) -> None:
    service = AuditService(repository)
    first = service.record(ACTOR, "a.b", "x")
    clock.advance(2)
    second = service.record(ACTOR, "a.b", "x")
    assert first.event_id < second.event_id and first.node_id == ACTOR.node_id
    clock.reset()


@pytest.mark.parametrize("kind", ["record", "user_event"])
def test_an_event_id_and_its_time_agree_when_a_second_ends_while_it_is_made(
    repository: MemoryAudit, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The real clock passes from 1000.9999 s to 1001.0001 s between two readings: the id must not pair second 1000
    with millisecond 0 (sorting before the earlier events of second 1000)."""
    readings = iter([1000.9999, 1001.0001, 1001.0002, 1001.0003])
    monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: next(readings)))
    service = AuditService(repository)
    if kind == "record":
        event = service.record(ACTOR, "a.b", "x")
    else:
        event = service.user_event(TenantId("t1"), "u-1", "a.b", node_id=NodeId("root"), source_ip="", user_agent="")
    assert (int(event.event_id[:13]), event.occurred_at) == (1000_999, 1000)


def test_credential_like_details_are_dropped(repository: MemoryAudit) -> None:
    details = {"password": "p", "client_secret": "s", "access_token": "t", "password_hash": "h", "fields": "email"}
    event = AuditService(repository).record(ACTOR, "a.b", "x", details=details, outcome="failure")
    assert event.details == {"fields": "email"} and event.outcome == "failure"


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 201}, {"before": "not-an-id"}, {"action": "Robert'); DROP"}]
)
def test_list_rejects_bad_input(repository: MemoryAudit, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        AuditService(repository).list(TenantId("t1"), **kwargs)
    assert repository.queries == []


def test_list_passes_the_query_through(repository: MemoryAudit) -> None:
    nodes = frozenset({NodeId("n-1")})
    AuditService(repository).list(TenantId("t1"), limit=5, before="1700000000000-0123456789abcdef", node_ids=nodes)
    assert repository.queries == [
        {
            "tenant_id": "t1",
            "limit": 5,
            "before": "1700000000000-0123456789abcdef",
            "action": None,
            "node_ids": nodes,
            "subject": None,
            "since": None,
        }
    ]


def test_a_time_range_becomes_event_id_bounds_and_the_user_filter_is_checked(repository: MemoryAudit) -> None:
    service = AuditService(repository)
    service.list(TenantId("t1"), subject="u-1", since=1_700_000_000, until=1_700_000_099)
    query = repository.queries[-1]
    assert (query["subject"], query["since"], query["before"]) == ("u-1", "1700000000000", "1700000100000")
    with pytest.raises(InvalidInput):
        service.list(TenantId("t1"), subject="no spaces or; semicolons")
    with pytest.raises(InvalidInput):
        service.list(TenantId("t1"), since=-1)


# --- events about end users from a request's origin ------------------------------------------------------------


def test_user_events_carry_the_origin_and_the_client_without_being_stored(repository: MemoryAudit) -> None:
    from chalicelib.services.audit import Origin

    service = AuditService(repository)
    origin = Origin("198.51.100.7", "Firefox/120", "shop-web")
    event = service.about_user(
        TenantId("t1"), "u-9", "password_reset.completed", origin, node_id=NodeId("n-1"), details={"kind": "x"}
    )
    assert repository.appended == []
    assert (event.user_id, event.target_id, event.actor, event.node_id) == ("u-9", "u-9", "u-9", "n-1")
    assert (event.source_ip, event.user_agent, event.outcome) == ("198.51.100.7", "Firefox/120", "success")
    assert event.details == {"client_id": "shop-web", "kind": "x"}
    service.append_after(event)
    assert repository.appended == [(event, event.occurred_at + RETENTION_SECONDS)]


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "client_secret",
        "refresh_token",
        "password_hash",
        "api_key",
        "code",
        "recovery_code",
        "otp",
        "totp_secret",
        "credential_id",
        "session_cookie",
        "Link_Token",
    ],
)
def test_credential_like_detail_keys_never_reach_an_event(repository: MemoryAudit, key: str) -> None:
    from chalicelib.services.audit import Origin

    service = AuditService(repository)
    details = {key: "s3cr3t-value", "reason": "invalid_link", "kind": "totp", "count": 2, "fields": "password"}
    for event in (
        service.record(ACTOR, "admin.user.update", "u-1", details=details),
        service.about_user(
            TenantId("t1"), "u-1", "mfa.challenge_failed", Origin(), node_id=NodeId("r"), details=details
        ),
    ):
        assert key not in event.details and "s3cr3t-value" not in repr(event)
        assert event.details["reason"] == "invalid_link" and event.details["fields"] == "password"


def test_losing_an_event_after_the_change_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(MemoryAudit):
        def append(self, event: AuditEvent, *, expires_at: int) -> None:
            raise RuntimeError("table unavailable")

    from chalicelib.services.audit import Origin

    service = AuditService(Broken())
    service.append_after(service.about_user(TenantId("t1"), "u", "mfa.removed", Origin(), node_id=NodeId("r")))
    assert "mfa.removed event could not be stored" in caplog.text
