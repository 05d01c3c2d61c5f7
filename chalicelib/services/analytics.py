"""Identity analytics for tenant admins, computed incrementally from the audit event stream.

Each event adds 1 to a few daily counters (atomic ADD) in three scopes: the whole tenant, the event's tier node and
its client. Nothing ever scans a table: a report reads one small partition per day. Active users are counted once
per day through a conditional marker per user; MFA adoption is the share of sign-ins that proved a second factor.
Delivery is at least once (a stream batch can be retried), so a retried batch can count an event twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent
from chalicelib.core.errors import InvalidInput
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import AnalyticsRepository

MAX_DAYS = 90
ALL = "ALL"
LOCAL_METHODS = frozenset({"pwd", "password", "passkey", "webauthn", ""})
REGISTRATION_ACTIONS = frozenset({"registration.created", "user.registered", "admin.user.create", "scim.user.create"})


def day_of(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d")


def metrics_of(event: AuditEvent) -> list[str]:
    """The counters one event adds to (per scope)."""
    details: Mapping[str, Any] = event.details
    signals = [s for s in str(details.get("risk_signals") or "").split() if s]
    if event.action == "signin.success":
        method = str(details.get("method") or "")
        found = ["signins", "signins_federated" if method not in LOCAL_METHODS else "signins_local"]
        if "mfa" in str(details.get("amr") or "").split():
            found.append("signins_mfa")
        if details.get("risk_decision"):
            found.append(f"decision:{details['risk_decision']}")
        return found + [f"signal:{s}" for s in signals]
    if event.action == "signin.failure":
        reason = str(details.get("reason") or "unknown")[:40]
        found = ["failures", f"failure:{reason}"]
        if details.get("risk_decision"):
            found.append(f"decision:{details['risk_decision']}")
        return found + [f"signal:{s}" for s in signals]
    if event.action in REGISTRATION_ACTIONS and event.outcome == "success":
        return ["registrations"]
    if event.action.startswith("mfa.") and event.outcome == "success":
        return [f"mfa:{event.action[4:]}"[:48]]
    if event.action == "fraud.block":
        return ["fraud_blocks"]
    return []


def scopes_of(event: AuditEvent) -> list[str]:
    scopes = [ALL]
    if event.node_id:
        scopes.append(f"NODE#{event.node_id}")
    client = event.details.get("client_id")
    if isinstance(client, str) and client:
        scopes.append(f"CLIENT#{client}")
    return scopes


@dataclass(frozen=True)
class DayReport:
    day: str
    counters: dict[str, int]
    active_users: int


class AnalyticsService:
    def __init__(self, repository: AnalyticsRepository) -> None:
        self._repository = repository

    def count(self, event: AuditEvent) -> int:
        """Add one stream event to its counters; returns how many counters moved."""
        metrics = metrics_of(event)
        if not metrics:
            return 0
        day = day_of(event.occurred_at)
        scopes = scopes_of(event)
        self._repository.add(event.tenant_id, day, [(scope, metric) for scope in scopes for metric in metrics])
        if event.action == "signin.success" and event.target_id:
            self._repository.mark_active(event.tenant_id, day, scopes, event.target_id)
        return len(metrics) * len(scopes)

    def report(self, tenant_id: TenantId, *, days: int, scope: str = ALL) -> list[DayReport]:
        """Oldest first: the counters of the last ``days`` days (today included) in one scope."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"days must be 1-{MAX_DAYS}.", fields={"days": "invalid"})
        today = clock.now() // 86400
        reports = []
        for offset in range(days - 1, -1, -1):
            day = day_of((today - offset) * 86400)
            counters = self._repository.day(tenant_id, day, scope)
            active = counters.pop("active_users", 0)
            reports.append(DayReport(day, counters, active))
        return reports
