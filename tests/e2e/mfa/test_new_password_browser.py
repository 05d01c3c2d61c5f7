"""The hosted "Choose a new password" step in a real headless Chromium: a user whose password the policy now refuses
signs in, gets the page (in German for a German browser), is refused a common password with the page's own error,
chooses a good one, and lands on the client's callback with a code that yields tokens. No console errors (a CSP
violation would log one)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.mfa.conftest import MfaSite, exchange
from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the module-scoped browser fixture
from tests.support.oidc_client import jwt_claims
from tests.support.outdated_password import OUTDATED_PASSWORD, create_user_with_outdated_password, strong_password

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def test_a_browser_replaces_an_outdated_password_and_gets_its_code(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    site: MfaSite,
) -> None:
    email = create_user_with_outdated_password(site.slug)
    browser = chromium(locale="de-DE")
    page = browser.page
    page.goto(f"{site.url('authorize')}?{urlencode(site.params())}")
    browser.sign_in(email, OUTDATED_PASSWORD)

    expect(page.locator("h1")).to_have_text("Neues Passwort wählen")
    expect(page.locator("#new-password-intro")).to_contain_text(email)
    expect(page.locator("#password")).to_have_attribute("autocomplete", "new-password")
    page.fill("#password", "1234567890")
    page.click("#new-password-form button[type=submit]")
    expect(page.locator("#password-error")).to_contain_text("häufigsten")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    assert not [c for c in browser.context.cookies() if c["name"] == "gh_session"]

    page.fill("#password", strong_password())
    page.click("#new-password-form button[type=submit]")
    page.wait_for_url(f"{site.redirect_uri}?*")
    tokens = exchange(site, browser.callback_params()["code"])
    assert jwt_claims(tokens["id_token"])["amr"] == ["pwd"]
    assert [c for c in browser.context.cookies() if c["name"] == "gh_session"]
    assert not [e for e in browser.console_errors if "400" not in e], browser.console_errors
