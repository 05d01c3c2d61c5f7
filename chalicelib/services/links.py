"""Email links: ``<verification id>.<secret>``, with only the secret's SHA-256 stored, and the pages they open.

The id lets the link be found with one key lookup; the 256-bit secret is what makes it unguessable. Ids are
derived from the user and the purpose, so a new reset (or email change, or registration link) of the same user
overwrites the previous one: only the newest link works.
"""

from __future__ import annotations

import re

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import Verification, VerificationKind
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.ids import TenantId, new_secret
from chalicelib.core.ports import VerificationRepository
from chalicelib.services.tokens import issuer_url

ID = re.compile(r"^[0-9a-f]{32}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
# The hosted page each kind of link opens (under the tenant's issuer URL).
PAGES: dict[str, str] = {
    "registration": "verify",
    "invitation": "invitation",
    "password_reset": "password/reset",
    "email_change": "email/verify",
}


def verification_id_for(kind: VerificationKind, user_id: str) -> str:
    return secret_digest(f"{kind}:{user_id}")[:32]


def make_link_token(verification_id: str) -> tuple[str, str]:
    """(token for the email, digest to store)."""
    secret = new_secret()
    return f"{verification_id}.{secret}", secret_digest(secret)


def parse_link_token(token: object) -> tuple[str, str] | None:
    """(verification id, digest of the secret), or None if the token is malformed."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    verification_id, _, secret = token.partition(".")
    if not ID.match(verification_id) or not SECRET.match(secret):
        return None
    return verification_id, secret_digest(secret)


def find_usable(
    verifications: VerificationRepository, tenant_id: TenantId, token: str, kind: VerificationKind, message: str
) -> tuple[Verification, str]:
    """The verification behind a still-usable link of this kind, and the link's digest (compared in constant
    time); CodeInvalid otherwise. Using the link is a separate conditional write."""
    parsed = parse_link_token(token)
    verification = verifications.get(tenant_id, parsed[0]) if parsed else None
    if (
        parsed is None
        or verification is None
        or verification.kind != kind
        or verification.consumed_at
        or verification.expires_at <= clock.now()
        or not constant_time_equals(verification.link_digest or "", parsed[1])
    ):
        raise CodeInvalid(message, detail=f"{kind} link unusable")
    return verification, parsed[1]


def link_url(tenant_id: TenantId, kind: VerificationKind, token: str) -> str:
    return f"{issuer_url(tenant_id)}/{PAGES[kind]}?token={token}"


def page_url(tenant_id: TenantId, path: str) -> str:
    return f"{issuer_url(tenant_id)}/{path}"
