"""The password policy for new passwords (registration, invitation, reset), from the tier's effective settings.

In order: length and the email's local part (``accounts.check_password``), the shipped list of the 10,000 most
common passwords from breach corpora (case-insensitive), then zxcvbn's strength estimate against
``min_score``, with the email and the user's attributes as words an attacker would try first. NIST SP 800-63B
§5.1.1.2 asks for exactly this (a blocklist and no composition rules). The list and zxcvbn load on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.core.errors import InvalidInput
from chalicelib.services.accounts import check_password

COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "data" / "common_passwords.txt"
ZXCVBN_MAX_CHARS = 72  # zxcvbn refuses longer input (its matching is super-linear); 72 characters decide anyway


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def strength(password: str, user_inputs: Iterable[str] = ()) -> tuple[int, str]:
    """(zxcvbn score 0-4, its warning or "")."""
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[s for s in user_inputs if s][:20])
    return int(result["score"]), str(result["feedback"].get("warning") or "")


def check_new_password(password: object, policy: dict[str, Any], *, email: str, user_inputs: Iterable[str] = ()) -> str:
    """The password if it satisfies the policy; InvalidInput with ``fields["password"]`` set otherwise."""
    checked = check_password(password, policy, email)
    if policy.get("reject_common", True) and is_common(checked):
        raise InvalidInput(
            "This password is one of the most commonly used passwords. Choose another one.",
            fields={"password": "common"},
        )
    min_score = int(policy.get("min_score", 0))
    if min_score > 0:
        local = email.split("@", 1)[0]
        score, warning = strength(checked, [email, local, *user_inputs])
        if score < min_score:
            hint = f" {warning}." if warning and not warning.endswith(".") else f" {warning}" if warning else ""
            raise InvalidInput(
                f"This password is too easy to guess.{hint} Use a longer passphrase of unrelated words.",
                fields={"password": "too_weak"},
            )
    return checked
