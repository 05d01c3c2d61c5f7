"""The password policy for new passwords: length, the email, the shipped common-password list, zxcvbn."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import InvalidInput
from chalicelib.core.settings import DEFAULTS
from chalicelib.services.password_policy import check_new_password, common_passwords, is_common, strength

POLICY = dict(DEFAULTS["password_policy"])
EMAIL = "ada.lovelace@example.com"


def code(password: str, policy: dict[str, object] | None = None, **kwargs: object) -> str | None:
    try:
        check_new_password(password, dict(policy or POLICY), email=EMAIL, **kwargs)  # type: ignore[arg-type]
    except InvalidInput as error:
        return error.fields["password"]
    return None


def test_the_shipped_list_holds_the_10000_most_common_passwords() -> None:
    passwords = common_passwords()
    assert len(passwords) == 10_000
    assert {"123456", "password", "qwerty", "welcome123", "password123"} <= passwords
    assert all(p == p.lower() for p in passwords)


def test_common_passwords_are_matched_case_insensitively() -> None:
    assert is_common("PassWord123") and is_common("Welcome123 ")
    assert not is_common("Glacier-7f3a-orbit-lantern")


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("", "required"),
        ("short", "too_short"),
        ("x" * 257, "too_long"),
        ("my-ada.lovelace-secret", "contains_email"),
        ("Welcome123", "common"),
        ("aaaaaaaaaaaaaaaa", "too_weak"),
        ("qwertyuiop12", "too_weak"),
        ("Lovelace2024", "too_weak"),  # the user's own words are the first an attacker tries
        ("Glacier-7f3a-orbit-lantern", None),
        ("correct horse battery staple violin", None),
    ],
)
def test_policy(password: str, expected: str | None) -> None:
    assert code(password, user_inputs=["Ada", "Lovelace"]) == expected


def test_min_score_and_the_list_follow_the_settings() -> None:
    lenient = {**POLICY, "min_score": 0, "reject_common": False}
    assert code("aaaaaaaaaaaaaaaa", lenient) is None
    assert code("Welcome123", lenient) is None
    assert code("Welcome123", {**POLICY, "min_score": 0}) == "common"


def test_strength_reports_zxcvbn_score_and_warning() -> None:
    score, warning = strength("aaaaaaaaaaaa")
    assert score <= 1 and warning
    assert strength("Glacier-7f3a-orbit-lantern")[0] == 4
    assert strength("x" * 10_000)[0] >= 0, "long inputs are cut before zxcvbn"
