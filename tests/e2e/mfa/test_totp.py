"""TOTP end to end over HTTP: enrollment from a signed-in session (otpauth URI, QR code, first code), sign-in with
a real code, ``amr``/``acr`` in the ID token, replay and brute force rejected, recovery codes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import (
    MfaSite,
    callback,
    exchange,
    password_step,
    post_form,
    signed_in_with_totp,
    totp_now,
)
from tests.support.oidc_client import Page, jwt_claims

pytestmark = pytest.mark.stack

ACR_MFA = "urn:gatehouse:loa:2"


def challenge_after_password(browser: requests.Session, site: MfaSite, **extra: str) -> Page:
    response = password_step(browser, site, **extra)
    assert response.status_code == 200, response.text[:500]
    page = Page.parse(response)
    assert page.has_form("/mfa/challenge"), page.h1
    return page


def test_enroll_then_sign_in_with_totp(site: MfaSite, clock: Any) -> None:
    secret, codes = signed_in_with_totp(site, clock)
    assert len(codes) == 10 and len(set(codes)) == 10

    with requests.Session() as browser:
        page = challenge_after_password(browser, site)
        # The step used to confirm the enrollment can never be used again (RFC 6238 §5.2).
        replay = post_form(browser, site, page, "/mfa/challenge", {"code": totp_now(secret, clock)})
        assert replay.status_code == 400
        assert "not valid" in Page.parse(replay).text
        clock.advance(30)
        done = post_form(browser, site, Page.parse(replay), "/mfa/challenge", {"code": totp_now(secret, clock)})
        tokens = exchange(site, callback(done, site)["code"])
    claims = jwt_claims(tokens["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA
    assert jwt_claims(tokens["access_token"])["acr"] == ACR_MFA


def test_a_used_code_cannot_sign_in_again(site: MfaSite, clock: Any) -> None:
    secret, _ = signed_in_with_totp(site, clock)
    clock.advance(30)
    code = totp_now(secret, clock)
    with requests.Session() as first:
        page = challenge_after_password(first, site)
        callback(post_form(first, site, page, "/mfa/challenge", {"code": code}), site)
    with requests.Session() as second:
        page = challenge_after_password(second, site)
        again = post_form(second, site, page, "/mfa/challenge", {"code": code})
        assert again.status_code == 400


def test_five_wrong_codes_lock_the_challenge(site: MfaSite, clock: Any) -> None:
    secret, _ = signed_in_with_totp(site, clock)
    clock.advance(30)
    right = totp_now(secret, clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with requests.Session() as browser:
        page = challenge_after_password(browser, site)
        texts = []
        for _ in range(5):
            response = post_form(browser, site, page, "/mfa/challenge", {"code": wrong})
            assert response.status_code == 400
            texts.append(Page.parse(response).text)
        # Wrong codes all read the same, near or far; the fifth locks the challenge.
        assert len(set(texts[:4])) == 1
        assert "start again" in texts[4]
        locked = post_form(browser, site, page, "/mfa/challenge", {"code": right})
        assert locked.status_code == 400 and "start again" in Page.parse(locked).text


def test_recovery_code_signs_in_once(site: MfaSite, clock: Any) -> None:
    _, codes = signed_in_with_totp(site, clock)
    for attempt in range(2):
        with requests.Session() as browser:
            page = challenge_after_password(browser, site)
            switched = post_form(
                browser, site, page, "/mfa/challenge", {}, button=("action", "use:recovery_code:recovery")
            )
            page = Page.parse(switched)
            assert 'name="method" value="recovery_code"' in page.html
            response = post_form(browser, site, page, "/mfa/challenge", {"code": codes[0].upper()})
            if attempt == 0:
                assert jwt_claims(exchange(site, callback(response, site)["code"])["id_token"])["acr"] == ACR_MFA
            else:
                assert response.status_code == 400


def test_challenge_form_is_bound_to_the_browser(site: MfaSite, clock: Any) -> None:
    secret, _ = signed_in_with_totp(site, clock)
    clock.advance(30)
    with requests.Session() as victim, requests.Session() as attacker:
        page = challenge_after_password(victim, site)
        attacker.get(site.url("authorize"), params=site.params(), timeout=15)  # a CSRF cookie of its own
        stolen = post_form(attacker, site, page, "/mfa/challenge", {"code": totp_now(secret, clock)})
        assert stolen.status_code == 400
        assert "Location" not in stolen.headers
