"""Argon2id hashing: libsodium and argon2-cffi write and read the same PHC strings, the configured parameters are
the ones stored, and anything libsodium cannot take (more lanes, Argon2d, malformed strings) is still handled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from chalicelib import config
from chalicelib.services import passwords


@pytest.fixture
def argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Small parameters (fast tests); set ``argon2_*`` with ``use(...)``."""

    def clear() -> None:
        passwords._hasher.cache_clear()
        passwords._dummy_hash.cache_clear()

    clear()
    yield monkeypatch
    clear()


def use(monkeypatch: pytest.MonkeyPatch, *, t: int = 2, m: int = 256, p: int = 1) -> None:
    configured = replace(config.settings(), argon2_time_cost=t, argon2_memory_kib=m, argon2_parallelism=p)
    monkeypatch.setattr(passwords, "config", lambda: configured)
    passwords._hasher.cache_clear()
    passwords._dummy_hash.cache_clear()


def test_a_hash_carries_the_configured_parameters_and_verifies(argon2: pytest.MonkeyPatch) -> None:
    use(argon2, t=3, m=512)
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=512,t=3,p=1$")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.needs_rehash(stored)
    assert stored != passwords.hash_password("correct horse battery")  # a fresh salt each time


def test_libsodium_and_argon2_cffi_read_each_others_hashes(argon2: pytest.MonkeyPatch) -> None:
    use(argon2)
    ours = passwords.hash_password("pässwörd ✓")
    assert PasswordHasher().verify(ours, "pässwörd ✓")
    theirs = PasswordHasher(time_cost=2, memory_cost=256, parallelism=1, type=Type.ID).hash("pässwörd ✓")
    assert passwords.verify_password(theirs, "pässwörd ✓")
    assert not passwords.verify_password(theirs, "passwörd ✓")


def test_more_lanes_are_hashed_by_argon2_cffi_and_still_verify(argon2: pytest.MonkeyPatch) -> None:
    use(argon2, m=512, p=2)
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=512,t=2,p=2$")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "wrong")


def test_argon2d_and_weaker_hashes_verify_and_ask_for_an_upgrade(argon2: pytest.MonkeyPatch) -> None:
    use(argon2, t=3, m=512)
    argon2d = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.D).hash("secret words")
    assert passwords.verify_password(argon2d, "secret words")
    assert not passwords.verify_password(argon2d, "secret word")
    weaker = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.ID).hash("secret words")
    assert passwords.verify_password(weaker, "secret words")
    assert passwords.needs_rehash(weaker) and passwords.needs_rehash(argon2d)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "$argon2id$v=19$garbage",
        "$argon2id$v=19$m=256,t=2,p=1$c2FsdHNhbHQ$" + "A" * 200,  # longer than libsodium takes
        "$argon2id$v=19$m=256,t=2,p=1$c2FsdHNhbHQ$ä",  # not ASCII
        "$2b$12$notanargon2hashatall............................",
    ],
)
def test_missing_or_malformed_hashes_never_verify(argon2: pytest.MonkeyPatch, stored: str | None) -> None:
    use(argon2)
    assert passwords.verify_password(stored, "dummy password used to equalise timing") is False
    assert passwords.verify_password(stored, "anything") is False
