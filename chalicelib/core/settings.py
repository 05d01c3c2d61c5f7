"""Tier settings and their inheritance (customer -> organization -> account).

Every tier node may carry a partial settings document. ``effective_settings`` merges the chain from the root down,
section by section and key by key, so a node overrides only what it names. ``DEFAULTS`` documents every option.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.core.attributes import parse_schema
from chalicelib.core.risk import DEFAULT_POLICY, validate_policy

DEFAULTS: dict[str, dict[str, Any]] = {
    "branding": {
        "display_name": "",  # empty: the tenant's name
        "primary_color": "#2f5bea",
        "logo_url": "",
    },
    "password_policy": {
        "min_length": 10,
        "max_length": 256,
        "min_score": 3,  # zxcvbn strength estimate, 0 (guessable) to 4 (very unguessable)
        "reject_common": True,  # the shipped list of the 10,000 most common (breached) passwords
    },
    "registration": {
        "enabled": True,  # self-service sign-up on the hosted page and the native API
        "captcha": "none",  # none | turnstile | local (tests: the token "local-pass")
        # The verification link is valid this long; then one reminder with a fresh link, and when that one
        # expires too the pending account is deleted and its email freed.
        "verification_seconds": 24 * 3600,
        "reminder_seconds": 48 * 3600,
        "invitation_seconds": 7 * 86400,  # the same for an invitation's set-password link
    },
    "recovery": {
        "reset_link_seconds": 3600,
        "email_change_link_seconds": 24 * 3600,
        # At most one reset email per account in this time: forgot-password cannot be used to flood a mailbox.
        "reset_cooldown_seconds": 60,
    },
    "attributes": {
        # Profile attributes asked for at registration: {name, type: string|date|phone|url|boolean, required,
        # format?, label?} (see core/attributes.py for what format means per type).
        "schema": [],
    },
    "mfa": {
        "mode": "optional",  # off | optional | required
        "factors": ["totp", "email_otp", "sms_otp", "recovery_code", "webauthn"],
        # "Remember this device": a signed cookie skips the MFA prompt on that browser this long (0: never).
        "remember_device_seconds": 30 * 86400,
        "code_seconds": 300,  # email and SMS codes
        "resend_cooldown_seconds": 30,
    },
    "tokens": {
        "access_token_seconds": 300,
        "id_token_seconds": 3600,
        "authorization_code_seconds": 60,
        "refresh_token_seconds": 30 * 86400,
        "refresh_reuse_grace_seconds": 10,
        "session_seconds": 12 * 3600,
        # RFC 9068 access tokens; ES256 signs ~8x faster than RS256 and every JOSE library verifies it.
        "access_token_alg": "ES256",
        "id_token_alg": "RS256",
    },
    "login": {
        "ip_failures_before_delay": 5,
        "account_failures_before_lock": 5,
        "lock_seconds": 300,
        "max_lock_seconds": 3600,
    },
    "consent": {
        "remember": True,
    },
    "privacy": {
        # Account deletion: signing in during this time cancels it; then every personal data item is erased.
        "deletion_grace_seconds": 7 * 86400,
        # A personal data export is kept (encrypted) and its single-use download link works this long.
        "export_link_seconds": 24 * 3600,
    },
}

# Adaptive authentication: the risk engine's policy (every key documented in core/risk.py).
DEFAULTS["risk"] = copy.deepcopy(DEFAULT_POLICY)

SECTIONS = frozenset(DEFAULTS)

TOKEN_ALGS = ("RS256", "ES256")
CAPTCHA_KINDS = ("none", "turnstile", "local")


@dataclass(frozen=True)
class EffectiveSettings:
    values: dict[str, dict[str, Any]]
    sources: dict[str, str]  # "section.key" -> node id that set it ("default" when nobody did)

    def section(self, name: str) -> dict[str, Any]:
        return self.values[name]

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]


def validate_settings(partial: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Check a node's partial settings document; raises ValueError with a readable message."""
    clean: dict[str, dict[str, Any]] = {}
    for section, values in partial.items():
        if section not in SECTIONS:
            raise ValueError(f"unknown settings section '{section}'")
        if not isinstance(values, Mapping):
            raise ValueError(f"settings section '{section}' must be an object")
        for key, value in values.items():
            if key not in DEFAULTS[section]:
                raise ValueError(f"unknown setting '{section}.{key}'")
            default = DEFAULTS[section][key]
            if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default)):
                raise ValueError(f"setting '{section}.{key}' must be of type {type(default).__name__}")
        clean[section] = dict(values)
    _check_values(clean)
    validate_policy(clean.get("risk", {}))
    return clean


