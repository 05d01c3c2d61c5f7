"""The issue's "done means", in headless Chromium against the seeded demo tenant: alice signs in at home (Berlin,
a remembered browser: no second factor asked), then an hour later from Sydney, and that sign-in asks for her
TOTP; the tenant admin sees the event with its signals, and the dashboard shows the day's sign-ins."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the module-scoped browser fixture
from tests.e2e.risk.conftest import BERLIN, SYDNEY
from tests.support.demo import alice_as_seeded, demo_web_tokens, totp  # noqa: F401 - alice_as_seeded is a fixture
from tests.support.oidc_client import jwt_claims

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def authorize_url(demo: dict[str, Any]) -> str:
    params = {
        "client_id": "demo-web",
        "redirect_uri": demo["web_redirect_uri"],
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "prompt": "login",
    }
    return f"{demo['issuer']}/authorize?{urlencode(params)}"


def id_token(demo: dict[str, Any], browser: BrowserSession) -> dict[str, Any]:
    return jwt_claims(demo_web_tokens(demo, browser.page)["id_token"])


def admin_token(demo: dict[str, Any]) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    client, secret = container.clients().create(
        TenantId("demo"),
        name="Risk admin",
        client_type="service",
        scopes=["admin"],
        client_id=f"adm-{secrets.token_hex(4)}",
    )
    response = requests.post(
        f"{demo['issuer']}/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(client.client_id, secret or ""),
        timeout=15,
    )
    return str(response.json()["access_token"])


@pytest.mark.usefixtures("alice_as_seeded")
def test_far_away_sign_in_an_hour_later_asks_for_a_second_factor(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    demo: dict[str, Any],
    clock: Any,
) -> None:
    browser = chromium()
    page = browser.page
    browser.context.set_extra_http_headers(BERLIN)
    # At home: alice signs in and sets up an authenticator app.
    page.goto(authorize_url(demo))
    browser.sign_in(demo["user_email"], demo["user_password"])
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    page.goto(f"{demo['issuer']}/mfa/factors")
    page.click("#enroll-methods a[href*='/mfa/enroll/totp']")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#code", totp(secret, clock))
    page.click("button[type=submit]")
    page.click("a.button")
    # She signs in with it once and lets the browser remember this device ...
    clock.advance(30)
    page.goto(authorize_url(demo))
    browser.sign_in(demo["user_email"], demo["user_password"])
    page.fill("#code", totp(secret, clock))
    page.check("#remember")
    page.click("button[value=verify]")
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    # ... so at home the password is enough.
    page.goto(authorize_url(demo))
    browser.sign_in(demo["user_email"], demo["user_password"])
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    assert id_token(demo, browser)["amr"] == ["pwd"]

    # An hour later, the same browser signs in from Sydney: the risk engine asks for the second factor.
    clock.advance(3600)
    browser.context.set_extra_http_headers(SYDNEY)
    page.goto(authorize_url(demo))
    browser.sign_in(demo["user_email"], demo["user_password"])
    assert page.locator("h1").inner_text() == "Verify it's you"
    page.fill("#code", totp(secret, clock))
    page.click("button[value=verify]")
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    assert id_token(demo, browser)["amr"] == ["pwd", "otp", "mfa"]

    # The tenant admin sees the sign-in with its decision and signals ...
    token = admin_token(demo)
    events = requests.get(
        f"{demo['issuer']}/admin/audit",
        params={"type": "signin.success", "limit": "20"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    ).json()["events"]
    sydney = next(e for e in events if e["details"].get("country") == "AU")
    assert sydney["details"]["risk_decision"] == "mfa"
    assert "impossible_travel" in sydney["details"]["risk_signals"].split()
    assert sydney["details"]["distance_km"] > 15000

    # ... and the dashboard shows the day's sign-ins (counted from the audit stream).
    from infra.local.audit_stream import AuditStreamPoller

    AuditStreamPoller().poll_once()
    page.goto(f"{demo['issuer']}/admin/dashboard")
    page.fill("input[name=token]", token)
    page.click("button")
    assert page.locator("svg").count() == 3
    days = requests.get(
        f"{demo['issuer']}/admin/analytics", headers={"Authorization": f"Bearer {token}"}, timeout=15
    ).json()["days"]
    # The hour's jump may cross midnight (UTC), splitting the four sign-ins over yesterday and today.
    assert sum(day["signins"] for day in days[-2:]) >= 4
    chart = page.locator("figure").first.inner_html()
    for day in days[-2:]:
        assert f"{day['day']}: {day['signins']}" in chart
