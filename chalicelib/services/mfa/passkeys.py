"""Passkey ceremonies (WebAuthn): registration, assertion options for a sign-in challenge, passwordless start.

The checks themselves are the ``webauthn`` factor's; answers go through ``MfaService.verify`` like any factor, so
single use, the attempt limit and throttling apply unchanged.
"""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.digests import b64url, b64url_decode
from chalicelib.core.entities import ANY_USER, FactorUse, MfaChallenge, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, InvalidInput, RateLimited
from chalicelib.core.ids import TenantId, UserId, new_id
from chalicelib.core.ports import MfaRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import SYSTEM, Origin
from chalicelib.services.mfa import FACTORS, webauthn
from chalicelib.services.mfa.service import (
    CHALLENGE_SECONDS,
    MAX_ATTEMPTS,
    MAX_LABEL,
    MAX_SENDS,
    MfaService,
    Verified,
    allowed_kinds,
)


def webauthn_challenge(challenge: MfaChallenge) -> bytes:
    return b64url_decode(challenge.code_digest or "")


class PasskeyService:
    def __init__(self, mfa: MfaService, repository: MfaRepository) -> None:
        self._mfa = mfa
        self._repository = repository

    def begin(
        self, tenant_id: TenantId, user: User, settings: EffectiveSettings, *, rp_name: str, label: str = ""
    ) -> tuple[MfaChallenge, dict[str, object]]:
        """A pending passkey and the registration options (``publicKey``) the app passes to the platform."""
        if "webauthn" not in allowed_kinds(settings):
            raise InvalidInput("Passkeys are not available.", fields={"kind": "invalid"})
        enrollment = self._mfa.new_pending(
            tenant_id, user, "webauthn", " ".join(label.split())[:MAX_LABEL] or "Passkey"
        )
        self._repository.add_enrollment(enrollment)
        ceremony = webauthn.new_challenge()
        challenge = self._new_challenge(tenant_id, user.user_id, enrollment.enrollment_id, ceremony)
        self._repository.create_challenge(challenge)
        existing = [e.target for e in self._mfa.enrollments(tenant_id, user) if e.kind == "webauthn" and e.target]
        return challenge, webauthn.registration_options(user, ceremony, rp_name=rp_name, exclude=existing)

    def finish(
        self,
        tenant_id: TenantId,
        user: User,
        challenge_id: str,
        credential: str,
        settings: EffectiveSettings,
        *,
        origin: Origin = SYSTEM,
    ) -> Verified:
        """Verify the attestation (user verification required) and activate the passkey; an ``mfa.enrolled`` or
        ``mfa.challenge_failed`` audit event either way, as for every other factor."""
        try:
            verified = self._finish(tenant_id, user, challenge_id, credential, settings)
        except (CodeInvalid, RateLimited) as error:
            self._mfa.events.failed(tenant_id, user, "webauthn", origin, error)
            raise
        self._mfa.events.passed(
            tenant_id, user, origin, kind="webauthn", enrolled=True, new_codes=len(verified.recovery_codes)
        )
        return verified

    def _finish(
        self, tenant_id: TenantId, user: User, challenge_id: str, credential: str, settings: EffectiveSettings
    ) -> Verified:
        now = clock.now()
        subject = f"MFA#{user.user_id}"
        challenge, throttle = self._repository.get_challenge_with_throttle(tenant_id, challenge_id, subject)
        if throttle.get("blocked_until", 0) > now:
            raise RateLimited(retry_after=throttle["blocked_until"] - now, detail="mfa throttled")
        if challenge is None or challenge.user_id != user.user_id or challenge.purpose != "enroll":
            raise ChallengeClosed(detail="unknown registration")
        if challenge.consumed_at or challenge.expires_at <= now or challenge.attempts >= MAX_ATTEMPTS:
            raise ChallengeClosed(detail="registration used, locked or expired")
        pending = self._mfa.pending_enrollment(tenant_id, user, challenge.enrollment_id or "")
        try:
            credential_id, public_key, sign_count = webauthn.verify_registration(
                credential, webauthn_challenge(challenge)
            )
        except CodeInvalid:
            self._mfa.count_wrong_answer(tenant_id, challenge, subject, now)
            raise
        use = FactorUse(
            pending.enrollment_id, "webauthn", sign_count=sign_count, credential=(credential_id, public_key)
        )
        return self._mfa.complete(tenant_id, user, challenge, pending, FACTORS["webauthn"], use, settings, now)

    def assertion_options(
        self, tenant_id: TenantId, challenge_id: str, user: User, settings: EffectiveSettings
    ) -> dict[str, object]:
        """Put a fresh ceremony challenge on a sign-in challenge; the request options for the user's passkeys."""
        passkeys = [e for e in self._mfa.methods(tenant_id, user, settings) if e.kind == "webauthn" and e.target]
        if not passkeys:
            raise InvalidInput("No passkey is registered.", fields={"method_id": "invalid"})
        ceremony = webauthn.new_challenge()
        now = clock.now()
        self._repository.set_code(
            tenant_id,
            challenge_id,
            code_digest=b64url(ceremony),
            enrollment_id=passkeys[0].enrollment_id,
            code_expires_at=now + CHALLENGE_SECONDS,
            now=now,
            cooldown=0,
            max_sends=MAX_SENDS,
        )
        return webauthn.authentication_options(ceremony, [str(e.target) for e in passkeys])

    def begin_passwordless(self, tenant_id: TenantId) -> tuple[MfaChallenge, dict[str, object]]:
        """A challenge for any user's discoverable passkey (the assertion names the user)."""
        ceremony = webauthn.new_challenge()
        challenge = self._new_challenge(tenant_id, ANY_USER, None, ceremony)
        self._repository.create_challenge(challenge)
        return challenge, webauthn.authentication_options(ceremony, [])

    def _new_challenge(
        self, tenant_id: TenantId, user_id: UserId, enrollment_id: str | None, ceremony: bytes
    ) -> MfaChallenge:
        now = clock.now()
        return MfaChallenge(
            tenant_id=tenant_id,
            challenge_id=new_id(),
            user_id=user_id,
            purpose="enroll" if enrollment_id else "login",
            created_at=now,
            expires_at=now + CHALLENGE_SECONDS,
            enrollment_id=enrollment_id,
            code_digest=b64url(ceremony),
            code_expires_at=now + CHALLENGE_SECONDS,
        )