def _check_values(doc: Mapping[str, Mapping[str, Any]]) -> None:
    mfa = doc.get("mfa", {})
    if "mode" in mfa and mfa["mode"] not in ("off", "optional", "required"):
        raise ValueError("setting 'mfa.mode' must be off, optional or required")
    _check_mfa(mfa)
    tokens = doc.get("tokens", {})
    for key in ("access_token_alg", "id_token_alg"):
        if key in tokens and tokens[key] not in TOKEN_ALGS:
            raise ValueError(f"setting 'tokens.{key}' must be one of {', '.join(TOKEN_ALGS)}")
    for key, value in tokens.items():
        if key.endswith("_seconds") and not 0 <= value <= 400 * 86400:
            raise ValueError(f"setting 'tokens.{key}' is out of range")
    policy = doc.get("password_policy", {})
    if "min_length" in policy and not 8 <= policy["min_length"] <= 128:
        raise ValueError("setting 'password_policy.min_length' must be between 8 and 128")
    if "min_score" in policy and not 0 <= policy["min_score"] <= 4:
        raise ValueError("setting 'password_policy.min_score' must be between 0 and 4")
    _check_self_service(doc)


def _check_self_service(doc: Mapping[str, Mapping[str, Any]]) -> None:
    registration = doc.get("registration", {})
    if "captcha" in registration and registration["captcha"] not in CAPTCHA_KINDS:
        raise ValueError(f"setting 'registration.captcha' must be one of {', '.join(CAPTCHA_KINDS)}")
    for section in ("registration", "recovery"):
        for key, value in doc.get(section, {}).items():
            # Step Functions waits at most a year; a link valid longer than 180 days is a liability.
            if key.endswith("_seconds") and not (0 if "cooldown" in key else 1) <= value <= 180 * 86400:
                raise ValueError(f"setting '{section}.{key}' must be between 1 and {180 * 86400}")
    if "schema" in doc.get("attributes", {}):
        parse_schema(doc["attributes"]["schema"])
    _check_privacy(doc)


def _check_privacy(doc: Mapping[str, Mapping[str, Any]]) -> None:
    for key, value in doc.get("privacy", {}).items():
        # Step Functions waits at most a year; both must be at least a second.
        if key.endswith("_seconds") and not 1 <= value <= 180 * 86400:
            raise ValueError(f"setting 'privacy.{key}' must be between 1 and {180 * 86400}")


def effective_settings(chain: Sequence[tuple[str, Mapping[str, Any]]]) -> EffectiveSettings:
    """Merge ``(node_id, partial settings)`` pairs ordered from the customer root down to the node."""
    values = copy.deepcopy(DEFAULTS)
    sources = {f"{section}.{key}": "default" for section, keys in DEFAULTS.items() for key in keys}
    for node_id, partial in chain:
        for section, keys in partial.items():
            if section not in values:
                continue
            for key, value in keys.items():
                if key in values[section]:
                    values[section][key] = copy.deepcopy(value)
                    sources[f"{section}.{key}"] = node_id
    return EffectiveSettings(values=values, sources=sources)


MFA_FACTOR_KINDS = ("totp", "email_otp", "sms_otp", "recovery_code", "webauthn")


def _check_mfa(mfa: Mapping[str, Any]) -> None:
    factors = mfa.get("factors", [])
    if not all(isinstance(f, str) and f in MFA_FACTOR_KINDS for f in factors):
        raise ValueError(f"setting 'mfa.factors' may only name {', '.join(MFA_FACTOR_KINDS)}")
    if not 0 <= mfa.get("remember_device_seconds", 0) <= 400 * 86400:
        raise ValueError("setting 'mfa.remember_device_seconds' must be between 0 and 400 days")
    if not 60 <= mfa.get("code_seconds", 300) <= 3600:
        raise ValueError("setting 'mfa.code_seconds' must be between 60 and 3600")
    if not 0 <= mfa.get("resend_cooldown_seconds", 30) <= 3600:
        raise ValueError("setting 'mfa.resend_cooldown_seconds' must be between 0 and 3600")
