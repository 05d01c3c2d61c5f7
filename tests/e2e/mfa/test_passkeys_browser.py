"""Passkeys in a real headless Chromium with its CDP virtual authenticator (user-verifying, resident keys),
against the demo tenant: a user adds a passkey on the hosted MFA pages, signs out, signs in to ``demo-web`` with
password + passkey, then without a password ("Sign in with a passkey"); once the passkey is removed it is refused.
The account portal's security page adds one too. No page may log a console error (a CSP violation would).

WebAuthn needs a domain as RP ID, so the app runs a second time on ``http://localhost:<port>`` (same emulators and
data; ``tests.support.localhost_server``); ``demo-web`` keeps its registered callback on the test server.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the module-scoped browser fixture
from tests.support.localhost_server import LocalhostServer
from tests.support.oidc_client import jwt_claims

pytestmark = [pytest.mark.stack, pytest.mark.browser]
REFUSED = "400 (Bad Request)"  # the login page with its error is the only non-2xx document


@pytest.fixture(scope="module")
def localhost(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = LocalhostServer(Path(tmp_path_factory.mktemp("localhost-server")) / "server.log").start()
    yield server.base_url
    server.stop()


@pytest.fixture
def demo_user(live_server: str) -> dict[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from tests.support.demo import seeded_demo

    info = seeded_demo(live_server)
    tenant_id = TenantId("demo")
    email, password = f"pk-{uuid.uuid4().hex[:8]}@example.org", f"Pw-{secrets.token_urlsafe(12)}"
    container.accounts().create_user(
        tenant_id, email=email, password=password, verified=True, settings=container.tenants().effective(tenant_id)
    )
    return {**info, "email": email, "password": password}


def with_authenticator(browser: BrowserSession) -> None:
    cdp = browser.context.new_cdp_session(browser.page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def authorize(browser: BrowserSession, base: str, demo: dict[str, Any]) -> None:
    params = {
        "client_id": "demo-web",
        "redirect_uri": demo["web_redirect_uri"],
        "response_type": "code",
        "scope": "openid email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    browser.page.goto(f"{base}/t/demo/authorize?{urlencode(params)}")


def id_token_claims(browser: BrowserSession, base: str, demo: dict[str, Any]) -> dict[str, Any]:
    browser.page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    code = browser.callback_params()["code"]
    response = requests.post(
        f"{base}/t/demo/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": demo["web_redirect_uri"]},
        auth=(demo["web_client_id"], demo["web_client_secret"]),
        timeout=15,
    )
    assert response.status_code == 200, response.text
    claims = jwt_claims(response.json()["id_token"])
    assert claims["iss"] == f"{base}/t/demo"
    return claims


@pytest.fixture
def portal_tenant(live_server: str) -> dict[str, str]:
    """A tenant of its own: the portal's client is created on first use with the redirect URI of the server that
    created it, so the demo's (made by the 127.0.0.1 server in other tests) would not fit the localhost server."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"pk-{uuid.uuid4().hex[:10]}"
    container.tenants().create_customer(slug, "Passkey portal")
    tenant_id = TenantId(slug)
    container.signing_keys().ensure_keys(tenant_id)
    email, password = f"pk-{uuid.uuid4().hex[:8]}@example.org", f"Pw-{secrets.token_urlsafe(12)}"
    container.accounts().create_user(
        tenant_id, email=email, password=password, verified=True, settings=container.tenants().effective(tenant_id)
    )
    return {"slug": slug, "email": email, "password": password}


def sign_out(browser: BrowserSession) -> None:
    browser.context.clear_cookies()


