"""Password hashing with Argon2id.

Defaults are OWASP's "m=7 MiB, t=5, p=1" Argon2id profile, the same parameters Keycloak uses, overridable by
``GATEHOUSE_ARGON2_*`` for deployments with more memory. Hashes carry their parameters (PHC string format), so old
hashes still verify and are upgraded on the next successful sign-in.

Two libraries compute the same function and read and write the same strings: libsodium (PyNaCl) picks its
AVX2/AVX-512 code at run time and verifies in about half the CPU time of argon2-cffi's wheels, which are built
for plain SSE2; it hashes with one lane only, so argon2-cffi hashes when ``parallelism`` > 1 and handles anything
else libsodium cannot (Argon2d strings). argon2-cffi also decides when a hash needs upgrading.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import settings as config

SODIUM_PREFIXES = ("$argon2id$v=19$", "$argon2i$v=19$")  # what libsodium verifies
SODIUM_MAX_HASH = 127  # longest string libsodium's verify accepts
SODIUM_MIN_MEMORY_KIB = 8


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
    return hash_password("dummy password used to equalise timing")


def _sodium_hashes() -> bool:
    """libsodium writes Argon2id with one lane, a 16-byte salt and a 32-byte hash: the configured hash if p=1."""
    return config().argon2_parallelism == 1 and config().argon2_memory_kib >= SODIUM_MIN_MEMORY_KIB


def hash_password(password: str) -> str:
    if _sodium_hashes():
        from nacl.pwhash import argon2id

        encoded = argon2id.str(
            password.encode(), opslimit=config().argon2_time_cost, memlimit=config().argon2_memory_kib * 1024
        )
        return encoded.decode("ascii")
    return str(_hasher().hash(password))


def _verify(encoded: str, password: str) -> bool:
    if not encoded.isascii():  # PHC strings are ASCII: a corrupted one never verifies
        return False
    if encoded.startswith(SODIUM_PREFIXES) and len(encoded) <= SODIUM_MAX_HASH:
        from nacl.bindings import crypto_pwhash_str_verify
        from nacl.exceptions import InvalidkeyError

        try:
            return crypto_pwhash_str_verify(encoded.encode("ascii"), password.encode())
        except InvalidkeyError:  # a wrong password, or a malformed string
            return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(encoded, password))
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: a missing (or empty) hash verifies against a dummy."""
    ok = _verify(password_hash or _dummy_hash(), password)
    return ok and bool(password_hash)


def needs_rehash(password_hash: str) -> bool:
    return bool(_hasher().check_needs_rehash(password_hash))
