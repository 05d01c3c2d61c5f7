"""Risk repository on DynamoDB Local: the history round trip (tenant-scoped), stuffing sets grown with ADD, and
fraud blocks on the throttle item the password sign-in reads, doubling and never stacking."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.stack


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


def test_stuffing_counts_distinct_members_per_window(local_stack: Any) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    repository = DynamoRiskRepository()
    tenant = TenantId(f"rk-{uuid.uuid4().hex[:8]}")
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="A", window=1, expires_at=9) == (1, 1)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="A", window=1, expires_at=9) == (1, 1)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="B", window=1, expires_at=9) == (2, 1)
    assert repository.count_stuffing(tenant, ip="5.6.7.8", account="B", window=1, expires_at=9) == (1, 2)
    assert repository.count_stuffing(tenant, ip="1.2.3.4", account="C", window=2, expires_at=9) == (1, 1)


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
