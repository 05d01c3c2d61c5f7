"""Risk-based step-up through the MFA step-up point: a remembered browser is not asked for its TOTP at home, but
is when it signs in from the other side of the world an hour later; the native API asks for the second factor,
refuses a blocked sign-in with a typed error, and records the decision with the sign-in event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import (
    MfaSite,
    callback,
    enroll_totp,
    exchange,
    make_mfa_site,
    password_step,
    post_form,
    signed_in_with_totp,
    totp_now,
)
from tests.e2e.mfa.test_native_api import App, native_client
from tests.e2e.risk.conftest import BERLIN, SYDNEY
from tests.support.oidc_client import Page, jwt_claims

pytestmark = pytest.mark.stack
__all__ = ["make_mfa_site"]  # the MFA suite's session fixture, used here


def admin_events(site: MfaSite, kind: str) -> list[dict[str, Any]]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    client, secret = container.clients().create(
        TenantId(site.slug),
        name="Admin",
        client_type="service",
        scopes=["admin"],
        client_id=f"adm-{uuid.uuid4().hex[:6]}",
    )
    token = requests.post(
        site.url("token"),
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(client.client_id, secret or ""),
        timeout=15,
    ).json()["access_token"]
    response = requests.get(
        site.url("admin/audit"), params={"type": kind}, headers={"Authorization": f"Bearer {token}"}, timeout=15
    )
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def same_browser(browser: requests.Session, headers: dict[str, str]) -> requests.Session:
    """The same browser (its cookies but the session) at another place."""
    moved = requests.Session()
    moved.headers.update(headers)
    for cookie in browser.cookies:
        if cookie.name != "gh_session":
            moved.cookies.set(cookie.name, cookie.value or "", path=cookie.path)
    return moved


def test_impossible_travel_asks_a_remembered_browser_for_its_totp(
    make_mfa_site: Callable[..., MfaSite], clock: Any
) -> None:
    site = make_mfa_site()
    with requests.Session() as browser:
        browser.headers.update(BERLIN)
        callback(password_step(browser, site), site)
        secret, _, _ = enroll_totp(browser, site, clock)
    with requests.Session() as browser:
        browser.headers.update(BERLIN)
        page = Page.parse(password_step(browser, site))
        clock.advance(30)
        code = totp_now(secret, clock)
        callback(post_form(browser, site, page, "/mfa/challenge", {"code": code, "remember": "on"}), site)
        remembered = same_browser(browser, BERLIN)  # device and "remember this device" cookies, no session
    # Home again, remembered: the password is enough.
    home = callback(password_step(remembered, site), site)
    assert jwt_claims(exchange(site, home["code"])["id_token"])["amr"] == ["pwd"]
    # An hour later from Sydney, the same browser: the risk policy asks for the second factor.
    clock.advance(3600)
    travelling = same_browser(remembered, SYDNEY)
    page = Page.parse(password_step(travelling, site))
    assert page.has_form("/mfa/challenge"), page.text[:500]
    done = post_form(travelling, site, page, "/mfa/challenge", {"code": totp_now(secret, clock)})
    assert "mfa" in jwt_claims(exchange(site, callback(done, site)["code"])["id_token"])["amr"]
    success = admin_events(site, "signin.success")[0]
    assert success["details"]["risk_decision"] == "mfa"
    assert "impossible_travel" in success["details"]["risk_signals"]
    assert success["details"]["amr"] == "pwd otp mfa"


def test_the_native_api_asks_for_the_second_factor_and_records_the_decision(
    make_mfa_site: Callable[..., MfaSite], clock: Any
) -> None:
    site = make_mfa_site()
    secret, _ = signed_in_with_totp(site, clock)
    app = App(site, native_client(site))
    token = app.start(device_id="install-1234567890abcdef")["flow_token"]
    choice = requests.post(
        site.url("authn/flows/password"),
        json={"flow_token": token, "email": site.email, "password": site.password},
        headers=SYDNEY,
        timeout=15,
    ).json()
    assert choice["next"]["type"] == "mfa_choice"
    totp = next(m for m in choice["next"]["methods"] if m["type"] == "totp")
    clock.advance(30)
    complete = app.step("mfa_verify", choice["flow_token"], method_id=totp["id"], code=totp_now(secret, clock))
    assert complete.status_code == 200, complete.text
    assert "mfa" in jwt_claims(app.tokens(complete.json())["id_token"])["amr"]
    [success] = [e for e in admin_events(site, "signin.success") if e["details"]["client_id"] == app.client_id]
    assert success["details"]["country"] == "AU" and success["details"]["risk_decision"] == "allow"


def test_the_native_api_refuses_a_blocked_sign_in_with_a_typed_error(
    make_mfa_site: Callable[..., MfaSite],
    client_address: str,
) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    site = make_mfa_site()
    app = App(site, native_client(site))
    tree = container.tenants().tree(TenantId(site.slug))
    from dataclasses import replace

    container._tenant_repository().update_node(
        replace(tree.root, settings={"risk": {"ip_deny": [f"{client_address}/32"]}})
    )
    container.tenants()._trees.invalidate(site.slug)
    refused = app.password()
    assert refused.status_code == 403
    assert refused.json()["error"] == "risk_blocked"
    assert "blocked for your protection" in refused.json()["error_description"]
    [event] = admin_events(site, "signin.failure")
    assert event["details"]["reason"] == "risk_blocked" and event["details"]["risk_signals"] == "ip_denied"


def test_the_native_api_refuses_a_risky_sign_in_without_a_factor(
    make_mfa_site: Callable[..., MfaSite], clock: Any
) -> None:
    site = make_mfa_site()
    app = App(site, native_client(site))
    first = requests.post(
        site.url("authn/flows/password"),
        json={
            "flow_token": app.start(device_id="install-aaaaaaaaaaaaaaaa")["flow_token"],
            "email": site.email,
            "password": site.password,
        },
        headers=BERLIN,
        timeout=15,
    )
    assert first.json()["status"] == "complete"
    clock.advance(3600)
    far = requests.post(
        site.url("authn/flows/password"),
        json={
            "flow_token": app.start(device_id="install-bbbbbbbbbbbbbbbb")["flow_token"],
            "email": site.email,
            "password": site.password,
        },
        headers=SYDNEY,
        timeout=15,
    )
    assert far.status_code == 403 and far.json()["error"] == "second_factor_unavailable"
