"""When a sign-in needs a second factor: the one decision point for MFA policy and step-up.

Each rule looks at the sign-in and returns a reason when a second factor is needed; risk-based step-up is one
more rule appended to ``RULES``. The decision costs no I/O: it uses the user's factor summary and what the
session has already proven (``amr``). ``remembered`` (the "remember this device" cookie) is only evaluated when
a rule asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from chalicelib.core.entities import User
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.mfa import FACTORS
from chalicelib.services.mfa.service import enrollable_kinds, usable_kinds
from chalicelib.services.sessions import ACR_MFA


@dataclass(frozen=True)
class SignIn:
    user: User
    amr: tuple[str, ...]
    acr_values: tuple[str, ...]
    settings: EffectiveSettings
    remembered: Callable[[], bool]
    risk: str = "allow"  # the risk engine's decision for this sign-in (allow | mfa; block never gets here)


@dataclass(frozen=True)
class StepUp:
    action: Literal["none", "challenge", "enroll"]
    reasons: tuple[str, ...] = ()


Rule = Callable[[SignIn], str | None]


def tier_requires_mfa(sign_in: SignIn) -> str | None:
    if sign_in.settings.get("mfa", "mode") == "required" and not sign_in.remembered():
        return "policy"
    return None


def user_enrolled(sign_in: SignIn) -> str | None:
    """A user who set up a second factor is asked for it (unless this browser is remembered)."""
    if usable_kinds(sign_in.user, sign_in.settings) and not sign_in.remembered():
        return "enrolled"
    return None


def acr_requested(sign_in: SignIn) -> str | None:
    """OIDC Core §3.1.2.1 ``acr_values``: the client asks for multi-factor assurance (a remembered device does
    not count: the second factor must be proven now or earlier in this session)."""
    return "acr_values" if ACR_MFA in sign_in.acr_values else None


def risk_requires_mfa(sign_in: SignIn) -> str | None:
    """Adaptive authentication: the tier's risk policy asked for a second factor. A remembered device does not
    count (the cookie may travel with the stolen password)."""
    return "risk" if sign_in.risk == "mfa" else None


RULES: list[Rule] = [tier_requires_mfa, user_enrolled, acr_requested, risk_requires_mfa]


def has_second_factor(amr: tuple[str, ...]) -> bool:
    return "mfa" in amr


def decide(sign_in: SignIn) -> StepUp:
    if sign_in.settings.get("mfa", "mode") == "off" or has_second_factor(sign_in.amr):
        return StepUp("none")
    reasons = tuple(reason for rule in RULES if (reason := rule(sign_in)) is not None)
    if not reasons:
        return StepUp("none")
    if usable_kinds(sign_in.user, sign_in.settings):
        return StepUp("challenge", reasons)
    if enrollable_kinds(sign_in.settings):
        return StepUp("enroll", reasons)
    return StepUp("none", reasons)  # nothing can satisfy it: the tokens report the lower acr truthfully


def amr_after(amr: tuple[str, ...], factor_amr: str) -> tuple[str, ...]:
    """The session's methods after a second factor: RFC 8176 ``mfa`` marks that more than one was used."""
    merged = list(dict.fromkeys((*amr, factor_amr)))
    if len(merged) >= 2 and "mfa" not in merged:
        merged.append("mfa")
    return tuple(merged)


__all__ = ["FACTORS", "RULES", "SignIn", "StepUp", "amr_after", "decide"]
