"""Second factors as strategies: each reports its ``amr`` value (RFC 8176) and assurance, and checks an answer.

``FACTORS`` is the registry by kind; tier settings (``mfa.factors``) enumerate allowed kinds, so adding a factor
means adding a module here and registering it, nothing else in the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.core.entities import FactorUse, MfaChallenge, MfaEnrollment


@dataclass(frozen=True)
class Answer:
    """What the user typed for ``challenge`` at ``now``."""

    code: str
    challenge: MfaChallenge
    now: int


class SecretBox(Protocol):
    def secret_of(self, enrollment: MfaEnrollment) -> bytes:
        """The decrypted secret of an enrollment (bound to its tenant, user and id)."""


class Factor(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def amr(self) -> str:
        """RFC 8176 Authentication Method Reference."""

    @property
    def aal(self) -> int:
        """What it adds to a password: 2 means the pair reaches NIST AAL2."""

    @property
    def delivers_code(self) -> bool:
        """A code is sent (email, SMS) when the user picks it."""

    @property
    def primary(self) -> bool:
        """A real second factor (recovery codes are only a fallback for one)."""

    def match(self, enrollment: MfaEnrollment, answer: Answer, box: SecretBox) -> FactorUse | None:
        """The change to record if ``answer`` is right for ``enrollment``, else None (never says how close)."""


def registry() -> dict[str, Factor]:
    from chalicelib.services.mfa.codes import EMAIL_OTP, SMS_OTP
    from chalicelib.services.mfa.recovery_codes import RECOVERY_CODE
    from chalicelib.services.mfa.totp import TOTP
    from chalicelib.services.mfa.webauthn import WEBAUTHN

    return {f.kind: f for f in (TOTP, EMAIL_OTP, SMS_OTP, RECOVERY_CODE, WEBAUTHN)}


FACTORS: dict[str, Factor] = registry()
