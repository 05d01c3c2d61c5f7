"""Audit events through the stream: every sign-in reaches the stream handler (DynamoDB Local's Streams API polled
and delivered to the same Chalice handler Lambda calls), which counts the analytics and emails the user about a
new device. Tenant admins read the counters (JSON and the hosted dashboard); events never hold secrets and one
tenant's admin never sees another's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.risk.conftest import BERLIN, SYDNEY, RiskTenant
from tests.support.server_time import DAY, clear_of_boundary

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stream(live_server: str) -> Any:
    from infra.local.audit_stream import AuditStreamPoller

    poller = AuditStreamPoller()
    poller.poll_once()  # start from here: earlier tests' events are delivered (and counted) too, harmlessly
    return poller


def analytics(tenant: RiskTenant, **query: str) -> requests.Response:
    return requests.get(
        f"{tenant.base}/t/{tenant.slug}/admin/analytics",
        params=query,
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
        timeout=10,
    )


def test_sign_ins_are_counted_from_the_stream_and_shown_on_the_dashboard(
    risk_tenant: Callable[..., RiskTenant], stream: Any, clock: Any
) -> None:
    tenant = risk_tenant()
    clear_of_boundary(clock, DAY, 600)  # every sign-in, and the report, on the same UTC day
    other = tenant.new_user()
    for user in (tenant.user, tenant.user, other):
        with requests.Session() as browser:
            tenant.code_of(tenant.login(browser, user))
    with requests.Session() as browser:
        assert tenant.login(browser, password="wrong-password").status_code == 401
    assert stream.poll_once() >= 4
    response = analytics(tenant, days="7")
    assert response.status_code == 200, response.text
    body = response.json()
    today = body["days"][-1]
    assert (today["signins"], today["failures"], today["active_users"]) == (3, 1, 2)
    assert body["summary"]["failures_by_reason"] == {"invalid_credentials": 1}
    assert body["summary"]["local_signins"] == 3 and body["summary"]["federated_signins"] == 0
    per_client = analytics(tenant, client="risk-web").json()["days"][-1]
    assert per_client["signins"] == 3
    page = requests.post(
        f"{tenant.base}/t/{tenant.slug}/admin/dashboard", data={"token": tenant.admin_token}, timeout=10
    )
    assert page.status_code == 200
    assert "<svg" in page.text and "Sign-ins per day" in page.text
    assert f"{today['day']}: 3</title>" in page.text
    refused = requests.post(f"{tenant.base}/t/{tenant.slug}/admin/dashboard", data={"token": "nope"}, timeout=10)
    assert refused.status_code == 401 and "<svg" not in refused.text


def test_the_dashboard_form_is_a_strict_localised_page(risk_tenant: Callable[..., RiskTenant]) -> None:
    tenant = risk_tenant()
    url = f"{tenant.base}/t/{tenant.slug}/admin/dashboard"
    form = requests.get(url, headers={"Accept-Language": "de-CH, en;q=0.5"}, timeout=10)
    assert form.status_code == 200 and '<html lang="de"' in form.text
    assert f'action="/t/{tenant.slug}/admin/dashboard"' in form.text and 'type="password"' in form.text
    assert "Identitäts-Dashboard" in form.text and "<svg" not in form.text
    policy = form.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "form-action 'self';" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy and form.headers["Cache-Control"] == "no-store"
    assert form.headers["X-Frame-Options"] == "DENY"
    empty = requests.post(url, data={"token": ""}, timeout=10)
    assert empty.status_code == 400 and "Paste an admin access token." in empty.text and "<svg" not in empty.text


def test_risk_signals_are_counted_and_a_new_device_is_emailed(
    risk_tenant: Callable[..., RiskTenant],
    stream: Any,
    clock: Any,
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    tenant = risk_tenant({"mfa_score": 100})  # let the risky sign-in through, to see the notice
    with requests.Session() as home:
        home.headers.update(BERLIN)
        tenant.code_of(tenant.login(home))
    clock.advance(3 * 86400)
    with requests.Session() as elsewhere:
        elsewhere.headers.update({**SYDNEY, "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0"})
        tenant.code_of(tenant.login(elsewhere))
    stream.poll_once()
    notices = [m for m in outbox() if tenant.user.email in m["to"] and "New sign-in" in (m["subject"] or "")]
    assert len(notices) == 1
    assert "Firefox on Windows" in notices[0]["text"]
    summary = analytics(tenant, days="7").json()["summary"]
    assert summary["top_risk_signals"] == {"new_device": 1, "new_country": 1}
    assert summary["decisions"] == {"allow": 2}


def test_events_never_hold_passwords_codes_or_tokens(risk_tenant: Callable[..., RiskTenant]) -> None:
    tenant = risk_tenant()
    with requests.Session() as browser:
        tokens = tenant.tokens(tenant.code_of(tenant.login(browser)))
    with requests.Session() as stranger:
        assert tenant.login(stranger, password="Secret-Wrong-Password-42").status_code == 401
    refreshed = tenant.op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(tenant.client_id, tenant.secret),
    )
    assert refreshed.status_code == 200
    listed = json.dumps(tenant.audit(limit="200"))
    secrets = [tenant.user.password, "Secret-Wrong-Password-42", tokens["refresh_token"], tokens["access_token"]]
    secrets += [tokens["id_token"], tenant.secret, tenant.admin_secret]
    assert all(secret not in listed for secret in secrets)
    cookie = browser.cookies.get("gh_did") or ""
    assert cookie and cookie not in listed


def test_one_tenants_admin_never_reads_anothers_events_or_analytics(risk_tenant: Callable[..., RiskTenant]) -> None:
    first, second = risk_tenant(), risk_tenant()
    with requests.Session() as browser:
        first.code_of(first.login(browser))
    foreign = requests.get(
        f"{second.base}/t/{second.slug}/admin/audit",
        headers={"Authorization": f"Bearer {first.admin_token}"},
        timeout=10,
    )
    assert foreign.status_code == 401
    assert second.audit() == []  # the second tenant's own trail holds nothing of the first
    foreign_stats = requests.get(
        f"{second.base}/t/{second.slug}/admin/analytics",
        headers={"Authorization": f"Bearer {first.admin_token}"},
        timeout=10,
    )
    assert foreign_stats.status_code == 401


def test_events_are_queryable_by_user_type_and_time_range(risk_tenant: Callable[..., RiskTenant], clock: Any) -> None:
    tenant = risk_tenant()
    other = tenant.new_user()
    with requests.Session() as browser:
        tenant.code_of(tenant.login(browser))
    clock.advance(3600)
    with requests.Session() as browser:
        tenant.code_of(tenant.login(browser, other))
    mine = tenant.audit(user=tenant.user.user_id)
    assert [e["type"] for e in mine] == ["signin.success"] and mine[0]["target"] == tenant.user.user_id
    newest = tenant.audit(type="signin.success")[0]["occurred_at"]
    early = tenant.audit(until=str(newest - 1))
    assert [e["target"] for e in early] == [tenant.user.user_id]
    late = tenant.audit(since=str(newest))
    assert [e["target"] for e in late] == [other.user_id]
    assert len(tenant.audit(limit="1")) == 1


def test_consent_and_token_revocation_are_events(risk_tenant: Callable[..., RiskTenant], live_server: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant = risk_tenant()
    third_party, secret = container.clients().create(
        TenantId(tenant.slug),
        name="Partner",
        client_type="confidential",
        redirect_uris=[tenant.redirect_uri],
        scopes=["openid", "email"],
        client_id="partner",
    )
    with requests.Session() as browser:
        page = tenant.op.authorize(browser, {**tenant.params(), "client_id": "partner", "scope": "openid email"})
        consent = tenant.op.login(browser, page, tenant.user.email, tenant.user.password)
        granted = tenant.op.consent(browser, consent, "allow")
        assert granted.status_code == 303
    [event] = tenant.audit(type="consent.granted")
    assert event["target"] == tenant.user.user_id and event["details"] == {
        "client_id": "partner",
        "scope": "openid email",
    }
    with requests.Session() as browser:
        tokens = tenant.tokens(tenant.code_of(tenant.login(browser)))
    revoked = tenant.op.revoke(
        tokens["refresh_token"], (tenant.client_id, tenant.secret), token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    [event] = tenant.audit(type="token.revoke")
    assert event["actor"] == tenant.client_id and event["details"]["hint"] == "refresh_token"
    assert tokens["refresh_token"] not in json.dumps(event) and secret not in json.dumps(event)
    assert third_party.client_id == "partner" and live_server
