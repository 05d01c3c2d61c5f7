"""The hosted sign-in in a real headless Chromium (Playwright, sync API): a web client, a native PKCE client whose
custom-scheme redirect is captured by intercepting the navigation, SSO, and the login page without JavaScript."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.oidc_client import E2EUser, Provider, pkce_pair, query_params, verify_id_token

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MOBILE_REDIRECT = "com.example.demo:/callback"


class BrowserSession:
    """One Chromium profile (fresh user-data-dir) with one page, recording console errors and requests."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.page = context.pages[0] if context.pages else context.new_page()
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(f"{r.method} {r.url}"))
        self.captured: list[str] = []

    def capture_custom_scheme(self, scheme: str) -> None:
        """Intercept the provider's redirects to ``scheme:`` (a browser cannot follow them) and record them."""

        def handle(route: Any) -> None:
            response = route.fetch(max_redirects=0)
            location = response.headers.get("location", "")
            if location.startswith(f"{scheme}:"):
                self.captured.append(location)
                route.fulfill(status=200, content_type="text/html", body="<!DOCTYPE html><title>app</title><p>ok</p>")
            else:
                route.fulfill(response=response)

        self.page.route("**/t/demo/login", handle)
        self.page.route("**/t/demo/authorize?*", handle)

    def sign_in(self, email: str, password: str) -> None:
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")

    def callback_params(self) -> dict[str, str]:
        cells = self.page.locator("#callback-params td[data-name]")
        return {cells.nth(i).get_attribute("data-name") or "": cells.nth(i).inner_text() for i in range(cells.count())}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Callable[..., BrowserSession]]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    contexts: list[Any] = []
    profiles: list[str] = []

    def open_browser(**options: Any) -> BrowserSession:
        profile = tempfile.mkdtemp(prefix="gatehouse-chromium-")
        profiles.append(profile)
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return BrowserSession(context)

    try:
        yield open_browser
    finally:
        for context in contexts:
            context.close()
        playwright.stop()
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)


def authorize_url(op: Provider, **params: str) -> str:
    return f"{op['authorization_endpoint']}?{urlencode(params)}"


def web_params(callback: str) -> dict[str, str]:
    return {
        "client_id": "demo-web",
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }


def mobile_params(challenge: str) -> dict[str, str]:
    return {
        "client_id": "demo-mobile",
        "redirect_uri": MOBILE_REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def test_web_client_sign_in_and_sso(
    chromium: Callable[..., BrowserSession], op: Provider, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    browser = chromium()
    page = browser.page
    params = web_params(callback)
    page.goto(authorize_url(op, **params))
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.locator("form[action$='/t/demo/login']:not(#passkey-signin) input[name=csrf]").count() == 1
    browser.sign_in(user.email, user.password)
    page.wait_for_url(f"{callback}?*")

    received = browser.callback_params()
    assert received["state"] == params["state"] and received["iss"] == op.issuer and received["code"]
    response = op.token(
        {"grant_type": "authorization_code", "code": received["code"], "redirect_uri": callback}, auth=web_auth
    )
    assert response.status_code == 200, response.text
    claims = verify_id_token(
        op,
        response.json()["id_token"],
        client_id="demo-web",
        nonce=params["nonce"],
        access_token=response.json()["access_token"],
    )
    assert claims["sub"] == user.user_id
    assert browser.console_errors == [], browser.console_errors

    # SSO: the second authorization goes straight to the callback.
    before = len(browser.requests)
    again = web_params(callback)
    page.goto(authorize_url(op, **again))
    page.wait_for_url(f"{callback}?*")
    assert not any("/t/demo/login" in r for r in browser.requests[before:])
    second = browser.callback_params()
    assert second["state"] == again["state"] and second["code"] != received["code"]
    assert (
        op.token(
            {"grant_type": "authorization_code", "code": second["code"], "redirect_uri": callback}, auth=web_auth
        ).status_code
        == 200
    )


def test_native_client_with_pkce_and_a_custom_scheme(
    chromium: Callable[..., BrowserSession], op: Provider, user: E2EUser
) -> None:
    browser = chromium()
    browser.capture_custom_scheme("com.example.demo")
    verifier, challenge = pkce_pair()
    params = mobile_params(challenge)
    browser.page.goto(authorize_url(op, **params))
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_load_state()
    assert len(browser.captured) == 1, browser.captured
    received = query_params(browser.captured[0])
    assert browser.captured[0].startswith(f"{MOBILE_REDIRECT}?")
    assert received["state"] == params["state"] and received["iss"] == op.issuer

    response = op.token(
        {
            "grant_type": "authorization_code",
            "code": received["code"],
            "client_id": "demo-mobile",
            "redirect_uri": MOBILE_REDIRECT,
            "code_verifier": verifier,
        }
    )
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"]

    # SSO for the native client too: the next authorization redirects at once.
    verifier2, challenge2 = pkce_pair()
    browser.page.goto(authorize_url(op, **mobile_params(challenge2)))
    assert len(browser.captured) == 2
    code = query_params(browser.captured[1])["code"]
    assert (
        op.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "demo-mobile",
                "redirect_uri": MOBILE_REDIRECT,
                "code_verifier": verifier2,
            }
        ).status_code
        == 200
    )


