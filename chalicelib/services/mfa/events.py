"""The audit events of second factors: enrolled, removed, challenge passed or failed, recovery code used.

Written right after the state change they describe (answering a challenge is one conditional write of the MFA
items, not a transaction this could join); losing one is logged, never an error for the user. Never a code,
secret or phone number: the factor's kind and, for failures, a reason.
"""

from __future__ import annotations

from chalicelib.core.entities import User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.services.audit import AuditService, Origin, Scalar


def failure_reason(error: Exception) -> str:
    if isinstance(error, ChallengeClosed):
        return "challenge_closed"  # locked by too many wrong answers, expired or already used
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, CodeInvalid):
        return "wrong_code"
    return "error"


class MfaEvents:
    def __init__(self, audit: AuditService | None) -> None:
        self._audit = audit

    def note(self, tenant_id: TenantId, user: User, action: str, origin: Origin, **details: Scalar) -> None:
        self._write(tenant_id, user, action, origin, details, failed=False)

    def passed(
        self, tenant_id: TenantId, user: User, origin: Origin, *, kind: str, enrolled: bool, new_codes: int
    ) -> None:
        if enrolled:
            self.note(tenant_id, user, "mfa.enrolled", origin, kind=kind)
            if new_codes:
                self.note(tenant_id, user, "mfa.enrolled", origin, kind="recovery_code", count=new_codes)
            return
        self.note(tenant_id, user, "mfa.challenge_passed", origin, kind=kind)
        if kind == "recovery_code":
            self.note(tenant_id, user, "mfa.recovery_code_used", origin, kind=kind)

    def failed(self, tenant_id: TenantId, user: User, kind: str, origin: Origin, error: Exception) -> None:
        details: dict[str, Scalar] = {"kind": kind[:32], "reason": failure_reason(error)}
        self._write(tenant_id, user, "mfa.challenge_failed", origin, details, failed=True)

    def _write(
        self, tenant_id: TenantId, user: User, action: str, origin: Origin, details: dict[str, Scalar], *, failed: bool
    ) -> None:
        if self._audit is None:
            return
        self._audit.record_about(
            tenant_id, user, action, origin, outcome="failure" if failed else "success", details=details
        )
