"""Security alerts as EventBridge events over HTTP: a credential-stuffing block and an admin lock each reach a rule
selecting the tenant's alerts on the alerts bus (and not a rule of another tenant), alongside the SNS alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.risk.conftest import RiskTenant
from tests.e2e.risk.test_fraud import STUFFING, WINDOW_NEEDED, admin_post, alerts_of
from tests.support.alert_events import alert_queue, tenant_pattern
from tests.support.server_time import clear_of_boundary

pytestmark = pytest.mark.stack


def test_a_credential_stuffing_block_is_an_event_for_the_tenants_rule_only(
    risk_tenant: Callable[..., RiskTenant],
    browser: requests.Session,
    clock: Any,
    outbox: Callable[[], list[dict[str, Any]]],
    client_address: str,
) -> None:
    tenant, other = risk_tenant(STUFFING), risk_tenant(STUFFING)
    clear_of_boundary(clock, STUFFING["stuffing_window_seconds"], WINDOW_NEEDED)
    with alert_queue(tenant_pattern(tenant.slug)) as mine, alert_queue(tenant_pattern(other.slug)) as theirs:
        for n in range(3):
            assert tenant.login(browser, tenant.new_user(), password=f"wrong-{n}").status_code == 401
        assert tenant.login(browser).status_code == 429

        [event] = mine.events(wait_seconds=2)
        assert event["source"] == "gatehouse" and event["detail-type"] == "Gatehouse Security Alert"
        detail = event["detail"]
        assert detail["tenant"] == tenant.slug and detail["kind"] == "credential_stuffing"
        assert detail["pattern"] == "many_accounts_from_ip" and detail["blocked"] == "ip"
        assert detail["subject"] == client_address and detail["distinct"] == 3
        assert detail["blocked_until"] > clock.now()
        assert theirs.events() == []
    # The same alert went to the SNS topic, once.
    [alert] = alerts_of(outbox, tenant.slug)
    assert {k: alert[k] for k in detail} == detail


def test_admin_locks_are_events_a_rule_can_select_by_kind(risk_tenant: Callable[..., RiskTenant]) -> None:
    tenant = risk_tenant()
    with alert_queue(tenant_pattern(tenant.slug, kind=["account_locked"])) as locks:
        assert admin_post(tenant, f"{tenant.user.user_id}/lock", {"seconds": 3600}).status_code == 200
        assert admin_post(tenant, f"{tenant.user.user_id}/unlock").status_code == 200
        events = locks.events(wait_seconds=2)
    assert [(e["detail"]["tenant"], e["detail"]["kind"]) for e in events] == [(tenant.slug, "account_locked")]
    assert tenant.user.email not in str(events), "alerts carry no email address"
