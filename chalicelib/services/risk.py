"""Adaptive authentication and fraud response around the risk engine (``core.risk``).

A sign-in reads the user's history once (``assess_sign_in``; the password sign-in fetches it with the user, in the
same BatchGet) and, when it succeeds, writes it once (``history_after``: the write rides in the transaction that
stores the session and the code; ``record_history`` writes it on its own). A refresh reads the history only when the
request carries a location (CloudFront headers) and never writes it. Failed sign-ins feed credential-stuffing
counters: many accounts failing from one IP, or one account failing from many IPs, block that IP or account for a
while (doubling with each block), record a ``fraud.block`` audit event and publish an alert for the tenant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.core import clock
from chalicelib.core.digests import secret_digest
from chalicelib.core.ids import ROOT_NODE, TenantId, UserId
from chalicelib.core.ports import AlertPublisher, RiskRepository
from chalicelib.core.risk import Assessment, Attempt, HistoryUpdate, RiskProfile, assess, remember
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import Actor, AuditService
from chalicelib.services.authentication import throttle_subjects
from chalicelib.services.password_policy import is_common

log = logging.getLogger(__name__)

PROFILE_SECONDS = 400 * 86400  # a history unused this long expires with its TTL
SYSTEM_ACTOR = "gatehouse:risk"


@dataclass(frozen=True)
class SignInRisk:
    """An assessed sign-in: the decision and what it was based on (to be remembered if the sign-in completes)."""

    assessment: Assessment
    profile: RiskProfile
    attempt: Attempt


@dataclass(frozen=True)
class FraudBlock:
    kind: str  # "ip" (many accounts from one IP) or "account" (many IPs on one account)
    subject: str  # the IP, or the account's email digest
    blocked_until: int
    count: int  # distinct accounts (for an IP) or IPs (for an account) in the window


def is_breached(password: str) -> bool:
    """Offline check against the shipped list of the most common passwords from breach corpora."""
    return is_common(password)


def device_digest(device_id: str) -> str:
    return secret_digest(device_id)[:16] if device_id else ""


def details_of(assessment: Assessment) -> dict[str, Any]:
    """The decision and its signals as flat audit details."""
    details: dict[str, Any] = {
        "risk_decision": assessment.decision,
        "risk_score": assessment.score,
        "risk_signals": " ".join(assessment.signals),
    }
    for name in ("distance_km", "speed_kmh", "from_country", "country"):
        if name in assessment.facts:
            details[name] = assessment.facts[name]
    return details


class RiskService:
    def __init__(self, repository: RiskRepository, alerts: AlertPublisher, audit: AuditService) -> None:
        self._repository = repository
        self._alerts = alerts
        self._audit = audit

    def assess_sign_in(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        attempt: Attempt,
        settings: EffectiveSettings,
        *,
        profile: RiskProfile | None = None,
    ) -> SignInRisk:
        """The policy's decision on the user's history: ``profile`` when the caller fetched it already (with the
        user), else one read."""
        policy = settings.section("risk")
        if not policy["enabled"]:
            return SignInRisk(Assessment(0, (), "allow"), RiskProfile(), attempt)
        if profile is None:
            profile = self._repository.get_profile(tenant_id, user_id)
        return SignInRisk(assess(profile, attempt, policy), profile, attempt)

    def history_after(self, tenant_id: TenantId, user_id: UserId, risk: SignInRisk) -> HistoryUpdate | None:
        """The history that remembers the completed sign-in's device, place and hour (None for a blocked one),
        for the caller to store with the sign-in's other writes (``record_history`` stores it on its own)."""
        if risk.assessment.decision == "block":
            return None
        updated = remember(risk.profile, risk.attempt)
        return HistoryUpdate(tenant_id, user_id, updated, clock.now() + PROFILE_SECONDS)

    def record_history(self, update: HistoryUpdate | None) -> None:
        """One write: store a history update on its own."""
        if update is not None:
            profile, expires_at = update.profile, update.expires_at
            self._repository.save_profile(update.tenant_id, update.user_id, profile, expires_at=expires_at)

    def record_sign_in(self, tenant_id: TenantId, user_id: UserId, risk: SignInRisk) -> None:
        """One write: remember the completed sign-in's device, place and hour."""
        self.record_history(self.history_after(tenant_id, user_id, risk))

    def completed_history(self, tenant_id: TenantId, user_id: UserId, attempt: Attempt) -> HistoryUpdate:
        """A sign-in finished in a later request (after a second factor: its attempt travelled sealed, the history
        did not): one read; the update is stored by the caller, with the session and code."""
        profile = self._repository.get_profile(tenant_id, user_id)
        return HistoryUpdate(tenant_id, user_id, remember(profile, attempt), clock.now() + PROFILE_SECONDS)

    def assess_refresh(
        self, tenant_id: TenantId, user_id: UserId, attempt: Attempt, settings: EffectiveSettings
    ) -> Assessment:
        """No I/O unless the request is located: then one read of the history (for impossible travel)."""
        policy = settings.section("risk")
        if not policy["enabled"]:
            return Assessment(0, (), "allow")
        located = attempt.location is not None or bool(attempt.country)
        profile = self._repository.get_profile(tenant_id, user_id) if located else RiskProfile()
        return assess(profile, attempt, policy)

    def forget(self, tenant_id: TenantId, user_id: UserId) -> None:
        self._repository.delete_profile(tenant_id, user_id)

    # --- fraud response ------------------------------------------------------------------------------------

    def record_failed_sign_in(
        self, tenant_id: TenantId, email: str, ip: str, settings: EffectiveSettings, *, user_agent: str = ""
    ) -> list[FraudBlock]:
        """Count the failure for credential stuffing; block, audit and alert when a pattern appears."""
        policy = settings.section("risk")
        if not policy["enabled"]:
            return []
        now = clock.now()
        length = max(60, int(policy["stuffing_window_seconds"]))
        window = now // length
        email_subject, ip_subject = throttle_subjects(email, ip)
        accounts, ips = self._repository.count_stuffing(
            tenant_id, ip=ip or "unknown", account=email_subject, window=window, expires_at=(window + 2) * length
        )
        base, most = int(policy["stuffing_block_seconds"]), int(policy["stuffing_max_block_seconds"])
        blocks = []
        if accounts >= int(policy["stuffing_accounts_per_ip"]) > 0:
            until = self._repository.block(tenant_id, ip_subject, now=now, base=base, most=most)
            if until is not None:
                blocks.append(FraudBlock("ip", ip or "unknown", until, accounts))
        if ips >= int(policy["stuffing_ips_per_account"]) > 0:
            until = self._repository.block(tenant_id, email_subject, now=now, base=base, most=most)
            if until is not None:
                blocks.append(FraudBlock("account", email_subject.removeprefix("EMAIL#"), until, ips))
        for block in blocks:
            self._report(tenant_id, block, ip, user_agent)
        return blocks

    def _report(self, tenant_id: TenantId, block: FraudBlock, ip: str, user_agent: str) -> None:
        payload: dict[str, Any] = {
            "pattern": "many_accounts_from_ip" if block.kind == "ip" else "many_ips_on_account",
            "blocked": block.kind,
            "subject": block.subject,
            "blocked_until": block.blocked_until,
            "distinct": block.count,
        }
        actor = Actor(tenant_id, SYSTEM_ACTOR, ROOT_NODE, ip, user_agent)
        try:
            self._audit.record(actor, "fraud.block", block.subject, outcome="failure", details=payload)
        except Exception:  # the block is in place; losing its event must not turn the sign-in into a 500
            log.exception("fraud.block event could not be stored")
        self.alert(tenant_id, "credential_stuffing", payload)

    def alert(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        try:
            self._alerts.publish(tenant_id, kind, payload)
        except Exception:
            log.exception("security alert %s could not be published", kind)

    def lock(self, tenant_id: TenantId, email: str, seconds: int) -> int:
        """Refuse every sign-in to the account for ``seconds`` (admin lock); returns when the lock ends."""
        email_subject, _ = throttle_subjects(email, "")
        until = clock.now() + seconds
        self._repository.set_block(tenant_id, email_subject, until=until, expires_at=until + 86400)
        return until

    def unlock(self, tenant_id: TenantId, email: str) -> None:
        """Lift an admin lock and any fraud or brute-force block on the account."""
        email_subject, _ = throttle_subjects(email, "")
        self._repository.set_block(tenant_id, email_subject, until=0, expires_at=clock.now() + 86400)
