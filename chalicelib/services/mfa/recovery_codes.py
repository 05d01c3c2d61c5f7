"""Recovery codes: ten single-use codes shown once, stored as salted digests, usable when the phone is lost."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.core.entities import FactorUse, MfaEnrollment
from chalicelib.services.mfa import Answer, SecretBox

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without mistakes
GROUP = 5
ENROLLMENT_ID = "recovery"  # one set per user: regenerating replaces it


def new_codes() -> list[str]:
    """Ten codes like ``k7mq2-xv9re`` (10 symbols of 31: ~49 bits each)."""
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUP * 2))
        codes.append(f"{raw[:GROUP]}-{raw[GROUP:]}")
    return codes


def normalize(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def code_digest(tenant_id: str, user_id: str, code: str) -> str:
    """Salted by tenant and user, so equal codes of two users never share a digest."""
    key = f"recovery:{tenant_id}:{user_id}".encode()
    return hmac.new(key, normalize(code).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RecoveryCodeFactor:
    kind: str = "recovery_code"
    amr: str = "otp"
    aal: int = 2
    delivers_code: bool = False
    primary: bool = False

    def match(self, enrollment: MfaEnrollment, answer: Answer, box: SecretBox) -> FactorUse | None:
        if not 8 <= len(normalize(answer.code)) <= 16:
            return None
        digest = code_digest(enrollment.tenant_id, enrollment.user_id, answer.code)
        found = None
        for stored in enrollment.code_digests:
            if hmac.compare_digest(stored, digest):
                found = stored
        return FactorUse(enrollment.enrollment_id, self.kind, recovery_digest=found) if found else None


RECOVERY_CODE = RecoveryCodeFactor()
