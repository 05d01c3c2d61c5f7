"""Second factors of users: enrollment, challenges and their verification, and the user's own management.

A challenge is single-use and locked after ``MAX_ATTEMPTS`` wrong answers; wrong answers are also counted per
user (throttle subject ``MFA#<user>``) so restarting the sign-in does not buy more guesses. Every wrong answer
gets the same reply, whatever was wrong and however close it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chalicelib.core import clock
from chalicelib.core.entities import ANY_USER, FactorUse, MfaChallenge, MfaEnrollment, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, InvalidInput, NotFound, RateLimited
from chalicelib.core.ids import TenantId, new_id
from chalicelib.core.ports import EmailSender, KeyEncryption, MfaRepository, SmsSender, ThrottleRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import SYSTEM, AuditService, Origin
from chalicelib.services.mfa import FACTORS, Answer, Factor, recovery_codes, totp
from chalicelib.services.mfa import codes as delivered
from chalicelib.services.mfa.events import MfaEvents

MAX_ATTEMPTS = 5
CHALLENGE_SECONDS = 600
MAX_SENDS = 5
SENDS_PER_HOUR = 10
USER_FAILURES_BEFORE_BLOCK = 10
USER_WINDOW_SECONDS = 900
USER_BLOCK_SECONDS = 300
USER_MAX_BLOCK_SECONDS = 3600
MAX_LABEL = 64
WRONG_CODE = "The code is not valid. Check it and try again."


@dataclass(frozen=True)
class Verified:
    """A challenge answered: which enrollment, its ``amr`` and, for a first factor, the new recovery codes."""

    enrollment: MfaEnrollment
    amr: str
    recovery_codes: tuple[str, ...] = ()
    enrolled: bool = False  # the answer confirmed a new enrollment (not a sign-in)


@dataclass(frozen=True)
class TotpSetup:
    enrollment: MfaEnrollment
    challenge: MfaChallenge
    secret: str
    uri: str


def allowed_kinds(settings: EffectiveSettings) -> frozenset[str]:
    if settings.get("mfa", "mode") == "off":
        return frozenset()
    return frozenset(k for k in settings.get("mfa", "factors") if k in FACTORS)


def usable_kinds(user: User, settings: EffectiveSettings) -> frozenset[str]:
    """Kinds the user can answer a challenge with (recovery codes only beside a real factor)."""
    kinds = user.mfa_kinds & allowed_kinds(settings)
    if not any(FACTORS[k].primary for k in kinds):
        return frozenset()
    return kinds


def enrollable_kinds(settings: EffectiveSettings) -> tuple[str, ...]:
    order = ("totp", "sms_otp", "email_otp")
    return tuple(k for k in order if k in allowed_kinds(settings))


def _context(enrollment: MfaEnrollment) -> dict[str, str]:
    return {
        "tenant": enrollment.tenant_id,
        "user": enrollment.user_id,
        "purpose": "mfa-secret",
        "enrollment": enrollment.enrollment_id,
    }


class MfaService:
    def __init__(
        self,
        repository: MfaRepository,
        throttles: ThrottleRepository,
        encryption: KeyEncryption,
        email: EmailSender,
        sms: SmsSender,
        audit: AuditService | None = None,
    ) -> None:
        self._repository = repository
        self._throttles = throttles
        self._encryption = encryption
        self._email = email
        self._sms = sms
        self.events = MfaEvents(audit)  # public: the factor services built on this one (passkeys) record through it

    # --- the secret box the factors use ----------------------------------------------------------------------

    def secret_of(self, enrollment: MfaEnrollment) -> bytes:
        if enrollment.encrypted_secret is None:
            raise InvalidInput(detail="enrollment has no secret")
        return self._encryption.decrypt(enrollment.encrypted_secret, _context(enrollment))

    # --- reading -------------------------------------------------------------------------------------------

    def enrollments(self, tenant_id: TenantId, user: User, *, active_only: bool = True) -> list[MfaEnrollment]:
        found = self._repository.list_enrollments(tenant_id, user.user_id)
        return sorted(
            (e for e in found if e.status == "active" or not active_only), key=lambda e: (e.created_at, e.kind)
        )

    def methods(self, tenant_id: TenantId, user: User, settings: EffectiveSettings) -> list[MfaEnrollment]:
        """The active enrollments a sign-in challenge may be answered with under these settings."""
        usable = usable_kinds(user, settings)
        return [e for e in self.enrollments(tenant_id, user) if e.kind in usable]

    # --- challenges ------------------------------------------------------------------------------------------

    def start_challenge(self, tenant_id: TenantId, user: User, *, enrollment_id: str | None = None) -> MfaChallenge:
        now = clock.now()
        challenge = MfaChallenge(
            tenant_id=tenant_id,
            challenge_id=new_id(),
            user_id=user.user_id,
            purpose="enroll" if enrollment_id else "login",
            created_at=now,
            expires_at=now + CHALLENGE_SECONDS,
            enrollment_id=enrollment_id,
        )
        self._repository.create_challenge(challenge)
        return challenge

    def send_code(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        enrollment: MfaEnrollment,
        settings: EffectiveSettings,
        *,
        service_name: str,
    ) -> None:
        """Send a fresh code for an email or SMS enrollment (the previous one stops working)."""
        factor = FACTORS.get(enrollment.kind)
        if factor is None or not factor.delivers_code or not enrollment.target:
            raise InvalidInput("This method does not send codes.")
        now = clock.now()
        self._count_send(tenant_id, enrollment, now)
        code = delivered.new_code()
        self._repository.set_code(
            tenant_id,
            challenge_id,
            code_digest=delivered.code_digest(challenge_id, code),
            enrollment_id=enrollment.enrollment_id,
            code_expires_at=now + int(settings.get("mfa", "code_seconds")),
            now=now,
            cooldown=int(settings.get("mfa", "resend_cooldown_seconds")),
            max_sends=MAX_SENDS,
        )
        minutes = max(1, int(settings.get("mfa", "code_seconds")) // 60)
        text = f"{code} is your {service_name} verification code. It expires in {minutes} minutes."
        if enrollment.kind == "sms_otp":
            self._sms.send(to=enrollment.target, text=text)
        else:
            body = f"{text}\n\nIf this was not you, you can ignore this email; someone may know your password."
            self._email.send(to=enrollment.target, subject=f"Your {service_name} code: {code}", text=body)

    def _count_send(self, tenant_id: TenantId, enrollment: MfaEnrollment, now: int) -> None:
        """At most ``SENDS_PER_HOUR`` codes per user, whatever the challenge: nobody can use us to flood a phone
        or an inbox, or to pump SMS to premium numbers through fresh enrollments."""
        state = self._throttles.record_failure(
            tenant_id,
            f"MFASEND#{enrollment.user_id}",
            now=now,
            window=3600,
            threshold=SENDS_PER_HOUR + 1,
            base_block=3600,
            max_block=86400,
        )
        if state["blocked_until"] > now:
            raise RateLimited(retry_after=state["blocked_until"] - now, detail="code sends per user")

    def verify(
        self,
        tenant_id: TenantId,
        user: User,
        challenge_id: str,
        kind: str,
        code: str,
        settings: EffectiveSettings,
        *,
        origin: Origin = SYSTEM,
    ) -> Verified:
        """Check an answer to a challenge; raises CodeInvalid (wrong, used, locked, expired) or RateLimited.
        Every answer is an audit event (``mfa.enrolled``, ``mfa.challenge_passed``, ``mfa.challenge_failed``)."""
        try:
            verified = self._verify(tenant_id, user, challenge_id, kind, code, settings)
        except (CodeInvalid, RateLimited) as error:
            self.events.failed(tenant_id, user, kind, origin, error)
            raise
        self.events.passed(
            tenant_id,
            user,
            origin,
            kind=verified.enrollment.kind,
            enrolled=verified.enrolled,
            new_codes=len(verified.recovery_codes),
        )
        return verified

    def _verify(
        self,
        tenant_id: TenantId,
        user: User,
        challenge_id: str,
        kind: str,
        code: str,
        settings: EffectiveSettings,
    ) -> Verified:
        now = clock.now()
        subject = f"MFA#{user.user_id}"
        challenge, throttle = self._repository.get_challenge_with_throttle(tenant_id, challenge_id, subject)
        if throttle.get("blocked_until", 0) > now:
            raise RateLimited(retry_after=throttle["blocked_until"] - now, detail="mfa throttled")
        if challenge is None or challenge.user_id not in (user.user_id, ANY_USER) or challenge.consumed_at:
            raise ChallengeClosed(detail="challenge unknown or used")
        if challenge.expires_at <= now or challenge.attempts >= MAX_ATTEMPTS:
            raise ChallengeClosed(detail="challenge locked or expired")
        factor = FACTORS.get(kind)
        if challenge.user_id == ANY_USER and kind != "webauthn":
            factor = None  # a passwordless challenge is answered by a passkey only
        if factor is not None:
            answer = Answer(code=code if kind == "webauthn" else code.strip()[:64], challenge=challenge, now=now)
            for enrollment in self._candidates(tenant_id, user, challenge, kind, settings):
                use = factor.match(enrollment, answer, self)
                if use is not None:
                    return self.complete(tenant_id, user, challenge, enrollment, factor, use, settings, now)
        if self.count_wrong_answer(tenant_id, challenge, subject, now) >= MAX_ATTEMPTS:
            raise ChallengeClosed(detail="locked by this wrong code")
        raise CodeInvalid(WRONG_CODE, detail="wrong code")

    def _candidates(
        self, tenant_id: TenantId, user: User, challenge: MfaChallenge, kind: str, settings: EffectiveSettings
    ) -> list[MfaEnrollment]:
        if kind not in allowed_kinds(settings):
            return []
        enrollments = self._repository.list_enrollments(tenant_id, user.user_id)
        if challenge.purpose == "enroll":
            return [e for e in enrollments if e.enrollment_id == challenge.enrollment_id and e.kind == kind]
        if kind not in usable_kinds(user, settings):
            return []
        return [e for e in enrollments if e.kind == kind and e.status == "active"]

    def complete(
        self,
        tenant_id: TenantId,
        user: User,
        challenge: MfaChallenge,
        enrollment: MfaEnrollment,
        factor: Factor,
        use: FactorUse,
        settings: EffectiveSettings,
        now: int,
    ) -> Verified:
        new_codes: list[str] = []
        if challenge.purpose == "enroll":
            recovery = None
            if "recovery_code" in allowed_kinds(settings) and "recovery_code" not in user.mfa_kinds:
                new_codes = recovery_codes.new_codes()
                recovery = self._recovery_enrollment(tenant_id, user, new_codes, now)
            use = replace(use, activate=True, recovery=recovery)
        try:
            self._repository.complete_challenge(
                tenant_id, user.user_id, challenge.challenge_id, use, now=now, max_attempts=MAX_ATTEMPTS
            )
        except CodeInvalid as error:
            # Lost a race with another answer to the same challenge, or the TOTP step was used meanwhile.
            self.count_wrong_answer(tenant_id, challenge, f"MFA#{user.user_id}", now)
            raise CodeInvalid(WRONG_CODE, detail="completion refused") from error
        self._throttles.reset(tenant_id, f"MFA#{user.user_id}")
        return Verified(
            enrollment=enrollment,
            amr=factor.amr,
            recovery_codes=tuple(new_codes),
            enrolled=challenge.purpose == "enroll",
        )

    def count_wrong_answer(self, tenant_id: TenantId, challenge: MfaChallenge, subject: str, now: int) -> int:
        attempts = self._repository.record_wrong_answer(tenant_id, challenge.challenge_id, max_attempts=MAX_ATTEMPTS)
        self._throttles.record_failure(
            tenant_id,
            subject,
            now=now,
            window=USER_WINDOW_SECONDS,
            threshold=USER_FAILURES_BEFORE_BLOCK,
            base_block=USER_BLOCK_SECONDS,
            max_block=USER_MAX_BLOCK_SECONDS,
        )
        return attempts

    # --- enrollment ----------------------------------------------------------------------------------------

    def begin_totp(self, tenant_id: TenantId, user: User, *, issuer: str, label: str = "") -> TotpSetup:
        """A pending authenticator-app enrollment and the challenge its first code answers."""
        secret = totp.new_secret()
        enrollment = self.new_pending(tenant_id, user, "totp", label or "Authenticator app")
        sealed = self._encryption.encrypt(secret.encode(), _context(enrollment))
        enrollment = replace(enrollment, encrypted_secret=sealed)
        self._repository.add_enrollment(enrollment)
        challenge = self.start_challenge(tenant_id, user, enrollment_id=enrollment.enrollment_id)
        uri = totp.provisioning_uri(secret, account=user.email, issuer=issuer)
        return TotpSetup(enrollment=enrollment, challenge=challenge, secret=secret, uri=uri)

    def begin_delivery(
        self,
        tenant_id: TenantId,
        user: User,
        kind: str,
        target: str,
        settings: EffectiveSettings,
        *,
        service_name: str,
    ) -> tuple[MfaEnrollment, MfaChallenge]:
        """A pending email or SMS enrollment; a code goes to ``target`` to prove it before it is used."""
        if kind not in ("email_otp", "sms_otp") or kind not in allowed_kinds(settings):
            raise InvalidInput("This method is not available.", fields={"kind": "invalid"})
        label = mask_target(kind, target)
        enrollment = replace(self.new_pending(tenant_id, user, kind, label), target=target)
        self._repository.add_enrollment(enrollment)
        challenge = self.start_challenge(tenant_id, user, enrollment_id=enrollment.enrollment_id)
        self.send_code(tenant_id, challenge.challenge_id, enrollment, settings, service_name=service_name)
        return enrollment, challenge

    def pending_enrollment(self, tenant_id: TenantId, user: User, enrollment_id: str) -> MfaEnrollment:
        for enrollment in self._repository.list_enrollments(tenant_id, user.user_id):
            if enrollment.enrollment_id == enrollment_id and enrollment.status == "pending":
                return enrollment
        raise NotFound("This setup has expired. Please start again.")

    def new_pending(self, tenant_id: TenantId, user: User, kind: str, label: str) -> MfaEnrollment:
        return MfaEnrollment(
            tenant_id=tenant_id,
            user_id=user.user_id,
            enrollment_id=new_id(),
            kind=kind,
            label=label,
            status="pending",
            created_at=clock.now(),
        )

    def _recovery_enrollment(self, tenant_id: TenantId, user: User, codes: list[str], now: int) -> MfaEnrollment:
        return MfaEnrollment(
            tenant_id=tenant_id,
            user_id=user.user_id,
            enrollment_id=recovery_codes.ENROLLMENT_ID,
            kind="recovery_code",
            label="Recovery codes",
            status="active",
            created_at=now,
            confirmed_at=now,
            code_digests=tuple(recovery_codes.code_digest(tenant_id, user.user_id, c) for c in codes),
        )

    # --- management by the user ----------------------------------------------------------------------------

    def regenerate_recovery_codes(self, tenant_id: TenantId, user: User, *, origin: Origin = SYSTEM) -> list[str]:
        """Ten new codes replacing the old ones (which stop working); shown once."""
        if not any(FACTORS[k].primary for k in user.mfa_kinds if k in FACTORS):
            raise InvalidInput("Set up another method first.")
        codes = recovery_codes.new_codes()
        self._repository.replace_recovery(self._recovery_enrollment(tenant_id, user, codes, clock.now()))
        self.events.note(tenant_id, user, "mfa.recovery_codes_regenerated", origin, kind="recovery_code")
        return codes

    def rename(self, tenant_id: TenantId, user: User, enrollment_id: str, label: str) -> None:
        label = " ".join(label.split())
        if not label or len(label) > MAX_LABEL:
            raise InvalidInput(f"Use 1 to {MAX_LABEL} characters.", fields={"label": "invalid"})
        self._find(tenant_id, user, enrollment_id)
        self._repository.rename_enrollment(tenant_id, user.user_id, enrollment_id, label)

    def remove(self, tenant_id: TenantId, user: User, enrollment_id: str, *, origin: Origin = SYSTEM) -> None:
        """Remove a factor (the caller has re-authenticated the user); without a real factor left, the recovery
        codes go too. Each removed factor is an ``mfa.removed`` event."""
        enrollment = self._find(tenant_id, user, enrollment_id)
        self._repository.remove_enrollment(tenant_id, user.user_id, enrollment)
        self.events.note(tenant_id, user, "mfa.removed", origin, kind=enrollment.kind)
        remaining = [e for e in self.enrollments(tenant_id, user) if e.enrollment_id != enrollment_id]
        if not any(FACTORS[e.kind].primary for e in remaining if e.kind in FACTORS):
            for leftover in remaining:
                self._repository.remove_enrollment(tenant_id, user.user_id, leftover)
                self.events.note(tenant_id, user, "mfa.removed", origin, kind=leftover.kind, reason="no_factor_left")

    def reset(self, tenant_id: TenantId, user: User) -> int:
        """Remove every factor of the user, pending ones included (an admin's "reset MFA", for a user who lost
        all of them): the next sign-in enrolls afresh where the policy requires MFA. Returns how many went; a
        factor removed concurrently is simply gone already."""
        removed = 0
        for enrollment in self._repository.list_enrollments(tenant_id, user.user_id):
            try:
                self._repository.remove_enrollment(tenant_id, user.user_id, enrollment)
                removed += 1
            except NotFound:
                continue
        return removed

    def _find(self, tenant_id: TenantId, user: User, enrollment_id: str) -> MfaEnrollment:
        for enrollment in self._repository.list_enrollments(tenant_id, user.user_id):
            if enrollment.enrollment_id == enrollment_id:
                return enrollment
        raise NotFound("Unknown factor.")


def mask_target(kind: str, target: str) -> str:
    """What a page may show of an address or number: ``a•••@example.com``, ``•••• 4567``."""
    if kind == "sms_otp":
        return f"•••• {target[-4:]}"
    local, _, domain = target.partition("@")
    return f"{local[:1]}•••@{domain}"
