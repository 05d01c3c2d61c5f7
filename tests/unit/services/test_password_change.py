"""The required password change after sign-in (``PasswordChanger.replace_outdated``) and what decides it
(``is_outdated``, ``password_version``), with in-memory fakes: bound to the password signed in with, the full
policy, never the same password, and an audit event for each outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from chalicelib.core.entities import AuditEvent, PasswordLogin, User
from chalicelib.core.errors import CodeInvalid, InvalidInput
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.settings import effective_settings
from chalicelib.services.audit import AuditService, Origin
from chalicelib.services.authentication import (
    PasswordAuthenticator,
    PasswordChanger,
    is_outdated,
    password_version,
)
from chalicelib.services.passwords import hash_password, verify_password
from tests.support.fakes import MemoryThrottles

TENANT = TenantId("t1")
EMAIL = "robin@example.com"
SETTINGS = effective_settings([("root", {})])
POLICY = SETTINGS.section("password_policy")
STRONG = "Harbor-violet-compass-lantern"
USER = User(TENANT, UserId("u1"), EMAIL, True, "active", {}, NodeId("root"), 0, 0)
ORIGIN = Origin("198.51.100.4", "Firefox", "web-app")


class Logins(MemoryThrottles):
    def __init__(self, password: str) -> None:
        super().__init__()
        self.hash = hash_password(password)
        self.writes = 0

    def get_password_login(self, tenant_id: TenantId, email: str) -> PasswordLogin | None:
        return PasswordLogin(TENANT, email, UserId("u1"), self.hash, 0, 0, 0) if email == EMAIL else None

    def get_login_with_throttles(
        self, tenant_id: TenantId, email: str, throttle_subjects: Sequence[str]
    ) -> tuple[PasswordLogin | None, dict[str, dict[str, int]]]:
        return self.get_password_login(tenant_id, email), {}

    def set_password_hash(
        self, tenant_id: TenantId, email: str, password_hash: str, *, replaces: str | None = None
    ) -> bool:
        if replaces is not None and replaces != self.hash:
            return False
        self.hash = password_hash
        self.writes += 1
        return True

    def get(self, tenant_id: TenantId, user_id: UserId) -> User | None:
        return USER


class Events:
    def __init__(self) -> None:
        self.appended: list[AuditEvent] = []

    def append(self, event: AuditEvent, *, expires_at: int) -> None:
        self.appended.append(event)

    def outcomes(self) -> list[tuple[str, str, Any]]:
        return [(e.action, e.outcome, e.details.get("reason")) for e in self.appended]


def changer(logins: Logins) -> tuple[PasswordChanger, Events]:
    events = Events()
    return PasswordChanger(logins, AuditService(events)), events  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("password", "outdated"),
    [
        ("qwertyuiop", True),  # among the most common
        ("QWERTYUIOP", True),  # case does not hide it
        ("short-pw", True),  # shorter than min_length
        ("robin-likes-long-walks", True),  # contains the email's local part
        (STRONG, False),
        ("aaaaaaaaaaaa", False),  # weak, but only the full policy (zxcvbn) says so: not checked at every sign-in
    ],
)
def test_is_outdated_runs_only_the_cheap_checks(password: str, outdated: bool) -> None:
    assert is_outdated(password, POLICY, EMAIL) is outdated


def test_a_good_new_password_replaces_the_one_signed_in_with() -> None:
    logins = Logins("qwertyuiop")
    service, events = changer(logins)
    version = password_version(logins.hash)
    service.replace_outdated(TENANT, USER, STRONG, version=version, settings=SETTINGS, origin=ORIGIN)
    assert verify_password(logins.hash, STRONG) and not verify_password(logins.hash, "qwertyuiop")
    assert events.outcomes() == [("account.password_changed", "success", "outdated")]
    event = events.appended[0]
    assert event.target_id == "u1" and event.source_ip == ORIGIN.source_ip
    assert event.details["client_id"] == "web-app"
    assert not any("Harbor" in str(v) for v in event.details.values())

    # Once: the stored password is no longer that version.
    with pytest.raises(CodeInvalid):
        service.replace_outdated(TENANT, USER, f"{STRONG}-2", version=version, settings=SETTINGS, origin=ORIGIN)
    assert verify_password(logins.hash, STRONG) and logins.writes == 1
    assert events.outcomes()[-1] == ("account.password_change_failed", "failure", "stale")


@pytest.mark.parametrize(("new", "code"), [("1234567890", "common"), ("aaaaaaaaaaaa", "too_weak"), ("", "required")])
def test_the_full_policy_decides(new: str, code: str) -> None:
    logins = Logins("qwertyuiop")
    service, events = changer(logins)
    with pytest.raises(InvalidInput) as refused:
        service.replace_outdated(TENANT, USER, new, version=password_version(logins.hash), settings=SETTINGS)
    assert refused.value.fields == {"password": code}
    assert logins.writes == 0
    assert events.outcomes() == [("account.password_change_failed", "failure", "weak_password")]


def test_the_same_password_is_refused_even_where_the_policy_accepts_it() -> None:
    logins = Logins(STRONG)  # e.g. the policy was relaxed between the sign-in and the change
    service, events = changer(logins)
    with pytest.raises(InvalidInput) as refused:
        service.replace_outdated(TENANT, USER, STRONG, version=password_version(logins.hash), settings=SETTINGS)
    assert refused.value.fields == {"password": "unchanged"} and logins.writes == 0
    assert events.outcomes() == [("account.password_change_failed", "failure", "unchanged")]


def test_a_version_that_is_empty_or_of_another_password_is_refused() -> None:
    logins = Logins("qwertyuiop")
    service, _ = changer(logins)
    for version in ("", password_version(hash_password("qwertyuiop"))):  # same password, another salt
        with pytest.raises(CodeInvalid):
            service.replace_outdated(TENANT, USER, STRONG, version=version, settings=SETTINGS)
    assert logins.writes == 0


def test_the_version_is_of_the_hash_stored_after_a_rehash_at_sign_in() -> None:
    from argon2 import PasswordHasher

    logins = Logins("qwertyuiop")
    logins.hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("qwertyuiop")  # old parameters
    authenticator = PasswordAuthenticator(logins, logins, logins)  # type: ignore[arg-type]
    result = authenticator.authenticate(TENANT, EMAIL, "qwertyuiop", ip="10.0.0.1", settings=SETTINGS)
    assert logins.writes == 1  # upgraded
    assert result.password_version == password_version(logins.hash)
    service, _ = changer(logins)
    service.replace_outdated(TENANT, USER, STRONG, version=result.password_version, settings=SETTINGS)
    assert verify_password(logins.hash, STRONG)


def test_a_change_that_lands_between_the_check_and_the_write_wins_alone() -> None:
    """Two posts of the step at once: both pass the version check, only the first write lands (conditional on the
    hash that was read), the second is refused as stale."""
    logins = Logins("qwertyuiop")
    service, events = changer(logins)
    version = password_version(logins.hash)
    read = logins.get_password_login

    def read_then_lose_the_race(tenant_id: TenantId, email: str) -> PasswordLogin | None:
        login = read(tenant_id, email)
        logins.hash = hash_password(f"{STRONG}-other")  # the concurrent request's write
        return login

    logins.get_password_login = read_then_lose_the_race  # type: ignore[method-assign]
    with pytest.raises(CodeInvalid):
        service.replace_outdated(TENANT, USER, STRONG, version=version, settings=SETTINGS, origin=ORIGIN)
    assert verify_password(logins.hash, f"{STRONG}-other") and logins.writes == 0
    assert events.outcomes() == [("account.password_change_failed", "failure", "stale")]
