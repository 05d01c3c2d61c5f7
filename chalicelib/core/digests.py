"""Digests and constant-time comparison of secrets.

Only digests of bearer secrets (codes, refresh tokens, link tokens, client secrets) are ever stored, as fosite
stores signatures: a leaked table does not leak usable credentials. These secrets carry 256 bits of entropy, so a
plain SHA-256 is the right tool (a slow hash is for low-entropy passwords only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def constant_time_equals(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())
