"""Password sign-in throttling with in-memory fakes: per email digest and per source IP, no enumeration."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chalicelib.core import clock
from chalicelib.core.entities import PasswordLogin, User
from chalicelib.core.errors import AccountNotVerified, InvalidCredentials, RateLimited
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.risk import RiskProfile
from chalicelib.core.settings import effective_settings
from chalicelib.services.authentication import PasswordAuthenticator
from chalicelib.services.passwords import hash_password
from tests.support.fakes import MemoryThrottles

TENANT = TenantId("t1")
SETTINGS = effective_settings([("root", {"login": {"lock_seconds": 60, "max_lock_seconds": 600}})])


class Store(MemoryThrottles):
    def __init__(self) -> None:
        super().__init__()
        self.hash = hash_password("correct horse battery")
        self.status = "active"
        self.joint_reads = 0

    # UserRepository
    def get(self, tenant_id: TenantId, user_id: UserId) -> User | None:
        return User(TENANT, user_id, "a@example.com", self.status == "active", self.status, {}, NodeId("root"), 0, 0)  # type: ignore[arg-type]

    def find_user_id_by_email(self, tenant_id: TenantId, email: str) -> UserId | None:
        return UserId("u1")

    def get_with_risk_profile(self, tenant_id: TenantId, user_id: UserId) -> tuple[User | None, RiskProfile]:
        self.joint_reads += 1
        return self.get(tenant_id, user_id), RiskProfile(sign_ins=5)

    # CredentialRepository
    def get_login_with_throttles(
        self, tenant_id: TenantId, email: str, throttle_subjects: Sequence[str]
    ) -> tuple[PasswordLogin | None, dict[str, dict[str, int]]]:
        login = PasswordLogin(TENANT, email, UserId("u1"), self.hash, 0, 0, 0) if email == "a@example.com" else None
        found = {s: self.state(tenant_id, s) for s in throttle_subjects}
        return login, {s: state for s, state in found.items() if state is not None}

    def set_password_hash(
        self, tenant_id: TenantId, email: str, password_hash: str, *, replaces: str | None = None
    ) -> bool:
        if replaces is not None and replaces != self.hash:
            return False
        self.hash = password_hash
        return True


@pytest.fixture
def store() -> Store:
    clock.reset()
    return Store()


def _auth(store: Store) -> PasswordAuthenticator:
    return PasswordAuthenticator(store, store, store)  # type: ignore[arg-type]


def _fail(store: Store, email: str, ip: str = "10.0.0.1") -> type[Exception]:
    try:
        _auth(store).authenticate(TENANT, email, "wrong password!!", ip=ip, settings=SETTINGS)
    except (InvalidCredentials, RateLimited) as error:
        return type(error)
    raise AssertionError("a wrong password was accepted")


def test_correct_password_signs_in(store: Store) -> None:
    result = _auth(store).authenticate(
        TENANT, "a@example.com", "correct horse battery", ip="10.0.0.1", settings=SETTINGS
    )
    assert result.user.user_id == "u1" and result.amr == ("pwd",)


def test_the_risk_history_is_read_with_the_user_only_when_asked(store: Store) -> None:
    password = "correct horse battery"
    plain = _auth(store).authenticate(TENANT, "a@example.com", password, ip="10.0.0.1", settings=SETTINGS)
    assert plain.risk_profile is None and store.joint_reads == 0
    joint = _auth(store).authenticate(
        TENANT, "a@example.com", "correct horse battery", ip="10.0.0.1", settings=SETTINGS, with_risk_profile=True
    )
    assert joint.user.user_id == "u1" and joint.risk_profile == RiskProfile(sign_ins=5) and store.joint_reads == 1


@pytest.mark.parametrize("email", ["a@example.com", "nobody@example.com"])
def test_five_failures_lock_the_email_the_same_way_whether_or_not_it_exists(store: Store, email: str) -> None:
    outcomes = [_fail(store, email) for _ in range(6)]
    assert outcomes[:5] == [InvalidCredentials] * 5
    assert outcomes[5] is RateLimited
    with pytest.raises(RateLimited) as raised:
        _auth(store).authenticate(TENANT, email, "correct horse battery", ip="10.0.0.9", settings=SETTINGS)
    assert 0 < raised.value.retry_after <= 60


def test_the_lock_expires_and_the_next_one_lasts_twice_as_long(store: Store) -> None:
    for _ in range(5):
        _fail(store, "a@example.com")
    clock.advance(61)
    try:
        _auth(store).authenticate(TENANT, "a@example.com", "correct horse battery", ip="10.0.0.1", settings=SETTINGS)
        for _ in range(5):
            _fail(store, "a@example.com")
        with pytest.raises(RateLimited) as raised:
            _auth(store).authenticate(
                TENANT, "a@example.com", "correct horse battery", ip="10.0.0.1", settings=SETTINGS
            )
        assert raised.value.retry_after > 60
    finally:
        clock.reset()


def test_one_ip_failing_across_many_accounts_is_blocked(store: Store) -> None:
    threshold = SETTINGS.get("login", "ip_failures_before_delay") * 4
    outcomes = [_fail(store, f"user{i}@example.com", ip="203.0.113.7") for i in range(threshold + 1)]
    assert outcomes[-1] is RateLimited
    # Another IP is unaffected.
    assert _fail(store, "fresh@example.com", ip="198.51.100.1") is InvalidCredentials


def test_unverified_account_is_told_to_verify(store: Store) -> None:
    store.status = "pending"
    with pytest.raises(AccountNotVerified):
        _auth(store).authenticate(TENANT, "a@example.com", "correct horse battery", ip="10.0.0.1", settings=SETTINGS)
