"""Per-IP limits on unauthenticated self-service requests."""

from __future__ import annotations

import pytest

from chalicelib.core import clock
from chalicelib.core.errors import RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.services.request_limits import BLOCK_SECONDS, REQUESTS_PER_WINDOW, RequestLimiter
from tests.support.fakes import MemoryThrottles

TENANT = TenantId("t1")


@pytest.fixture
def limiter() -> RequestLimiter:
    clock.reset()
    return RequestLimiter(MemoryThrottles())


def test_requests_under_the_limit_pass_and_the_next_one_is_blocked(limiter: RequestLimiter) -> None:
    for _ in range(REQUESTS_PER_WINDOW):
        limiter.count(TENANT, "register", "203.0.113.5")
    with pytest.raises(RateLimited) as raised:
        limiter.count(TENANT, "register", "203.0.113.5")
    assert raised.value.retry_after == BLOCK_SECONDS


def test_limits_are_per_ip_action_and_tenant(limiter: RequestLimiter) -> None:
    for _ in range(REQUESTS_PER_WINDOW):
        limiter.count(TENANT, "register", "203.0.113.5")
    limiter.count(TENANT, "forgot", "203.0.113.5")
    limiter.count(TENANT, "register", "198.51.100.7")
    limiter.count(TenantId("t2"), "register", "203.0.113.5")


def test_the_block_ends(limiter: RequestLimiter) -> None:
    for _ in range(REQUESTS_PER_WINDOW + 1):
        try:
            limiter.count(TENANT, "resend", "203.0.113.5")
        except RateLimited:
            pass
    clock.advance(BLOCK_SECONDS + 1)
    try:
        limiter.count(TENANT, "resend", "203.0.113.5")
    finally:
        clock.reset()


def test_unknown_actions_are_a_programming_error(limiter: RequestLimiter) -> None:
    with pytest.raises(ValueError):
        limiter.count(TENANT, "anything", "203.0.113.5")
