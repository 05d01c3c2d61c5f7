"""Password hashing with Argon2id (argon2-cffi).

Defaults are OWASP's "m=7 MiB, t=5, p=1" Argon2id profile, the same parameters Keycloak uses, overridable by
``GATEHOUSE_ARGON2_*`` for deployments with more memory. Hashes carry their parameters, so old hashes still
verify and are upgraded on the next successful sign-in.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import settings as config


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher
    from argon2.low_level import Type

    return PasswordHasher(
        time_cost=config().argon2_time_cost,
        memory_cost=config().argon2_memory_kib,
        parallelism=config().argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


@cache
def _dummy_hash() -> str:
    return str(_hasher().hash("dummy password used to equalise timing"))


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: a missing hash verifies against a dummy."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        ok = bool(_hasher().verify(password_hash or _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return bool(_hasher().check_needs_rehash(password_hash))
