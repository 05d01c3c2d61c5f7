"""The account portal in a real headless Chromium: sign-in through our own OpenID Connect flow, profile and email
change, password change, devices (revoke one, see its refresh token fail), activity, consents (withdraw, see the
app's tokens fail, download a receipt), data export through the emailed link, sign-out and account deletion.
The demo user walks through everything non-destructive, as a new user would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.account.conftest import refresh, sign_in_tokens
from tests.e2e.account.test_privacy import export_link
from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the shared Chromium fixture
from tests.support.oidc_client import E2EClient, E2EUser, Provider
from tests.support.tenants import new_user

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def open_portal(browser: BrowserSession, provider: Provider, user: E2EUser, path: str = "") -> None:
    browser.page.goto(f"{provider.issuer}/account{path}")
    expect(browser.page.locator("#email")).to_be_visible()
    browser.sign_in(user.email, user.password)
    browser.page.wait_for_selector("#signed-in-as")
    assert user.email in browser.page.inner_text("#signed-in-as")


def test_demo_user_walks_through_the_portal(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    op: Provider,
    demo: dict[str, Any],
    outbox: Callable[[], list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    alice = E2EUser(demo["user_email"], demo["user_password"], "")
    partner = E2EClient(demo["partner_client_id"], demo["partner_client_secret"], demo["web_redirect_uri"],
                        "confidential")  # fmt: skip
    partner_tokens = sign_in_tokens(op, partner, alice, consent="allow")
    browser = chromium(accept_downloads=True)
    open_portal(browser, op, alice)
    page = browser.page

    page.fill("#nickname", "Ali")
    page.click("#save-profile")
    assert "saved" in page.inner_text("#notice")
    assert page.input_value("#nickname") == "Ali"

    page.click("#nav-sessions")
    assert page.locator("#sessions tr[data-session]").count() >= 1
    assert "This browser" in page.inner_text("#sessions")

    page.click("#nav-activity")
    assert page.locator('#activity tr[data-event="signin.success"]').count() >= 2

    page.click("#nav-consents")
    row = page.locator(f'#consents tr[data-client="{partner.client_id}"]')
    expect(row).to_have_count(1)
    with page.expect_download() as receipt_download:
        page.locator("#receipts li a").first.click()
    receipt = json.loads(Path(receipt_download.value.path()).read_text())
    assert receipt["version"] == "KI-CR-v1.1.0" and receipt["gatehouse:clientId"] == partner.client_id
    row.locator("button").click()
    assert "withdrawn" in page.inner_text("#notice")
    assert refresh(op, partner, partner_tokens.refresh_token).json()["error"] == "invalid_grant"
    assert op.userinfo(partner_tokens.access_token).status_code == 401

    page.click("#nav-privacy")
    page.click("#request-export")
    assert "email you a download link" in page.inner_text("#notice")
    link = export_link(outbox, alice.email)
    with page.expect_download() as export_download:
        page.evaluate("url => { window.location.href = url; }", link)
    data = json.loads(Path(export_download.value.path()).read_text())
    assert data["profile"]["email"] == alice.email and data["profile"]["attributes"]["nickname"] == "Ali"
    partner_receipts = [r for r in data["consent_receipts"] if r["gatehouse:clientId"] == partner.client_id]
    assert [r["gatehouse:action"] for r in partner_receipts][-2:] == ["granted", "revoked"]
    assert all(c["client_id"] != partner.client_id for c in data["consents"])

    page.click("#sign-out")
    expect(page.locator("#signed-out-message")).to_be_visible()
    page.goto(f"{op.issuer}/account")
    expect(page.locator("#email")).to_be_visible()
    assert browser.console_errors == []


def test_portal_edits_revokes_a_session_and_changes_the_password(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    op: Provider,
    first_party: E2EClient,
    make_user: Callable[..., E2EUser],
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    user = make_user(given_name="Paula", family_name="Portal")
    elsewhere = sign_in_tokens(op, first_party, user, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Edg/120"})
    browser = chromium()
    open_portal(browser, op, user)
    page = browser.page
    assert page.input_value("#given_name") == "Paula"

    page.fill("#family_name", "x" * 300)
    page.click("#save-profile")
    expect(page.locator("#family_name-error")).to_be_visible()
    page.fill("#family_name", "Portal-Smith")
    page.click("#save-profile")
    assert page.input_value("#family_name") == "Portal-Smith"

    page.fill("#new_email", f"moved-{user.email}")
    page.click("#send-email-link")
    assert "confirmation link" in page.inner_text("#notice")
    assert any(f"moved-{user.email}" in m["to"] for m in outbox()[:5])

    page.click("#nav-sessions")
    windows = page.locator("#sessions tr[data-session]", has_text="Windows")
    expect(windows).to_have_count(1)
    windows.locator("button").click()
    assert "Signed out" in page.inner_text("#notice")
    assert refresh(op, first_party, elsewhere.refresh_token).json()["error"] == "invalid_grant"

    page.click("#nav-security")
    page.fill("#current_password", "not-the-password")
    page.fill("#new_password", "Quite-Long-Passphrase-77")
    page.click("#change-password")
    expect(page.locator("#current_password-error")).to_be_visible()
    page.fill("#current_password", user.password)
    page.fill("#new_password", "Quite-Long-Passphrase-77")
    page.click("#change-password")
    assert "password was changed" in page.inner_text("#notice")
    page.click("#nav-activity")
    expect(page.locator('#activity tr[data-event="account.password_changed"]')).to_have_count(1)

    page.click("#nav-sessions")
    page.click("#sign-out-everywhere")
    expect(page.locator("#signed-out-message")).to_be_visible()
    page.goto(f"{op.issuer}/account")
    assert page.locator("#email").is_visible()  # the portal's own session ended too


def test_portal_forms_need_the_csrf_token_and_a_session(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    op: Provider,
    make_user: Callable[..., E2EUser],
) -> None:
    import requests

    user = make_user()
    browser = chromium()
    open_portal(browser, op, user)
    cookies = {c["name"]: c["value"] for c in browser.context.cookies()}
    forged = requests.post(
        f"{op.issuer}/account/sessions",
        data={"action": "everywhere", "csrf": "forged"},
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
    )
    assert forged.status_code == 400
    anonymous = requests.post(f"{op.issuer}/account/privacy", data={"action": "export"}, allow_redirects=False,
                              timeout=30)  # fmt: skip
    assert anonymous.status_code == 303 and "/authorize?" in anonymous.headers["Location"]
    assert requests.get(f"{op.issuer}/account/nowhere", cookies=cookies, timeout=30).status_code == 404


def test_portal_account_deletion(
    chromium: Callable[..., BrowserSession],  # noqa: F811
    privacy_tenant: dict[str, Any],
) -> None:
    provider: Provider = privacy_tenant["provider"]
    user = new_user(privacy_tenant["tenant"], name="Leaving Soon")
    browser = chromium()
    open_portal(browser, provider, user, "/privacy")
    page = browser.page
    page.fill("#password", "wrong-password-xyz")
    page.click("#delete-account")
    expect(page.locator("#password-error")).to_be_visible()
    page.fill("#password", user.password)
    page.click("#delete-account")
    assert "scheduled for deletion" in page.inner_text("#signed-out-message")
