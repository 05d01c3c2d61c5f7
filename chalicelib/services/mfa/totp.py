"""TOTP (RFC 6238 with pyotp): 30-second steps, 6 digits, one step of drift either way, each step used once."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from chalicelib.core.entities import FactorUse, MfaEnrollment
from chalicelib.services.mfa import Answer, SecretBox

PERIOD = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """A 160-bit base32 secret (RFC 4226 §4 recommends 160 bits)."""
    import pyotp

    return str(pyotp.random_base32(32))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    import pyotp

    return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=issuer))


def matching_step(secret: str, code: str, now: int) -> int | None:
    """The time step (now ± 1) whose code equals ``code``; every candidate is compared, in constant time."""
    import pyotp

    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = now // PERIOD
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * PERIOD).encode(), code.encode()):
            found = step
    return found


@dataclass(frozen=True)
class TotpFactor:
    kind: str = "totp"
    amr: str = "otp"
    aal: int = 2
    delivers_code: bool = False
    primary: bool = True

    def match(self, enrollment: MfaEnrollment, answer: Answer, box: SecretBox) -> FactorUse | None:
        if not (len(answer.code) == DIGITS and answer.code.isascii() and answer.code.isdigit()):
            return None
        step = matching_step(box.secret_of(enrollment).decode("ascii"), answer.code, answer.now)
        # A step at or before the last one used is a replay: rejected like any wrong code.
        if step is None or step <= enrollment.last_step:
            return None
        return FactorUse(enrollment.enrollment_id, self.kind, totp_step=step)


TOTP = TotpFactor()
