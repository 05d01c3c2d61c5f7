"""The passkey factor without I/O: attestation and assertion checks with the software authenticator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.core.digests import b64url
from chalicelib.core.entities import MfaChallenge, MfaEnrollment
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.ids import TenantId, UserId
from chalicelib.services.mfa import Answer
from chalicelib.services.mfa import webauthn as factor
from tests.support.webauthn_authenticator import SoftAuthenticator

NOW = 1_700_000_000
T, U = TenantId("acme"), UserId("u1")


class NoSecrets:
    def secret_of(self, enrollment: MfaEnrollment) -> bytes:
        raise AssertionError("passkeys have no secret")


def registered(authenticator: SoftAuthenticator) -> MfaEnrollment:
    rp_id, _ = factor.relying_party()
    challenge = factor.new_challenge()
    options = {"rp": {"id": rp_id}, "user": {"id": b64url(U.encode())}, "challenge": b64url(challenge)}
    credential_id, public_key, sign_count = factor.verify_registration(
        __import__("json").dumps(authenticator.create(options)), challenge
    )
    return MfaEnrollment(
        T, U, "e1", "webauthn", "Key", "active", NOW, target=credential_id, public_key=public_key, sign_count=sign_count
    )


def ceremony(challenge: bytes) -> MfaChallenge:
    return MfaChallenge(T, "c1", U, "login", NOW, NOW + 600, code_digest=b64url(challenge), code_expires_at=NOW + 600)


def assertion_for(authenticator: SoftAuthenticator, challenge: bytes, **kwargs: object) -> str:
    import json

    rp_id, _ = factor.relying_party()
    return json.dumps(authenticator.get({"rpId": rp_id, "challenge": b64url(challenge)}, **kwargs))  # type: ignore[arg-type]


def test_assertion_verifies_and_reports_the_sign_count() -> None:
    authenticator = SoftAuthenticator(factor.relying_party()[1])
    enrollment = registered(authenticator)
    challenge = factor.new_challenge()
    use = factor.WEBAUTHN.match(
        enrollment, Answer(assertion_for(authenticator, challenge), ceremony(challenge), NOW), NoSecrets()
    )
    assert use is not None and use.sign_count == 1


def test_assertion_for_another_challenge_or_a_cloned_key_is_refused() -> None:
    authenticator = SoftAuthenticator(factor.relying_party()[1])
    enrollment = registered(authenticator)
    challenge, other = factor.new_challenge(), factor.new_challenge()
    answer = Answer(assertion_for(authenticator, other), ceremony(challenge), NOW)
    assert factor.WEBAUTHN.match(enrollment, answer, NoSecrets()) is None
    # A counter that did not grow means a cloned authenticator.
    answer = Answer(assertion_for(authenticator, challenge), ceremony(challenge), NOW)
    assert factor.WEBAUTHN.match(replace(enrollment, sign_count=50), answer, NoSecrets()) is None
    # Another credential than the enrollment's.
    assert factor.WEBAUTHN.match(replace(enrollment, target="x"), answer, NoSecrets()) is None


def test_registration_needs_user_verification_and_our_origin() -> None:
    rp_id, origin = factor.relying_party()
    challenge = factor.new_challenge()
    options = {"rp": {"id": rp_id}, "user": {"id": b64url(U.encode())}, "challenge": b64url(challenge)}
    import json

    with pytest.raises(CodeInvalid):
        factor.verify_registration(
            json.dumps(SoftAuthenticator(origin, user_verification=False).create(options)), challenge
        )
    with pytest.raises(CodeInvalid):
        factor.verify_registration(json.dumps(SoftAuthenticator("https://evil.example").create(options)), challenge)
    with pytest.raises(CodeInvalid):
        factor.verify_registration("{not json", challenge)


def test_user_handle_is_read_from_the_assertion() -> None:
    authenticator = SoftAuthenticator(factor.relying_party()[1])
    registered(authenticator)
    assert factor.user_handle(assertion_for(authenticator, factor.new_challenge())) == U
    assert factor.user_handle('{"id": "x", "response": {"userHandle": "!!"}}') is None
