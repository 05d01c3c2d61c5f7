"""Fraud response over HTTP: credential stuffing from one IP blocks it (with a growing duration, lifted when it
expires), raises an alert on the SNS topic and a ``fraud.block`` event; admins lock and unlock accounts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.risk.conftest import RiskTenant, error_text
from tests.support.server_time import clear_of_boundary

pytestmark = pytest.mark.stack

STUFFING = {"stuffing_accounts_per_ip": 3, "stuffing_block_seconds": 120, "stuffing_window_seconds": 86400}
# Stuffing windows are fixed (epoch-aligned: UTC days here): the tests' failures, clock moves included, must all
# fall in one of them, so each test starts with at least this long left in its window.
WINDOW_NEEDED = 900


def alerts_of(outbox: Callable[[], list[dict[str, Any]]], tenant: str) -> list[dict[str, Any]]:
    found = []
    for entry in outbox():
        if entry["channel"] == "alert":
            message = json.loads(entry["text"])
            if message["tenant"] == tenant:
                found.append(message)
    return found


def test_credential_stuffing_blocks_the_ip_until_the_block_expires(
    risk_tenant: Callable[..., RiskTenant],
    browser: requests.Session,
    clock: Any,
    outbox: Callable[[], list[dict[str, Any]]],
    client_address: str,
) -> None:
    tenant = risk_tenant(STUFFING)
    clear_of_boundary(clock, STUFFING["stuffing_window_seconds"], WINDOW_NEEDED)
    for n in range(3):
        response = tenant.login(browser, tenant.new_user(), password=f"wrong-{n}")
        assert response.status_code == 401
    refused = tenant.login(browser)  # the right password, from the blocked IP
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in error_text(refused)
    assert 0 < int(refused.headers["Retry-After"]) <= 120
    [alert] = alerts_of(outbox, tenant.slug)
    assert alert["kind"] == "credential_stuffing" and alert["pattern"] == "many_accounts_from_ip"
    assert alert["subject"] == client_address and alert["distinct"] == 3
    [event] = tenant.audit(type="fraud.block")
    assert event["target"] == client_address and event["outcome"] == "failure"

    clock.advance(121)
    with requests.Session() as later:
        tenant.code_of(tenant.login(later))  # the block has expired

    # The pattern continues in the same window: the next block lasts twice as long.
    with requests.Session() as later:
        tenant.login(later, tenant.new_user(), password="wrong-again")
        second = tenant.login(later)
    assert second.status_code == 429 and 120 < int(second.headers["Retry-After"]) <= 240
    assert len(alerts_of(outbox, tenant.slug)) == 2


def test_stuffing_in_one_tenant_does_not_block_another(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, clock: Any
) -> None:
    noisy, quiet = risk_tenant(STUFFING), risk_tenant(STUFFING)
    clear_of_boundary(clock, STUFFING["stuffing_window_seconds"], WINDOW_NEEDED)
    for n in range(3):
        noisy.login(browser, noisy.new_user(), password=f"wrong-{n}")
    assert noisy.login(browser).status_code == 429
    quiet.code_of(quiet.login(browser))


def admin_post(tenant: RiskTenant, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return requests.post(
        f"{tenant.base}/t/{tenant.slug}/admin/users/{path}",
        data=json.dumps(body) if body is not None else None,
        headers=headers,
        timeout=10,
    )


def test_admins_lock_and_unlock_an_account_and_both_are_audited(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    tenant = risk_tenant()
    tokens = tenant.tokens(tenant.code_of(tenant.login(browser)))
    locked = admin_post(tenant, f"{tenant.user.user_id}/lock", {"seconds": 3600})
    assert locked.status_code == 200, locked.text
    assert locked.json()["revoked"]["grants"] >= 1
    assert not tenant.op.is_active(tokens["access_token"], (tenant.client_id, tenant.secret))
    with requests.Session() as fresh:
        assert tenant.login(fresh).status_code == 429
    assert admin_post(tenant, f"{tenant.user.user_id}/unlock").status_code == 200
    with requests.Session() as fresh:
        tenant.code_of(tenant.login(fresh))
    actions = [e["type"] for e in tenant.audit(type="admin.user.")]
    assert actions == ["admin.user.unlock", "admin.user.lock"]
    kinds = {a["kind"] for a in alerts_of(outbox, tenant.slug)}
    assert kinds == {"account_locked", "account_unlocked"}


@pytest.mark.parametrize("body", [{"seconds": 5}, {"seconds": "soon"}, {"seconds": True}, []])
def test_a_lock_needs_a_sane_duration(risk_tenant: Callable[..., RiskTenant], body: Any) -> None:
    tenant = risk_tenant()
    response = admin_post(tenant, f"{tenant.user.user_id}/lock", body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_lock_of_an_unknown_user_is_not_found(risk_tenant: Callable[..., RiskTenant]) -> None:
    tenant = risk_tenant()
    assert admin_post(tenant, "nobody/lock").status_code == 404