def test_native_client_redirect_after_login_is_not_blocked_by_the_page_policy(
    chromium: Callable[..., BrowserSession], op: Provider, user: E2EUser
) -> None:
    browser = chromium()  # no interception: what a real system browser does
    browser.page.goto(authorize_url(op, **mobile_params(pkce_pair()[1])))
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_timeout(1000)
    violations = [e for e in browser.console_errors if "Content Security Policy" in e]
    assert violations == []


def test_login_page_works_without_javascript(
    chromium: Callable[..., BrowserSession], op: Provider, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    browser = chromium(java_script_enabled=False)
    params = web_params(callback)
    browser.page.goto(authorize_url(op, **params))
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_url(f"{callback}?*")
    received = browser.callback_params()
    assert received["state"] == params["state"]
    response = op.token(
        {"grant_type": "authorization_code", "code": received["code"], "redirect_uri": callback}, auth=web_auth
    )
    assert response.status_code == 200


def test_failed_login_shows_an_accessible_error_in_the_browser(
    chromium: Callable[..., BrowserSession], op: Provider, callback: str, user: E2EUser
) -> None:
    browser = chromium()
    browser.page.goto(authorize_url(op, **web_params(callback)))
    browser.sign_in(user.email, "")  # empty password: a field error, no throttle failure recorded
    summary = browser.page.locator("[role=alert]")
    assert summary.count() == 1 and "Enter your password." in summary.inner_text()
    assert browser.page.locator("#password").get_attribute("aria-invalid") == "true"
    assert browser.page.locator("#email").input_value() == user.email
    # The only console message is Chromium noting the 400 status of the re-rendered form itself.
    assert [e for e in browser.console_errors if "status of 400" not in e] == []
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_url(f"{callback}?*")
    assert browser.callback_params()["code"]


def test_sso_cookie_is_not_readable_by_scripts(
    chromium: Callable[..., BrowserSession], op: Provider, callback: str, user: E2EUser
) -> None:
    browser = chromium()
    browser.page.goto(authorize_url(op, **web_params(callback)))
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_url(f"{callback}?*")
    cookies = {c["name"]: c for c in browser.context.cookies(op.issuer + "/")}
    assert cookies["gh_session"]["httpOnly"] and cookies["gh_csrf"]["httpOnly"]
    assert cookies["gh_session"]["sameSite"] == "Lax" and cookies["gh_session"]["path"] == "/t/demo"
    # Neither a script on the relying party's page nor one on the provider's pages can read them.
    assert "gh_session" not in browser.page.evaluate("document.cookie")