def test_passkey_enrol_second_factor_passwordless_and_removal(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    localhost: str,
    demo_user: dict[str, Any],
) -> None:
    browser = chromium()
    page = browser.page
    with_authenticator(browser)

    # Signed in with the password (no factor yet), the user adds a passkey on the MFA pages.
    authorize(browser, localhost, demo_user)
    browser.sign_in(demo_user["email"], demo_user["password"])
    assert id_token_claims(browser, localhost, demo_user)["amr"] == ["pwd"]
    page.goto(f"{localhost}/t/demo/mfa/factors")
    page.click("#enroll-methods a[href*='/mfa/enroll/webauthn']")
    expect(page.locator("#passkey-button")).to_be_visible()
    page.fill("#label", "Virtual key")
    page.click("#passkey-button")
    expect(page.locator("li code").first).to_be_visible()  # the first factor comes with recovery codes
    page.goto(f"{localhost}/t/demo/mfa/factors")
    expect(page.locator(".factor[data-kind='webauthn'] h2")).to_have_text("Virtual key")

    # Signed out, the next sign-in asks for the passkey after the password.
    sign_out(browser)
    authorize(browser, localhost, demo_user)
    browser.sign_in(demo_user["email"], demo_user["password"])
    expect(page.locator("#passkey-button")).to_be_visible()
    page.click("#passkey-button")
    claims = id_token_claims(browser, localhost, demo_user)
    assert claims["amr"] == ["pwd", "hwk", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"

    # Passwordless: the discoverable passkey names the user.
    sign_out(browser)
    authorize(browser, localhost, demo_user)
    expect(page.locator("#passkey-signin-button")).to_be_visible()
    page.click("#passkey-signin-button")
    claims = id_token_claims(browser, localhost, demo_user)
    assert claims["amr"] == ["hwk", "user", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    assert claims["email"] == demo_user["email"]

    # Removed (with the password, in the passwordless session), the passkey no longer signs anyone in.
    page.goto(f"{localhost}/t/demo/mfa/factors")
    factor = page.locator(".factor[data-kind='webauthn']")
    factor.locator("input[name=password]").fill(demo_user["password"])
    factor.locator("button[value=remove]").click()
    expect(page.locator("#no-factors")).to_be_visible()
    assert browser.console_errors == [], browser.console_errors  # no CSP violation, no script error
    sign_out(browser)
    authorize(browser, localhost, demo_user)
    page.click("#passkey-signin-button")
    expect(page.locator(".error-summary")).to_contain_text("not accepted")
    expect(page.locator("#email")).to_be_visible()  # the password still works from here
    assert browser.console_errors == [f"Failed to load resource: the server responded with a status of {REFUSED}"]


def test_passkey_added_from_the_account_portal(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    localhost: str,
    portal_tenant: dict[str, str],
) -> None:
    browser = chromium()
    page = browser.page
    with_authenticator(browser)
    security = f"{localhost}/t/{portal_tenant['slug']}/account/security"
    page.goto(security)
    browser.sign_in(portal_tenant["email"], portal_tenant["password"])
    expect(page.locator("#add-passkey-button")).to_be_visible()
    page.click("#add-passkey-button")
    page.fill("#passkey-label", "Portal key")
    page.click("#passkey-button")
    expect(page.locator("li code").first).to_be_visible()  # recovery codes: the user's first factor
    page.goto(security)
    expect(page.locator("#factors li[data-kind='webauthn']")).to_contain_text("Portal key")

    # The portal's sign-in now asks for the passkey as the second factor; and adding another needs no step-up.
    sign_out(browser)
    page.goto(security)
    browser.sign_in(portal_tenant["email"], portal_tenant["password"])
    page.click("#passkey-button")
    expect(page.locator("#add-passkey-button")).to_be_visible()
    assert browser.console_errors == [], browser.console_errors


def test_passkeys_are_offered_on_a_domain_and_not_on_an_ip_address(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    live_server: str,
    localhost: str,
    demo_user: dict[str, Any],
) -> None:
    """Browsers refuse an IP address as RP ID: on ``http://127.0.0.1`` (``./gatehouse serve``) the login page does not
    offer "Sign in with a passkey"; on ``http://localhost`` it does. Both load the script without an error."""
    browser = chromium()
    with_authenticator(browser)
    authorize(browser, live_server, demo_user)
    expect(browser.page.locator("#email")).to_be_visible()
    assert browser.page.locator("#passkey-signin").count() == 1  # on the page, left hidden by the script
    expect(browser.page.locator("#passkey-signin-button")).to_be_hidden()
    authorize(browser, localhost, demo_user)
    expect(browser.page.locator("#passkey-signin-button")).to_be_visible()
    assert browser.console_errors == [], browser.console_errors
