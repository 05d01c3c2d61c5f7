"""``token.issue`` / ``token.revoke`` audit events end to end over real HTTP: tokens issued by every grant, then
the events in ``/t/{t}/admin/audit`` with grant type, client, subject, grant id and jti, never a token.

The code exchange's event is written in the grant's own transaction (visible at once); client credentials and
refresh events travel the audit log channel (a JSON line per event, which the local stack ships to the same ingest
function the CloudWatch Logs subscription calls in AWS), so they appear once the lines are shipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.risk.conftest import RiskTenant
from tests.support.oidc_client import jwt_claims

AGENT = "token-events-test/1.0"


@pytest.fixture(scope="module")
def shipper() -> Any:
    from infra.local.audit_log import AuditLogShipper

    return AuditLogShipper()


class Audit:
    """The tenant's audit API with one admin token (each new token would be a token.issue event itself)."""

    def __init__(self, tenant: RiskTenant) -> None:
        self.tenant = tenant
        self.token = tenant.admin_token

    def __call__(self, **query: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.tenant.base}/t/{self.tenant.slug}/admin/audit",
            params={"limit": "200", **query},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])

    def of_users(self, kind: str) -> list[dict[str, Any]]:
        """Events of ``kind`` except the admin token's own issue."""
        return [e for e in self(type=kind) if e["actor"] != "risk-admin"]


def signed_in(tenant: RiskTenant, scope: str = "openid offline_access") -> tuple[requests.Session, dict[str, Any]]:
    browser = requests.Session()
    browser.headers["User-Agent"] = AGENT
    page = tenant.op.authorize(browser, tenant.params(scope=scope))
    code = tenant.code_of(tenant.op.login(browser, page, tenant.user.email, tenant.user.password))
    response = tenant.op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": tenant.redirect_uri},
        auth=(tenant.client_id, tenant.secret),
        headers={"User-Agent": AGENT},
    )
    assert response.status_code == 200, response.text
    return browser, dict(response.json())


def refreshed(tenant: RiskTenant, refresh_token: str) -> requests.Response:
    return tenant.op.token(
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(tenant.client_id, tenant.secret),
        headers={"User-Agent": AGENT},
    )


