"""Password sign-in with brute-force throttling per account and per source IP.

Counters are kept per IP and per *email digest* (not per account), so an address that has no account is
throttled exactly like one that has: responses never reveal whether an account exists. Each block lasts twice
as long as the previous one, up to the tier's maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import AuditOutcome, User
from chalicelib.core.errors import AccountDisabled, AccountNotVerified, InvalidCredentials, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import CredentialRepository, ThrottleRepository, UserRepository
from chalicelib.core.risk import RiskProfile
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import SYSTEM, AuditService, Origin
from chalicelib.services.passwords import hash_password, needs_rehash, verify_password

WINDOW_SECONDS = 900
IP_THRESHOLD_FACTOR = 4  # an IP may fail for a few accounts before it is blocked (NAT, shared offices)


@dataclass(frozen=True)
class PasswordAuthentication:
    user: User
    amr: tuple[str, ...] = ("pwd",)
    # Identifies the password that was checked (a digest of its stored hash), so a follow-up step such as a
    # required password change can prove it acts on that same password, and works once.
    password_version: str = ""
    # Failed attempts in the current window before this success (risk signals: failed-attempt velocity).
    account_failures: int = 0
    ip_failures: int = 0
    # The user's sign-in history, read with the user when the caller asked for it (``with_risk_profile``).
    risk_profile: RiskProfile | None = None


def _subjects(email: str, ip: str) -> tuple[str, str]:
    return f"EMAIL#{secret_digest(email.strip().lower())[:40]}", f"IP#{ip or 'unknown'}"


def throttle_subjects(email: str, ip: str) -> tuple[str, str]:
    """The throttle subjects (account email digest, source IP) a sign-in attempt is counted and blocked under."""
    return _subjects(email, ip)


def _recent_failures(throttle: dict[str, int] | None, now: int) -> int:
    if not throttle or throttle.get("window_start", 0) < now - WINDOW_SECONDS:
        return 0
    return int(throttle.get("failures", 0))


class PasswordAuthenticator:
    def __init__(self, users: UserRepository, credentials: CredentialRepository, throttles: ThrottleRepository) -> None:
        self._users = users
        self._credentials = credentials
        self._throttles = throttles

    def authenticate(
        self,
        tenant_id: TenantId,
        email: str,
        password: str,
        *,
        ip: str,
        settings: EffectiveSettings,
        with_risk_profile: bool = False,
    ) -> PasswordAuthentication:
        """Two reads: the login record with both throttle counters, then (once the password verified) the user,
        and with ``with_risk_profile`` the user's sign-in history in the same BatchGet."""
        now = clock.now()
        email_subject, ip_subject = _subjects(email, ip)
        login, throttles = self._credentials.get_login_with_throttles(tenant_id, email, (email_subject, ip_subject))
        blocked_until = max((t["blocked_until"] for t in throttles.values()), default=0)
        if blocked_until > now:
            raise RateLimited(retry_after=blocked_until - now, detail="throttled")
        if not verify_password(login.password_hash if login else None, password) or login is None:
            self._record_failure(tenant_id, email_subject, ip_subject, now, settings)
            failure = InvalidCredentials(detail="password mismatch or unknown account")
            failure.user_id = login.user_id if login else None
            raise failure
        if throttles.get(email_subject, {}).get("failures"):
            self._throttles.reset(tenant_id, email_subject)
        risk_profile: RiskProfile | None = None
        if with_risk_profile:
            user, risk_profile = self._users.get_with_risk_profile(tenant_id, login.user_id)
        else:
            user = self._users.get(tenant_id, login.user_id)
        if user is None or user.status == "disabled":
            disabled = AccountDisabled(detail="disabled or missing user record")
            disabled.user_id = login.user_id
            raise disabled
        if user.status == "pending" or not user.email_verified:
            unverified = AccountNotVerified()
            unverified.user_id = login.user_id
            raise unverified
        stored_hash = login.password_hash
        if stored_hash and needs_rehash(stored_hash):
            stored_hash = hash_password(password)
            self._credentials.set_password_hash(tenant_id, login.email, stored_hash)
        return PasswordAuthentication(
            user=user,
            password_version=password_version(stored_hash),  # of the hash now stored (after a rehash: the new one)
            account_failures=_recent_failures(throttles.get(email_subject), now),
            ip_failures=_recent_failures(throttles.get(ip_subject), now),
            risk_profile=risk_profile,
        )

    def _record_failure(
        self, tenant_id: TenantId, email_subject: str, ip_subject: str, now: int, settings: EffectiveSettings
    ) -> None:
        policy = settings.section("login")
        base, most = int(policy["lock_seconds"]), int(policy["max_lock_seconds"])
        self._throttles.record_failure(
            tenant_id,
            email_subject,
            now=now,
            window=WINDOW_SECONDS,
            threshold=int(policy["account_failures_before_lock"]),
            base_block=base,
            max_block=most,
        )
        self._throttles.record_failure(
            tenant_id,
            ip_subject,
            now=now,
            window=WINDOW_SECONDS,
            threshold=int(policy["ip_failures_before_delay"]) * IP_THRESHOLD_FACTOR,
            base_block=max(1, base // 10),
            max_block=most,
        )


def password_version(password_hash: str | None) -> str:
    return secret_digest(password_hash or "")[:32]


def is_outdated(password: str, policy: dict[str, object], email: str) -> bool:
    """A password that the tier's current policy would refuse as new (too short, or among the most common):
    cheap checks only, so it can run at every sign-in of the native API."""
    from chalicelib.services.password_policy import is_common

    too_short = len(password) < int(str(policy.get("min_length", 0)))
    local = email.split("@", 1)[0].lower()
    return (
        too_short
        or (bool(policy.get("reject_common", True)) and is_common(password))
        or (len(local) >= 3 and local in password.lower())
    )


class PasswordChanger:
    """A required password change right after sign-in (native API ``new_password_required``, the hosted login's
    "Choose a new password" page): recorded as ``account.password_changed`` (``reason: outdated``), or
    ``account.password_change_failed`` with its reason."""

    def __init__(self, credentials: CredentialRepository, audit: AuditService | None = None) -> None:
        self._credentials = credentials
        self._audit = audit

    def replace_outdated(
        self,
        tenant_id: TenantId,
        user: User,
        new_password: str,
        *,
        version: str,
        settings: EffectiveSettings,
        origin: Origin | None = None,
    ) -> None:
        """Set ``new_password`` (checked by the full policy, and not the current one) if the password is still the
        one signed in with; CodeInvalid otherwise (it was changed meanwhile, or this step was used already)."""
        from chalicelib.core.digests import constant_time_equals
        from chalicelib.core.errors import CodeInvalid, InvalidInput
        from chalicelib.services.password_policy import check_new_password

        login = self._credentials.get_password_login(tenant_id, user.email)
        if login is None or not version or not constant_time_equals(password_version(login.password_hash), version):
            self._note(tenant_id, user, origin, "account.password_change_failed", reason="stale")
            raise CodeInvalid(detail="password changed since sign-in")
        inputs = [str(v) for v in user.profile.values() if isinstance(v, str)]
        try:
            checked = check_new_password(
                new_password, settings.section("password_policy"), email=user.email, user_inputs=inputs
            )
            if verify_password(login.password_hash, checked):
                raise InvalidInput(
                    "Choose a password different from the current one.", fields={"password": "unchanged"}
                )
        except InvalidInput as error:
            reason = "unchanged" if error.fields.get("password") == "unchanged" else "weak_password"
            self._note(tenant_id, user, origin, "account.password_change_failed", reason=reason)
            raise
        if not self._credentials.set_password_hash(
            tenant_id, user.email, hash_password(checked), replaces=login.password_hash
        ):  # a concurrent change (or this very step, posted twice at once) came first
            self._note(tenant_id, user, origin, "account.password_change_failed", reason="stale")
            raise CodeInvalid(detail="password changed since sign-in")
        self._note(tenant_id, user, origin, "account.password_changed", reason="outdated", outcome="success")

    def _note(
        self,
        tenant_id: TenantId,
        user: User,
        origin: Origin | None,
        action: str,
        *,
        reason: str,
        outcome: AuditOutcome = "failure",
    ) -> None:
        if self._audit is None:
            return
        self._audit.record_about(tenant_id, user, action, origin or SYSTEM, outcome=outcome, details={"reason": reason})
