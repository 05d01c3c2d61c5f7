"""Credential stuffing seen from many client addresses, end to end: the local server reports each connection's
real peer address (every 127.0.0.0/8 address is loopback on Linux), so one account attacked from many IPs is
blocked for a while (the right password too, with a clear message), the block expires and the next one lasts
twice as long; an IP trying many accounts is blocked while other IPs sign in. Client-sent X-Forwarded-For is
never believed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core.risk import DEFAULT_POLICY
from tests.e2e.risk.conftest import RiskTenant, error_text
from tests.e2e.risk.test_fraud import WINDOW_NEEDED, alerts_of
from tests.support.server_time import clear_of_boundary
from tests.support.source_address import session_from

pytestmark = pytest.mark.stack

MANY_IPS = {
    "stuffing_ips_per_account": 3,
    "stuffing_accounts_per_ip": 0,  # only the per-account pattern here
    "stuffing_block_seconds": 120,
    "stuffing_window_seconds": 86400,
}


def test_the_server_sees_each_clients_own_address_and_ignores_forwarded_headers(
    risk_tenant: Callable[..., RiskTenant],
) -> None:
    tenant = risk_tenant()
    with session_from("127.0.0.23") as browser:
        browser.headers["X-Forwarded-For"] = "198.51.100.9"
        tenant.code_of(tenant.login(browser))
    [event] = tenant.audit(type="signin.success")
    assert event["source_ip"] == "127.0.0.23"
    assert "198.51.100.9" not in json.dumps(tenant.audit())


def test_failures_from_many_ips_block_the_account_with_growing_durations(
    risk_tenant: Callable[..., RiskTenant], clock: Any, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    tenant = risk_tenant(MANY_IPS)
    clear_of_boundary(clock, MANY_IPS["stuffing_window_seconds"], WINDOW_NEEDED)
    for n in (21, 22, 23):
        with session_from(f"127.0.0.{n}") as attacker:
            assert tenant.login(attacker, password=f"guess-{n}").status_code == 401
    with session_from("127.0.0.40") as owner:  # the owner, from an address that never failed
        refused = tenant.login(owner)
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in error_text(refused)
    assert 0 < int(refused.headers["Retry-After"]) <= 120
    [alert] = alerts_of(outbox, tenant.slug)
    assert alert["pattern"] == "many_ips_on_account" and alert["blocked"] == "account" and alert["distinct"] == 3
    assert tenant.user.email not in json.dumps(alert), "the alert names the account by digest only"
    [event] = tenant.audit(type="fraud.block")
    assert event["outcome"] == "failure" and event["details"]["pattern"] == "many_ips_on_account"
    assert event["source_ip"] == "127.0.0.23"
    with session_from("127.0.0.41") as bystander:  # other accounts are not affected
        tenant.code_of(tenant.login(bystander, tenant.new_user()))

    clock.advance(121)
    with session_from("127.0.0.40") as owner:
        tenant.code_of(tenant.login(owner))  # the block has expired

    # The pattern goes on in the same window: the next block lasts twice as long.
    with session_from("127.0.0.24") as attacker:
        assert tenant.login(attacker, password="guess-24").status_code == 401
    with session_from("127.0.0.40") as owner:
        again = tenant.login(owner)
    assert again.status_code == 429 and 120 < int(again.headers["Retry-After"]) <= 240
    assert "Too many sign-in attempts" in error_text(again)
    assert [a["pattern"] for a in alerts_of(outbox, tenant.slug)] == ["many_ips_on_account"] * 2

    clock.advance(241)
    with session_from("127.0.0.40") as owner:
        tenant.code_of(tenant.login(owner))


def test_many_accounts_from_one_ip_block_that_ip_only(
    risk_tenant: Callable[..., RiskTenant], outbox: Callable[[], list[dict[str, Any]]], clock: Any
) -> None:
    tenant = risk_tenant({"stuffing_accounts_per_ip": 3, "stuffing_ips_per_account": 0, "stuffing_block_seconds": 120})
    clear_of_boundary(clock, DEFAULT_POLICY["stuffing_window_seconds"], WINDOW_NEEDED)
    with session_from("127.0.0.31") as attacker:
        for n in range(3):
            assert tenant.login(attacker, tenant.new_user(), password=f"wrong-{n}").status_code == 401
        refused = tenant.login(attacker)  # even the right password of a real user, from the blocked IP
    assert refused.status_code == 429 and "Too many sign-in attempts" in error_text(refused)
    [alert] = alerts_of(outbox, tenant.slug)
    assert alert["pattern"] == "many_accounts_from_ip" and alert["subject"] == "127.0.0.31"
    with session_from("127.0.0.32") as neighbour:
        tenant.code_of(tenant.login(neighbour))  # the same account from another address is fine