def test_every_grant_records_a_token_issue_event(
    risk_tenant: Callable[..., RiskTenant], shipper: Any, live_server: str
) -> None:
    tenant = risk_tenant()
    audit = Audit(tenant)
    _, tokens = signed_in(tenant)
    # The exchange's event was written with its grant: there before any log line is shipped.
    [exchange] = audit.of_users("token.issue")
    renewed = refreshed(tenant, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    service = tenant.op.token(
        {"grant_type": "client_credentials", "scope": "admin"}, auth=("risk-admin", tenant.admin_secret)
    )
    assert service.status_code == 200
    assert audit.of_users("token.issue") == [exchange]
    assert shipper.ship_once() >= 3

    issued = {e["details"]["grant_type"]: e for e in audit(type="token.issue") if e["target"] != "risk-admin"}
    assert set(issued) == {"authorization_code", "refresh_token"}
    assert issued["authorization_code"] == exchange
    access = jwt_claims(tokens["access_token"])
    assert exchange["target"] == tenant.user.user_id and exchange["actor"] == tenant.client_id
    assert exchange["details"] == {
        "client_id": tenant.client_id,
        "grant_type": "authorization_code",
        "grant_id": access["gid"],
        "jti": access["jti"],
        "scope": "openid offline_access",
    }
    assert exchange["user_agent"] == AGENT and exchange["source_ip"] and exchange["outcome"] == "success"
    refresh = issued["refresh_token"]
    assert refresh["details"]["jti"] == jwt_claims(renewed.json()["access_token"])["jti"]
    assert refresh["details"]["grant_id"] == access["gid"] and refresh["target"] == tenant.user.user_id
    assert refresh["user_agent"] == AGENT
    service_jti = jwt_claims(service.json()["access_token"])["jti"]
    [machine] = [e for e in audit(type="token.issue") if e["details"]["jti"] == service_jti]
    assert machine["actor"] == machine["target"] == "risk-admin" and machine["node"] == tenant.slug
    assert machine["details"]["grant_type"] == "client_credentials" and machine["details"]["scope"] == "admin"
    everything = json.dumps(audit())
    for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"], tenant.secret):
        assert secret not in everything
    for token in (renewed.json()["refresh_token"], service.json()["access_token"], tenant.admin_secret):
        assert token not in everything
    # Filtering by user finds the user's token events too.
    assert {e["details"]["grant_type"] for e in audit(type="token.issue", user=tenant.user.user_id)} == {
        "authorization_code",
        "refresh_token",
    }
    assert live_server


def test_shipping_again_stores_nothing_twice(risk_tenant: Callable[..., RiskTenant], shipper: Any) -> None:
    from infra.local.audit_log import AuditLogShipper

    tenant = risk_tenant()
    audit = Audit(tenant)
    for _ in range(3):
        response = tenant.op.token({"grant_type": "client_credentials"}, auth=("risk-admin", tenant.admin_secret))
        assert response.status_code == 200
    shipper.ship_once()
    first = audit(type="token.issue")
    assert len(first) == 4  # the audit reader's own token and the three
    AuditLogShipper().ship_once()  # a fresh shipper delivers every line of the file again (a redelivery)
    assert audit(type="token.issue") == first


def test_refused_requests_are_recorded_as_failures(risk_tenant: Callable[..., RiskTenant], shipper: Any) -> None:
    tenant = risk_tenant()
    audit = Audit(tenant)
    bad = refreshed(tenant, "abcdefgh.0." + "x" * 43)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    shipper.ship_once()
    [event] = audit.of_users("token.issue")
    assert event["outcome"] == "failure" and event["actor"] == tenant.client_id
    assert event["details"]["grant_type"] == "refresh_token" and event["details"]["reason"] == "CodeInvalid"


def test_refresh_token_reuse_records_the_family_revocation(
    risk_tenant: Callable[..., RiskTenant], shipper: Any, clock: Any
) -> None:
    tenant = risk_tenant()
    _, tokens = signed_in(tenant)
    gid = jwt_claims(tokens["access_token"])["gid"]
    assert refreshed(tenant, tokens["refresh_token"]).status_code == 200
    clock.advance(3600)  # past the retry grace window: presenting the rotated token again is reuse
    reused = refreshed(tenant, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    shipper.ship_once()
    [revoked] = Audit(tenant).of_users("token.revoke")  # an admin token of the advanced clock
    assert revoked["details"] == {"client_id": tenant.client_id, "reason": "refresh_token_reuse", "grant_id": gid}
    assert revoked["actor"] == tenant.client_id and revoked["user_agent"] == AGENT


def test_authorization_code_reuse_records_the_revocation(risk_tenant: Callable[..., RiskTenant], shipper: Any) -> None:
    tenant = risk_tenant()
    audit = Audit(tenant)
    browser = requests.Session()
    page = tenant.op.authorize(browser, tenant.params())
    code = tenant.code_of(tenant.op.login(browser, page, tenant.user.email, tenant.user.password))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": tenant.redirect_uri}
    first = tenant.op.token(form, auth=(tenant.client_id, tenant.secret))
    assert first.status_code == 200
    assert tenant.op.token(form, auth=(tenant.client_id, tenant.secret)).status_code == 400
    shipper.ship_once()
    [revoked] = audit.of_users("token.revoke")
    assert revoked["details"]["reason"] == "authorization_code_reuse"
    assert revoked["details"]["grant_id"] == jwt_claims(first.json()["access_token"])["gid"]
    assert tenant.op.introspect(first.json()["access_token"], (tenant.client_id, tenant.secret)).json() == {
        "active": False
    }


def test_logout_and_the_revocation_endpoint_record_revocations(
    risk_tenant: Callable[..., RiskTenant], shipper: Any
) -> None:
    tenant = risk_tenant()
    audit = Audit(tenant)
    browser, tokens = signed_in(tenant, scope="openid")
    gid = jwt_claims(tokens["access_token"])["gid"]
    logout = browser.get(
        tenant.op["end_session_endpoint"], params={"id_token_hint": tokens["id_token"]}, allow_redirects=False
    )
    assert logout.status_code == 200, logout.text
    _, second = signed_in(tenant)
    revoked = tenant.op.revoke(second["access_token"], (tenant.client_id, tenant.secret))
    assert revoked.status_code == 200
    shipper.ship_once()
    events = {e["details"]["reason"]: e for e in audit.of_users("token.revoke")}
    assert set(events) == {"logout", "revocation_endpoint"}
    assert events["logout"]["details"]["grant_id"] == gid and events["logout"]["target"] == tenant.user.user_id
    endpoint = events["revocation_endpoint"]
    assert endpoint["details"]["jti"] == jwt_claims(second["access_token"])["jti"]
    assert endpoint["target"] == tenant.user.user_id
