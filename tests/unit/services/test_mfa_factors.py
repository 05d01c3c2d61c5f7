"""Second factors without I/O: TOTP steps and replay, delivered codes, recovery codes, the step-up decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyotp
import pytest

from chalicelib.core.entities import MfaChallenge, MfaEnrollment, User
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.settings import effective_settings, validate_settings
from chalicelib.services.mfa import FACTORS, Answer, recovery_codes, totp
from chalicelib.services.mfa import codes as delivered
from chalicelib.services.mfa.phones import to_e164
from chalicelib.services.step_up import SignIn, amr_after, decide

T = TenantId("acme")
U = UserId("u1")
NOW = 1_700_000_000
SECRET = pyotp.random_base32(32)


class Box:
    def secret_of(self, enrollment: MfaEnrollment) -> bytes:
        return SECRET.encode()


def enrollment(kind: str = "totp", **changes: Any) -> MfaEnrollment:
    base = MfaEnrollment(T, U, "e1", kind, "label", "active", NOW)
    return replace(base, **changes)


def challenge(**changes: Any) -> MfaChallenge:
    return replace(MfaChallenge(T, "c1", U, "login", NOW, NOW + 600), **changes)


def answer(code: str, now: int = NOW, **changes: Any) -> Answer:
    return Answer(code=code, challenge=challenge(**changes), now=now)


def user(*markers: str) -> User:
    return User(T, U, "a@example.com", True, "active", {}, NodeId("root"), NOW, NOW, mfa_factors=markers)


def settings(**mfa: Any) -> Any:
    return effective_settings([("root", validate_settings({"mfa": mfa}) if mfa else {})])


# --- TOTP -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_totp_accepts_one_step_of_drift(offset: int) -> None:
    code = pyotp.TOTP(SECRET).at(NOW + offset)
    use = FACTORS["totp"].match(enrollment(), answer(code), Box())
    assert use is not None and use.totp_step == (NOW + offset) // 30


@pytest.mark.parametrize("offset", [-90, -60, 60, 90])
def test_totp_rejects_codes_further_away(offset: int) -> None:
    assert FACTORS["totp"].match(enrollment(), answer(pyotp.TOTP(SECRET).at(NOW + offset)), Box()) is None


def test_totp_step_already_used_is_a_replay() -> None:
    code = pyotp.TOTP(SECRET).at(NOW)
    assert FACTORS["totp"].match(enrollment(last_step=NOW // 30), answer(code), Box()) is None
    assert FACTORS["totp"].match(enrollment(last_step=NOW // 30 - 1), answer(code), Box()) is not None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_totp_rejects_malformed_codes(code: str) -> None:
    assert FACTORS["totp"].match(enrollment(), answer(code), Box()) is None


def test_provisioning_uri_is_rfc6238_defaults() -> None:
    uri = totp.provisioning_uri(SECRET, account="a@example.com", issuer="Acme Shop")
    assert uri.startswith("otpauth://totp/Acme%20Shop:a%40example.com?secret=" + SECRET)
    assert "issuer=Acme%20Shop" in uri


# --- delivered codes --------------------------------------------------------------------------------------------


def test_delivered_code_is_bound_to_challenge_enrollment_and_time() -> None:
    code = delivered.new_code()
    digest = delivered.code_digest("c1", code)
    good = {"code_digest": digest, "code_enrollment_id": "e1", "code_expires_at": NOW + 300}
    sms = FACTORS["sms_otp"]
    assert sms.match(enrollment("sms_otp"), answer(code, **good), Box()) is not None
    assert sms.match(enrollment("sms_otp", enrollment_id="e2"), answer(code, **good), Box()) is None
    assert sms.match(enrollment("sms_otp"), answer(code, now=NOW + 300, **good), Box()) is None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert sms.match(enrollment("sms_otp"), answer(wrong, **good), Box()) is None
    assert delivered.code_digest("c2", code) != digest


def test_codes_are_six_digits() -> None:
    assert all(len(c) == 6 and c.isdigit() for c in (delivered.new_code() for _ in range(200)))


# --- recovery codes ---------------------------------------------------------------------------------------------


def test_recovery_codes_single_set_matching_is_case_and_dash_insensitive() -> None:
    codes = recovery_codes.new_codes()
    assert len(set(codes)) == 10
    digests = tuple(recovery_codes.code_digest(T, U, c) for c in codes)
    stored = enrollment("recovery_code", code_digests=digests)
    use = FACTORS["recovery_code"].match(stored, answer(codes[3].upper().replace("-", " ")), Box())
    assert use is not None and use.recovery_digest == digests[3]
    assert FACTORS["recovery_code"].match(stored, answer("aaaaa-bbbbb"), Box()) is None
    # Salted per user: the same code of another user has another digest.
    assert recovery_codes.code_digest(T, UserId("u2"), codes[0]) != digests[0]


# --- policy and step-up -----------------------------------------------------------------------------------------


def sign_in(u: User, s: Any, *, amr: tuple[str, ...] = ("pwd",), acr: tuple[str, ...] = (), remembered: bool = False):
    return decide(SignIn(user=u, amr=amr, acr_values=acr, settings=s, remembered=lambda: remembered))


def test_a_user_without_factors_and_optional_policy_is_not_asked() -> None:
    assert sign_in(user(), settings()).action == "none"


def test_an_enrolled_user_is_challenged_unless_the_device_is_remembered() -> None:
    enrolled = user("totp:e1", "recovery_code:recovery")
    assert sign_in(enrolled, settings()).action == "challenge"
    assert sign_in(enrolled, settings(), remembered=True).action == "none"
    assert sign_in(enrolled, settings(), amr=("pwd", "otp", "mfa")).action == "none"


def test_required_policy_sends_users_without_factor_to_enrollment() -> None:
    assert sign_in(user(), settings(mode="required")).action == "enroll"
    assert sign_in(user(), settings(mode="required", factors=["recovery_code"])).action == "none"


def test_acr_values_ask_for_a_factor_even_on_a_remembered_device() -> None:
    decision = sign_in(user("totp:e1"), settings(), acr=("urn:gatehouse:loa:2",), remembered=True)
    assert decision.action == "challenge" and decision.reasons == ("acr_values",)
    assert sign_in(user(), settings(), acr=("urn:gatehouse:loa:2",)).action == "enroll"


def test_mode_off_and_disallowed_factors_never_challenge() -> None:
    assert sign_in(user("totp:e1"), settings(mode="off"), acr=("urn:gatehouse:loa:2",)).action == "none"
    assert sign_in(user("totp:e1"), settings(factors=["sms_otp"])).action == "none"
    # Recovery codes alone are not a factor to challenge with.
    assert sign_in(user("recovery_code:recovery"), settings()).action == "none"


def test_amr_after_marks_multi_factor() -> None:
    assert amr_after(("pwd",), "otp") == ("pwd", "otp", "mfa")
    assert amr_after(("pwd", "otp", "mfa"), "otp") == ("pwd", "otp", "mfa")


def test_settings_validate_mfa_options() -> None:
    with pytest.raises(ValueError, match=r"mfa\.factors"):
        validate_settings({"mfa": {"factors": ["totp", "carrier_pigeon"]}})
    with pytest.raises(ValueError, match="remember_device_seconds"):
        validate_settings({"mfa": {"remember_device_seconds": -1}})


@pytest.mark.parametrize(
    ("raw", "expected"), [("+41 79 123 45 67", "+41791234567"), ("+1 (415) 555-2671", "+14155552671")]
)
def test_phone_numbers_become_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


@pytest.mark.parametrize("raw", ["079 123 45 67", "+41 79", "+999 1234567", "+41 79 123 45 67 89 01 23 45 67 89", ""])
def test_invalid_phone_numbers_are_rejected(raw: str) -> None:
    from chalicelib.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        to_e164(raw)
