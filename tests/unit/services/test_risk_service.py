"""RiskService with in-memory ports: one read and one write per sign-in, no I/O on an unlocated refresh,
credential-stuffing blocks (many accounts from one IP, many IPs on one account) with doubling durations,
their audit events and alerts, and admin lock/unlock."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.risk import Attempt, Location, RiskProfile
from chalicelib.core.settings import effective_settings
from chalicelib.services.audit import AuditService
from chalicelib.services.authentication import throttle_subjects
from chalicelib.services.risk import RiskService, details_of, is_breached
from tests.support.server_time import clear_of_boundary

T = TenantId("t1")
U = UserId("u1")
STUFFING_WINDOW = 30 * 86400


class MemoryRisk:
    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], RiskProfile] = {}
        self.sets: dict[str, set[str]] = {}
        self.blocks: dict[str, dict[str, int]] = {}
        self.calls: list[str] = []

    def get_profile(self, tenant_id: TenantId, user_id: UserId) -> RiskProfile:
        self.calls.append("get_profile")
        return self.profiles.get((tenant_id, user_id), RiskProfile())

    def save_profile(self, tenant_id: TenantId, user_id: UserId, profile: RiskProfile, *, expires_at: int) -> None:
        self.calls.append("save_profile")
        self.profiles[(tenant_id, user_id)] = profile

    def delete_profile(self, tenant_id: TenantId, user_id: UserId) -> None:
        self.profiles.pop((tenant_id, user_id), None)

    def count_stuffing(
        self, tenant_id: TenantId, *, ip: str, account: str, window: int, expires_at: int
    ) -> tuple[int, int]:
        self.sets.setdefault(f"{tenant_id}#IP#{ip}#{window}", set()).add(account)
        self.sets.setdefault(f"{tenant_id}#ACCOUNT#{account}#{window}", set()).add(ip)

        def both(prefix: str) -> int:
            return len(self.sets[f"{prefix}#{window}"] | self.sets.get(f"{prefix}#{window - 1}", set()))

        return both(f"{tenant_id}#IP#{ip}"), both(f"{tenant_id}#ACCOUNT#{account}")

    def block(self, tenant_id: TenantId, subject: str, *, now: int, base: int, most: int) -> int | None:
        state = self.blocks.setdefault(subject, {"blocked_until": 0, "block_count": 0})
        if state["blocked_until"] > now:
            return None
        state["block_count"] += 1
        state["blocked_until"] = now + min(most, base * 2 ** (state["block_count"] - 1))
        return state["blocked_until"]

    def set_block(self, tenant_id: TenantId, subject: str, *, until: int, expires_at: int) -> None:
        self.blocks.setdefault(subject, {"blocked_until": 0, "block_count": 0})["blocked_until"] = until


class MemoryAlerts:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        self.published.append((tenant_id, kind, payload))


class MemoryAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        self.events.append(event)

    def list_events(self, tenant_id: TenantId, **kwargs: Any) -> tuple[list[AuditEvent], str | None]:
        return [], None


@pytest.fixture
def parts(frozen_clock: Any) -> tuple[RiskService, MemoryRisk, MemoryAlerts, MemoryAudit]:
    """The service on a frozen clock (its ``clock.now()`` and the tests' agree), well inside the fixed 30-day
    stuffing window the tests use (a test moves the clock by minutes)."""
    clear_of_boundary(frozen_clock, STUFFING_WINDOW, 3600)
    repository, alerts, audit = MemoryRisk(), MemoryAlerts(), MemoryAudit()
    return RiskService(repository, alerts, AuditService(audit)), repository, alerts, audit


def settings(**risk: Any) -> Any:
    return effective_settings([("root", {"risk": risk})])


BERLIN = Location(52.52, 13.4, "DE")


def test_a_sign_in_reads_once_and_a_completed_one_writes_once(parts: Any) -> None:
    service, repository, _, _ = parts
    attempt = Attempt(now=clock.now(), ip="198.51.100.1", location=BERLIN, country="DE", device="d1")
    risk = service.assess_sign_in(T, U, attempt, settings())
    service.record_sign_in(T, U, risk)
    assert repository.calls == ["get_profile", "save_profile"]
    assert repository.profiles[(T, U)].sign_ins == 1
    assert repository.profiles[(T, U)].devices[0][0] == "d1"


def test_a_prefetched_history_costs_no_read_and_the_update_is_left_to_the_caller(parts: Any) -> None:
    service, repository, _, _ = parts
    known = RiskProfile(devices=(("d1", 1),), sign_ins=3)
    attempt = Attempt(now=clock.now(), ip="198.51.100.1", location=BERLIN, country="DE", device="d1")
    risk = service.assess_sign_in(T, U, attempt, settings(), profile=known)
    assert "new_device" not in risk.assessment.signals  # assessed on the prefetched history
    update = service.history_after(T, U, risk)
    assert repository.calls == []  # no read, and the write rides in the caller's transaction
    assert update is not None and (update.tenant_id, update.user_id) == (T, U)
    assert update.profile.sign_ins == 4 and update.profile.countries == ("DE",)
    assert update.expires_at > clock.now()
    service.record_history(update)
    assert repository.calls == ["save_profile"] and repository.profiles[(T, U)] == update.profile


def test_a_sign_in_completed_later_reads_once_and_leaves_the_write_to_the_caller(parts: Any) -> None:
    service, repository, _, _ = parts
    repository.profiles[(T, U)] = RiskProfile(countries=("FR",), sign_ins=2)
    attempt = Attempt(now=clock.now(), ip="198.51.100.1", location=BERLIN, country="DE", device="d9")
    update = service.completed_history(T, U, attempt)
    assert repository.calls == ["get_profile"]
    assert update.profile.sign_ins == 3 and update.profile.countries == ("DE", "FR")
    assert update.profile.devices[0][0] == "d9" and update.profile.last_location == BERLIN


def test_a_blocked_sign_in_has_no_history_update(parts: Any) -> None:
    service, repository, _, _ = parts
    attempt = Attempt(now=clock.now(), ip="203.0.113.1")
    risk = service.assess_sign_in(T, U, attempt, settings(ip_deny=["203.0.113.0/24"]), profile=RiskProfile())
    assert risk.assessment.decision == "block"
    assert service.history_after(T, U, risk) is None
    service.record_history(None)
    assert repository.calls == []


def test_a_blocked_sign_in_is_not_remembered(parts: Any) -> None:
    service, repository, _, _ = parts
    attempt = Attempt(now=clock.now(), ip="203.0.113.1")
    risk = service.assess_sign_in(T, U, attempt, settings(ip_deny=["203.0.113.0/24"]))
    assert risk.assessment.decision == "block"
    service.record_sign_in(T, U, risk)
    assert repository.calls == ["get_profile"]


def test_an_unlocated_refresh_costs_no_read_and_a_located_one_reads_once(parts: Any) -> None:
    service, repository, _, _ = parts
    service.assess_refresh(T, U, Attempt(now=clock.now(), ip="198.51.100.1", kind="refresh"), settings())
    assert repository.calls == []
    located = Attempt(now=clock.now(), ip="198.51.100.1", location=BERLIN, country="DE", kind="refresh")
    service.assess_refresh(T, U, located, settings())
    assert repository.calls == ["get_profile"]


def test_a_disabled_policy_reads_nothing(parts: Any) -> None:
    service, repository, _, _ = parts
    risk = service.assess_sign_in(T, U, Attempt(now=clock.now(), ip="203.0.113.1"), settings(enabled=False))
    assert risk.assessment.decision == "allow" and repository.calls == []


def test_many_accounts_from_one_ip_block_the_ip_with_an_event_and_an_alert(parts: Any) -> None:
    service, repository, alerts, audit = parts
    policy = settings(stuffing_accounts_per_ip=3, stuffing_block_seconds=60, stuffing_window_seconds=STUFFING_WINDOW)
    assert service.record_failed_sign_in(T, "a@x.org", "203.0.113.9", policy) == []
    assert service.record_failed_sign_in(T, "b@x.org", "203.0.113.9", policy) == []
    [block] = service.record_failed_sign_in(T, "c@x.org", "203.0.113.9", policy)
    assert (block.kind, block.subject, block.blocked_until) == ("ip", "203.0.113.9", clock.now() + 60)
    assert repository.blocks["IP#203.0.113.9"]["blocked_until"] == clock.now() + 60
    assert service.record_failed_sign_in(T, "d@x.org", "203.0.113.9", policy) == []  # already blocked: one alert
    [(tenant, kind, payload)] = alerts.published
    assert (tenant, kind, payload["pattern"]) == (T, "credential_stuffing", "many_accounts_from_ip")
    [event] = audit.events
    assert (event.action, event.outcome, event.target_id) == ("fraud.block", "failure", "203.0.113.9")


def test_a_burst_across_a_window_boundary_counts_whole_and_older_windows_are_forgotten(parts: Any) -> None:
    service, _, _, _ = parts
    policy = settings(stuffing_accounts_per_ip=3, stuffing_block_seconds=60, stuffing_window_seconds=STUFFING_WINDOW)
    clock.advance(STUFFING_WINDOW - clock.now() % STUFFING_WINDOW - 2)  # two seconds before a window ends
    assert service.record_failed_sign_in(T, "a@x.org", "203.0.113.7", policy) == []
    assert service.record_failed_sign_in(T, "b@x.org", "203.0.113.7", policy) == []
    clock.advance(5)  # the next window
    [block] = service.record_failed_sign_in(T, "c@x.org", "203.0.113.7", policy)
    assert block.kind == "ip" and block.count == 3
    clock.advance(STUFFING_WINDOW)  # a and b are two windows back now; c is in the window before
    assert service.record_failed_sign_in(T, "d@x.org", "203.0.113.7", policy) == []


def test_many_ips_on_one_account_block_the_account_with_growing_durations(parts: Any) -> None:
    service, _, alerts, _ = parts
    policy = settings(
        stuffing_ips_per_account=3,
        stuffing_block_seconds=60,
        stuffing_max_block_seconds=200,
        stuffing_window_seconds=STUFFING_WINDOW,
    )
    subject, _ = throttle_subjects("victim@x.org", "")
    assert service.record_failed_sign_in(T, "victim@x.org", "198.51.0.1", policy) == []
    assert service.record_failed_sign_in(T, "victim@x.org", "198.51.0.2", policy) == []
    durations = []
    for n in range(3):  # the third IP blocks; after each block expires, the next new IP blocks again
        [block] = service.record_failed_sign_in(T, "victim@x.org", f"198.51.1.{n}", policy)
        assert block.kind == "account" and f"EMAIL#{block.subject}" == subject
        durations.append(block.blocked_until - clock.now())
        clock.advance(durations[-1] + 1)
    assert durations == [60, 120, 200]  # doubling, capped
    assert [a[2]["pattern"] for a in alerts.published] == ["many_ips_on_account"] * 3


def test_admin_lock_and_unlock_set_the_account_block(parts: Any) -> None:
    service, repository, _, _ = parts
    subject, _ = throttle_subjects("Someone@X.org", "")
    until = service.lock(T, "someone@x.org", 3600)
    assert repository.blocks[subject]["blocked_until"] == until == clock.now() + 3600
    service.unlock(T, "someone@x.org")
    assert repository.blocks[subject]["blocked_until"] == 0


def test_breached_passwords_come_from_the_shipped_list() -> None:
    assert is_breached("password123") and is_breached("Qwerty")
    assert not is_breached("correct horse battery staple 8b1f")


def test_details_are_flat_and_name_the_signals(parts: Any) -> None:
    service, repository, _, _ = parts
    repository.profiles[(T, U)] = RiskProfile(
        countries=("DE",), last_location=BERLIN, last_location_at=clock.now() - 600, sign_ins=3
    )
    sydney = Attempt(now=clock.now(), ip="198.51.100.1", location=Location(-33.9, 151.2, "AU"), country="AU")
    details = details_of(service.assess_sign_in(T, U, sydney, settings()).assessment)
    assert details["risk_decision"] == "mfa"
    assert details["risk_signals"] == "new_country impossible_travel"
    assert details["from_country"] == "DE" and details["country"] == "AU"
    assert all(isinstance(v, str | int) for v in details.values())
