"""WebAuthn passkeys with py_webauthn (lazy import): registration and assertion ceremonies, as a second factor
and as a passwordless first factor (user verification required either way).

The relying party is the public base URL: its host is the RP ID and its origin the expected origin (apps prove
their association with the domain, as iOS and Android passkeys require). The ceremony's challenge is kept on
the single-use MFA challenge item (``code_digest``), so it can be answered once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import settings as config
from chalicelib.core.digests import b64url, b64url_decode
from chalicelib.core.entities import FactorUse, MfaEnrollment, User
from chalicelib.core.errors import CodeInvalid
from chalicelib.services.mfa import Answer, SecretBox

MAX_CREDENTIAL_JSON = 16 * 1024
B64URL = re.compile(r"[A-Za-z0-9_-]{1,128}")
USER_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # our user ids are UUIDs: nothing that could reach into another key
AMR = "hwk"  # RFC 8176: proof of possession of a (hardware- or platform-) protected key
# Passwordless: the key (possession) unlocked by the user's PIN or biometric (user verification is required), so
# two factors in one gesture: RFC 8176 "user" (the user was present and verified) and "mfa".
PASSWORDLESS_AMR = (AMR, "user", "mfa")


def relying_party() -> tuple[str, str]:
    """(RP ID, expected origin) from the public base URL."""
    parts = urlsplit(config().public_base_url)
    return str(parts.hostname), f"{parts.scheme}://{parts.netloc}"


def new_challenge() -> bytes:
    import secrets

    return secrets.token_bytes(32)


def registration_options(user: User, challenge: bytes, *, rp_name: str, exclude: list[str]) -> dict[str, Any]:
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=relying_party()[0],
        rp_name=rp_name,
        user_name=user.email,
        user_id=user.user_id.encode(),
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(c)) for c in exclude],
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def authentication_options(challenge: bytes, allow: list[str]) -> dict[str, Any]:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=relying_party()[0],
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(c)) for c in allow],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def parse_credential(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_CREDENTIAL_JSON:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("id"), str) else None


def user_handle(raw: str) -> str | None:
    """The user id a discoverable credential's assertion names (``response.userHandle``), if any."""
    credential = parse_credential(raw)
    response = credential.get("response") if credential else None
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not isinstance(handle, str) or not B64URL.fullmatch(handle):
        return None
    try:
        user_id = b64url_decode(handle).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return user_id if USER_ID.fullmatch(user_id) else None


def verify_registration(raw: str, challenge: bytes) -> tuple[str, bytes, int]:
    """(credential id, COSE public key, sign count) of a valid attestation; CodeInvalid otherwise."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    credential = parse_credential(raw)
    if credential is None:
        raise CodeInvalid(detail="malformed registration credential")
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as error:
        raise CodeInvalid(detail=f"registration: {error}") from error
    return b64url(verified.credential_id), bytes(verified.credential_public_key), int(verified.sign_count)


@dataclass(frozen=True)
class WebAuthnFactor:
    kind: str = "webauthn"
    amr: str = AMR
    aal: int = 2
    delivers_code: bool = False
    primary: bool = True

    def match(self, enrollment: MfaEnrollment, answer: Answer, box: SecretBox) -> FactorUse | None:
        from webauthn import verify_authentication_response
        from webauthn.helpers.exceptions import InvalidAuthenticationResponse

        challenge = answer.challenge
        credential = parse_credential(answer.code)
        if credential is None or not challenge.code_digest or enrollment.public_key is None:
            return None
        if credential["id"] != enrollment.target or challenge.code_expires_at <= answer.now:
            return None
        rp_id, origin = relying_party()
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=b64url_decode(challenge.code_digest),
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=enrollment.public_key,
                credential_current_sign_count=enrollment.sign_count,
                require_user_verification=True,
            )
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
            return None
        return FactorUse(enrollment.enrollment_id, self.kind, sign_count=int(verified.new_sign_count))


WEBAUTHN = WebAuthnFactor()
