"""The issue's "done means", in a real headless Chromium against the seeded demo tenant: alice enrolls TOTP in the
hosted pages, signs in with it from ``demo-web``, signs in from ``demo-mobile`` through the native API with an SMS
code read from ``/_local/outbox``, and uses a recovery code when the phone is lost."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the module-scoped browser fixture
from tests.support.demo import alice_as_seeded, demo_web_tokens, totp  # noqa: F401 - alice_as_seeded is a fixture
from tests.support.oidc_client import jwt_claims, pkce_pair

pytestmark = [pytest.mark.stack, pytest.mark.browser]
MOBILE_REDIRECT = "com.example.demo:/callback"


def web_authorize(demo: dict[str, Any]) -> tuple[str, dict[str, str]]:
    params = {
        "client_id": "demo-web",
        "redirect_uri": demo["web_redirect_uri"],
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    return f"{demo['issuer']}/authorize?{urlencode(params)}", params


def web_tokens(demo: dict[str, Any], browser: BrowserSession) -> dict[str, Any]:
    return demo_web_tokens(demo, browser.page)


def native(demo: dict[str, Any], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{demo['issuer']}/authn/{path}", json=body, timeout=15)
    assert response.status_code == 200, response.text
    return dict(response.json())


def mobile_sign_in(demo: dict[str, Any], pick: str, answer: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """demo-mobile: start, password, choose ``pick``, answer; then the code exchange with PKCE."""
    verifier, challenge = pkce_pair()
    started = native(
        demo,
        "flows",
        {
            "client_id": "demo-mobile",
            "redirect_uri": MOBILE_REDIRECT,
            "scope": "openid offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
        },
    )
    choice = native(
        demo,
        "flows/password",
        {"flow_token": started["flow_token"], "email": demo["user_email"], "password": demo["user_password"]},
    )
    method = next(m for m in choice["next"]["methods"] if m["type"] == pick)
    selected = native(demo, "flows/mfa_select", {"flow_token": choice["flow_token"], "method_id": method["id"]})
    done = native(
        demo,
        "flows/mfa_verify",
        {"flow_token": selected["flow_token"], "method_id": method["id"], "code": answer(selected)},
    )
    assert done["status"] == "complete" and done["state"] == "s1"
    response = requests.post(
        f"{demo['issuer']}/token",
        data={
            "grant_type": "authorization_code",
            "code": done["authorization_code"],
            "redirect_uri": MOBILE_REDIRECT,
            "client_id": "demo-mobile",
            "code_verifier": verifier,
        },
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def sms_code_from_outbox(demo: dict[str, Any], number: str) -> str:
    messages = requests.get(demo["outbox"], timeout=15).json()
    texts = [m["text"] for m in messages if number in m["to"] and m["channel"] == "sms"]
    assert texts, messages[:3]
    return re.search(r"\b(\d{6})\b", texts[0]).group(1)  # type: ignore[union-attr]


@pytest.mark.usefixtures("alice_as_seeded")
def test_demo_user_totp_web_sms_mobile_and_recovery_code(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    demo: dict[str, Any],
    clock: Any,
) -> None:
    # 1. alice signs in to demo-web with her password and enrolls an authenticator app in the hosted pages.
    browser = chromium()
    page = browser.page
    url, _ = web_authorize(demo)
    page.goto(url)
    browser.sign_in(demo["user_email"], demo["user_password"])
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    page.goto(f"{demo['issuer']}/mfa/factors")
    assert page.locator("#no-factors").count() == 1
    page.click("#enroll-methods a[href*='/mfa/enroll/totp']")
    assert page.locator("#qr-code svg").count() == 1
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert f"secret={secret}" in (page.locator("#otpauth-uri").get_attribute("href") or "")
    page.fill("#code", totp(secret, clock))
    page.click("button[type=submit]")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.click("a.button")  # "I saved them"
    expect(page.locator("#factor-list li")).to_have_count(1)  # waits for the redirect to the list

    # ... and adds her phone for text-message codes (verified by a code before it is used).
    page.click("#enroll-methods a[href*='/mfa/enroll/sms_otp']")
    number = f"+4179{secrets.randbelow(10**7):07d}"
    page.fill("#phone_number", number)
    page.click("button[type=submit]")
    page.fill("#code", sms_code_from_outbox(demo, number))
    page.click("button[name=step][value=confirm]")
    expect(page.locator("#factor-list li")).to_have_count(2)
    assert browser.console_errors == [], browser.console_errors

    # 2. A new browser: password, then the authenticator app's code; the ID token says what happened.
    clock.advance(30)
    second = chromium()
    url, params = web_authorize(demo)
    second.page.goto(url)
    second.sign_in(demo["user_email"], demo["user_password"])
    assert second.page.locator("h1").inner_text() == "Verify it's you"
    second.page.fill("#code", totp(secret, clock))
    second.page.click("button[value=verify]")
    second.page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    claims = jwt_claims(web_tokens(demo, second)["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    assert claims["nonce"] == params["nonce"]

    # 3. demo-mobile through the native API, with an SMS code read from the local outbox.
    tokens = mobile_sign_in(demo, "sms_otp", lambda _: sms_code_from_outbox(demo, number))
    assert jwt_claims(tokens["id_token"])["amr"] == ["pwd", "sms", "mfa"] and tokens["refresh_token"]

    # 4. The phone is lost: a recovery code gets her in, in the app and in the browser; each code works once.
    tokens = mobile_sign_in(demo, "recovery_code", lambda _: codes[0])
    assert jwt_claims(tokens["id_token"])["acr"] == "urn:gatehouse:loa:2"
    third = chromium()
    url, _ = web_authorize(demo)
    third.page.goto(url)
    third.sign_in(demo["user_email"], demo["user_password"])
    third.page.click("button[value='use:recovery_code:recovery']")
    third.page.fill("#code", codes[0])
    third.page.click("button[value=verify]")
    assert "not valid" in third.page.locator("[role=alert]").inner_text()
    third.page.fill("#code", codes[1])
    third.page.click("button[value=verify]")
    third.page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    assert jwt_claims(web_tokens(demo, third)["id_token"])["acr"] == "urn:gatehouse:loa:2"
