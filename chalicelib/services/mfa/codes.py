"""One-time codes sent by email (SES) or SMS (SNS): 6 digits, single-use, short-lived, kept only as a digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.core.entities import FactorUse, MfaEnrollment
from chalicelib.services.mfa import Answer, SecretBox

DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def code_digest(challenge_id: str, code: str) -> str:
    """Keyed by the challenge, so a digest is useless for any other challenge."""
    return hmac.new(challenge_id.encode(), code.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DeliveredCodeFactor:
    kind: str
    amr: str
    aal: int = 2
    delivers_code: bool = True
    primary: bool = True

    def match(self, enrollment: MfaEnrollment, answer: Answer, box: SecretBox) -> FactorUse | None:
        challenge = answer.challenge
        if not challenge.code_digest or challenge.code_enrollment_id != enrollment.enrollment_id:
            return None
        if challenge.code_expires_at <= answer.now:
            return None
        code = answer.code
        if not (len(code) == DIGITS and code.isascii() and code.isdigit()):
            return None
        if not hmac.compare_digest(code_digest(challenge.challenge_id, code), challenge.code_digest):
            return None
        return FactorUse(enrollment.enrollment_id, self.kind)


# RFC 8176 has "sms"; for email there is no registered value, so the conventional "email" is used.
EMAIL_OTP = DeliveredCodeFactor(kind="email_otp", amr="email")
SMS_OTP = DeliveredCodeFactor(kind="sms_otp", amr="sms")
