"""MFA audit events: which events an answer produces, failure reasons, and that no code or secret gets in."""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, RateLimited
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.services.audit import AuditService, Origin
from chalicelib.services.mfa.events import MfaEvents, failure_reason

USER = User(
    tenant_id=TenantId("t1"),
    user_id=UserId("u-1"),
    email="a@example.org",
    email_verified=True,
    status="active",
    profile={},
    tier_node_id=NodeId("org-7"),
    created_at=0,
    updated_at=0,
)
ORIGIN = Origin("192.0.2.4", "Safari/17", "shop-web")


class Appended:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        self.events.append(event)

    def list_events(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")


def events_of(run: Any) -> list[AuditEvent]:
    clock.reset()
    store = Appended()
    run(MfaEvents(AuditService(store)))  # type: ignore[arg-type]
    return store.events


def test_an_enrolment_answer_records_the_factor_and_its_new_recovery_codes() -> None:
    found = events_of(lambda e: e.passed(TenantId("t1"), USER, ORIGIN, kind="totp", enrolled=True, new_codes=10))
    assert [(x.action, x.details["kind"]) for x in found] == [
        ("mfa.enrolled", "totp"),
        ("mfa.enrolled", "recovery_code"),
    ]
    assert all(
        x.node_id == "org-7" and x.source_ip == "192.0.2.4" and x.details["client_id"] == "shop-web" for x in found
    )


def test_a_recovery_code_sign_in_is_a_passed_challenge_and_a_used_code() -> None:
    found = events_of(
        lambda e: e.passed(TenantId("t1"), USER, ORIGIN, kind="recovery_code", enrolled=False, new_codes=0)
    )
    assert [x.action for x in found] == ["mfa.challenge_passed", "mfa.recovery_code_used"]


def test_failures_name_a_reason_and_never_the_code() -> None:
    assert failure_reason(ChallengeClosed()) == "challenge_closed"
    assert failure_reason(CodeInvalid()) == "wrong_code"
    assert failure_reason(RateLimited(retry_after=5)) == "rate_limited"
    [event] = events_of(lambda e: e.failed(TenantId("t1"), USER, "totp", ORIGIN, CodeInvalid("123456 is wrong")))
    assert event.action == "mfa.challenge_failed" and event.outcome == "failure"
    assert event.details == {"client_id": "shop-web", "kind": "totp", "reason": "wrong_code"}
    assert "123456" not in repr(event)


def test_without_an_audit_service_nothing_happens() -> None:
    MfaEvents(None).passed(TenantId("t1"), USER, ORIGIN, kind="totp", enrolled=False, new_codes=0)
