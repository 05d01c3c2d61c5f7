"""Risk repository on DynamoDB Local: the history round trip (tenant-scoped), stuffing sets grown with ADD, and
fraud blocks on the throttle item the password sign-in reads, doubling and never stacking."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def tenant(local_stack: Any) -> str:
    from chalicelib import container

    slug = "risk-contract"
    if not container.tenants().exists(slug):
        container.tenants().create_customer(slug)
    return slug


def test_profiles_round_trip_per_tenant(local_stack: Any) -> None:
    from chalicelib.core.ids import TenantId, UserId
    from chalicelib.core.risk import Location, RiskProfile
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    repository = DynamoRiskRepository()
    a, b, user = TenantId(f"rk-{uuid.uuid4().hex[:8]}"), TenantId(f"rk-{uuid.uuid4().hex[:8]}"), UserId("u1")
    assert repository.get_profile(a, user) == RiskProfile()
    hours = tuple(range(24))
    profile = RiskProfile(
        devices=(("d1", 100), ("d2", 50)),
        countries=("DE",),
        last_location=Location(52.5, 13.4, "DE"),
        last_location_at=100,
        hours=hours,
        sign_ins=7,
    )
    repository.save_profile(a, user, profile, expires_at=2_000_000_000)
    assert repository.get_profile(a, user) == profile
    assert repository.get_profile(b, user) == RiskProfile()
    repository.delete_profile(a, user)
    assert repository.get_profile(a, user) == RiskProfile()


def test_the_user_and_the_history_come_in_one_batch_and_the_history_is_written_with_the_code(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.core.risk import HistoryUpdate, RiskProfile
    from chalicelib.services.authorization import CodeRequest
    from chalicelib.storage.risk_repository import DynamoRiskRepository
    from chalicelib.storage.users_repository import DynamoUserRepository

    tenant_id = TenantId(tenant)
    settings = container.tenants().effective(tenant_id)
    user = container.accounts().create_user(
        tenant_id, email=f"rk-{uuid.uuid4().hex[:8]}@example.com", password=None, settings=settings, verified=True
    )
    users = DynamoUserRepository()
    found, profile = users.get_with_risk_profile(tenant_id, user.user_id)
    assert found is not None and found.user_id == user.user_id and profile == RiskProfile()
    assert users.get_with_risk_profile(TenantId(f"rk-{uuid.uuid4().hex[:8]}"), user.user_id) == (None, RiskProfile())

    session, _ = container.sessions().start(tenant_id, user, amr=("pwd",), settings=settings, ip="", user_agent="")
    remembered = RiskProfile(devices=(("d1", 100),), countries=("DE",), sign_ins=1)
    request = CodeRequest("client-a", "https://app.example/cb", ("openid",), None, None)
    history = HistoryUpdate(tenant_id, user.user_id, remembered, expires_at=2_000_000_000)
    container.authorization().issue_code(
        tenant_id, request, user, session, new_session=True, settings=settings, history=history
    )
    assert users.get_with_risk_profile(tenant_id, user.user_id)[1] == remembered
    assert DynamoRiskRepository().get_profile(tenant_id, user.user_id) == remembered


def test_a_failed_code_transaction_leaves_the_history_untouched(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.entities import AuthorizationCode
    from chalicelib.core.errors import DependencyUnavailable
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.core.risk import HistoryUpdate, RiskProfile
    from chalicelib.storage.authorizations_repository import DynamoAuthorizationRepository
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    tenant_id = TenantId(tenant)
    settings = container.tenants().effective(tenant_id)
    user = container.accounts().create_user(
        tenant_id, email=f"rk-{uuid.uuid4().hex[:8]}@example.com", password=None, settings=settings, verified=True
    )
    code = AuthorizationCode(
        tenant_id=tenant_id,
        code_digest=uuid.uuid4().hex,
        client_id=ClientId("client-a"),
        user_id=user.user_id,
        redirect_uri="https://app.example/cb",
        scope=("openid",),
        nonce=None,
        code_challenge=None,
        session_id="s1",
        auth_time=1,
        acr="urn:gatehouse:loa:1",
        amr=("pwd",),
        claims={},
        expires_at=2_000_000_000,
        grant_id="g1",
    )
    repository = DynamoAuthorizationRepository()
    repository.save_code(code, None)
    history = HistoryUpdate(tenant_id, user.user_id, RiskProfile(sign_ins=9), expires_at=2_000_000_000)
    with pytest.raises(DependencyUnavailable):
        repository.save_code(code, None, (), history)  # the code exists already: the whole transaction fails
    assert DynamoRiskRepository().get_profile(tenant_id, user.user_id) == RiskProfile()


def test_stuffing_counts_distinct_members_over_this_window_and_the_one_before(local_stack: Any) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    repository = DynamoRiskRepository()
    tenant = TenantId(f"rk-{uuid.uuid4().hex[:8]}")
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="A", window=1, expires_at=9) == (1, 1)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="A", window=1, expires_at=9) == (1, 1)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="B", window=1, expires_at=9) == (2, 1)
    assert repository.count_stuffing(tenant, ip="5.6.7.8", account="B", window=1, expires_at=9) == (1, 2)
    # The window before counts too (a burst across the boundary is one burst); the one before that does not.
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="C", window=2, expires_at=9) == (3, 1)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="D", window=3, expires_at=9) == (2, 1)
    assert repository.count_stuffing(tenant, ip="9.9.9.9", account="B", window=2, expires_at=9) == (1, 3)
    other = TenantId(f"rk-{uuid.uuid4().hex[:8]}")
    assert repository.count_stuffing(other, ip="1.2.3.4", account="E", window=2, expires_at=9) == (1, 1)


def test_blocks_double_do_not_stack_and_are_read_by_the_sign_in(local_stack: Any) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.risk_repository import DynamoRiskRepository
    from chalicelib.storage.users_repository import DynamoCredentialRepository

    repository = DynamoRiskRepository()
    tenant = TenantId(f"rk-{uuid.uuid4().hex[:8]}")
    assert repository.block(tenant, "IP#9.9.9.9", now=1000, base=60, most=1000) == 1060
    assert repository.block(tenant, "IP#9.9.9.9", now=1010, base=60, most=1000) is None  # still blocked
    assert repository.block(tenant, "IP#9.9.9.9", now=1060, base=60, most=1000) == 1180
    assert repository.block(tenant, "IP#9.9.9.9", now=1180, base=60, most=1000) == 1420
    _, throttles = DynamoCredentialRepository().get_login_with_throttles(tenant, "x@y.org", ["IP#9.9.9.9"])
    assert throttles["IP#9.9.9.9"]["blocked_until"] == 1420
    repository.set_block(tenant, "IP#9.9.9.9", until=0, expires_at=5000)
    _, throttles = DynamoCredentialRepository().get_login_with_throttles(tenant, "x@y.org", ["IP#9.9.9.9"])
    assert throttles["IP#9.9.9.9"]["blocked_until"] == 0
