"""Each risk decision end to end over HTTP: allowed sign-ins build the history, a deny-listed network is blocked
with a clear message, impossible travel asks for a second factor, and refreshes are screened too. Every decision
is recorded with its signals in the tenant's audit trail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.e2e.risk.conftest import BERLIN, SYDNEY, RiskTenant, error_text

pytestmark = pytest.mark.stack


def test_an_allowed_sign_in_sets_a_device_cookie_and_is_recorded(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session
) -> None:
    tenant = risk_tenant()
    browser.headers.update(BERLIN)
    response = tenant.login(browser)
    tenant.code_of(response)
    assert "gh_did=" in response.headers["Set-Cookie"]
    [event] = tenant.audit(type="signin.success")
    assert event["outcome"] == "success" and event["target"] == tenant.user.user_id
    assert event["details"]["risk_decision"] == "allow"
    assert event["details"]["client_id"] == "risk-web"
    assert event["details"]["country"] == "DE"
    assert len(event["details"]["device"]) == 16  # a digest, never the cookie


def test_a_deny_listed_network_is_blocked_with_a_clear_message(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session
) -> None:
    tenant = risk_tenant({"ip_deny": ["127.0.0.0/8"]})
    response = tenant.login(browser)
    assert response.status_code == 403
    assert "blocked for your protection" in error_text(response)
    assert "gh_session" not in response.headers.get("Set-Cookie", "")
    [event] = tenant.audit(type="signin.failure")
    assert event["details"]["reason"] == "risk_blocked"
    assert event["details"]["risk_signals"] == "ip_denied"
    assert event["details"]["risk_decision"] == "block"


def test_an_allow_listed_network_overrides_other_signals(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, clock: object, client_address: str
) -> None:
    tenant = risk_tenant({"ip_allow": [f"{client_address}/32"]})
    browser.headers.update(BERLIN)
    tenant.code_of(tenant.login(browser))
    clock.advance(3600)  # type: ignore[attr-defined]
    with requests.Session() as elsewhere:
        elsewhere.headers.update(SYDNEY)
        tenant.code_of(tenant.login(elsewhere))
    latest = tenant.audit(type="signin.success")[0]["details"]
    assert set(latest["risk_signals"].split()) >= {"ip_allowed", "impossible_travel"}
    assert latest["risk_decision"] == "allow"


def test_impossible_travel_an_hour_later_needs_a_second_factor(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, clock: object
) -> None:
    tenant = risk_tenant()
    browser.headers.update(BERLIN)
    tenant.code_of(tenant.login(browser))
    clock.advance(3600)  # type: ignore[attr-defined]
    with requests.Session() as elsewhere:
        elsewhere.headers.update(SYDNEY)
        response = tenant.login(elsewhere)
    assert response.status_code == 403
    assert "needs a second factor" in error_text(response)
    event = tenant.audit(type="signin.failure")[0]
    assert event["details"]["risk_decision"] == "mfa"
    assert set(event["details"]["risk_signals"].split()) == {"impossible_travel", "new_country", "new_device"}
    assert event["details"]["distance_km"] > 15000


def test_a_wrong_password_is_recorded_with_its_reason(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session
) -> None:
    tenant = risk_tenant()
    response = tenant.login(browser, password="not-the-password")
    assert response.status_code == 401
    [event] = tenant.audit(type="signin.failure")
    assert event["details"]["reason"] == "invalid_credentials"
    assert event["target"] == tenant.user.user_id or event["target"].startswith("email:")
    assert "not-the-password" not in str(event)


def test_a_refresh_from_an_impossible_place_is_refused_and_ends_the_grant(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, clock: object
) -> None:
    tenant = risk_tenant()
    browser.headers.update(BERLIN)
    tokens = tenant.tokens(tenant.code_of(tenant.login(browser)))
    auth = (tenant.client_id, tenant.secret)
    same_place = tenant.op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=auth, headers=BERLIN
    )
    assert same_place.status_code == 200, same_place.text
    clock.advance(1800)  # type: ignore[attr-defined]
    far = tenant.op.token(
        {"grant_type": "refresh_token", "refresh_token": same_place.json()["refresh_token"]}, auth=auth, headers=SYDNEY
    )
    assert far.status_code == 400
    assert far.json()["error"] == "invalid_grant"
    assert "security policy" in far.json()["error_description"]
    assert not tenant.op.is_active(same_place.json()["access_token"], auth)  # the grant is revoked
    [event] = tenant.audit(type="token.refresh")
    assert event["outcome"] == "failure" and "impossible_travel" in event["details"]["risk_signals"]


def test_a_refresh_from_a_deny_listed_network_is_refused(
    risk_tenant: Callable[..., RiskTenant], browser: requests.Session, client_address: str
) -> None:
    tenant = risk_tenant()
    tokens = tenant.tokens(tenant.code_of(tenant.login(browser)))
    tenant.set_risk({"ip_deny": [client_address]})
    response = tenant.op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(tenant.client_id, tenant.secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
