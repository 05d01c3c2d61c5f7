"""Tier MFA policy, step-up by ``acr_values``, "remember this device", and the user's own factor management."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import (
    MfaSite,
    callback,
    enroll_totp,
    exchange,
    password_step,
    post_form,
    signed_in_with_totp,
    totp_now,
)
from tests.support.oidc_client import Page, jwt_claims, query_params

pytestmark = pytest.mark.stack
ACR_MFA = "urn:gatehouse:loa:2"


def test_required_policy_enrolls_at_sign_in_then_returns_to_the_app(make_mfa_site: Any, clock: Any) -> None:
    site: MfaSite = make_mfa_site(mode="required")
    with requests.Session() as browser:
        choice = password_step(browser, site)
        assert choice.status_code == 200
        links = re.findall(r'href="([^"]*/mfa/enroll/totp[^"]*)"', choice.text)
        assert links, choice.text[:1500]
        opened = browser.get(links[0].replace("&amp;", "&"), timeout=15)
        _, codes, saved = enroll_totp(browser, site, clock, Page.parse(opened))
        assert len(codes) == 10
        done = post_form(browser, site, Page.parse(saved), "/mfa/continue", {})
        tokens = exchange(site, callback(done, site)["code"])
    assert jwt_claims(tokens["id_token"])["acr"] == ACR_MFA


def test_required_policy_cannot_be_skipped_through_consent_or_authorize(make_mfa_site: Any) -> None:
    site: MfaSite = make_mfa_site(mode="required")
    with requests.Session() as browser:
        choice = password_step(browser, site)
        assert "mfa/enroll" in choice.text
        # The session exists (password only), but it cannot get a code without a second factor.
        again = site.provider().authorize(browser, site.params())
        assert again.status_code == 200 and "mfa/enroll" in again.text
        silent = site.provider().authorize(browser, site.params(prompt="none"))
        assert silent.status_code in (302, 303)
        assert "error=interaction_required" in silent.headers["Location"]
        link = re.findall(r'href="([^"]*/mfa/enroll/totp[^"]*)"', choice.text)[0].replace("&amp;", "&")
        sealed = query_params(link)["flow"]
        csrf = next(c.value for c in browser.cookies if c.name == "gh_csrf")
        forged = browser.post(
            site.url("mfa/continue"), data={"flow": sealed, "csrf": csrf}, timeout=15, allow_redirects=False
        )
        assert forged.status_code == 200 and "mfa/enroll" in forged.text
        forged = browser.post(
            site.url("consent"),
            data={"flow": sealed, "csrf": csrf, "decision": "allow"},
            timeout=15,
            allow_redirects=False,
        )
        assert forged.status_code == 200 and "mfa/enroll" in forged.text


def test_acr_values_step_up_a_password_session(site: MfaSite, clock: Any) -> None:
    secret, _ = signed_in_with_totp(site, clock)
    with requests.Session() as browser:
        # A password-only session: the user has a factor but this browser is remembered.
        page = Page.parse(password_step(browser, site))
        clock.advance(30)
        first = post_form(browser, site, page, "/mfa/challenge", {"code": totp_now(secret, clock), "remember": "on"})
        callback(first, site)
        assert any(c.name == "gh_mfa_device" for c in browser.cookies)
    with requests.Session() as browser:
        browser.cookies.set("gh_mfa_device", first.cookies.get("gh_mfa_device") or "", path=f"/t/{site.slug}")
        remembered = password_step(browser, site)
        params = callback(remembered, site)  # no challenge: this device is remembered
        claims = jwt_claims(exchange(site, params["code"])["id_token"])
        assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:gatehouse:loa:1"
        # Now the client asks for multi-factor assurance: the same session is asked for the second factor.
        stepped = site.provider().authorize(browser, site.params(acr_values=ACR_MFA))
        page = Page.parse(stepped)
        assert page.has_form("/mfa/challenge")
        clock.advance(30)
        done = post_form(browser, site, page, "/mfa/challenge", {"code": totp_now(secret, clock)})
        claims = jwt_claims(exchange(site, callback(done, site)["code"])["id_token"])
        assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
        # The session keeps what it proved: the next request with acr_values needs no new challenge.
        callback(site.provider().authorize(browser, site.params(acr_values=ACR_MFA)), site)


def test_acr_values_without_any_factor_offer_enrollment(site: MfaSite) -> None:
    with requests.Session() as browser:
        response = password_step(browser, site, acr_values=ACR_MFA)
        assert response.status_code == 200 and "mfa/enroll/totp" in response.text


def test_a_remembered_device_expires(site: MfaSite, clock: Any) -> None:
    secret, _ = signed_in_with_totp(site, clock)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        clock.advance(30)
        callback(
            post_form(browser, site, page, "/mfa/challenge", {"code": totp_now(secret, clock), "remember": "on"}), site
        )
        for cookie in list(browser.cookies):
            if cookie.name == "gh_session":
                browser.cookies.clear(cookie.domain, cookie.path, cookie.name)
        callback(password_step(browser, site), site)
        clock.advance(31 * 86400)
        assert Page.parse(password_step(browser, site)).has_form("/mfa/challenge")


def test_user_renames_and_removes_factors_with_reauthentication(site: MfaSite, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        enroll_totp(browser, site, clock)
        listing = Page.parse(browser.get(site.url("mfa/factors"), timeout=15))
        assert (
            listing.status == 200
            and "Authenticator app" in listing.text
            and "Unused recovery codes: 10" in listing.text
        )
        renamed = post_form(
            browser, site, listing, "/mfa/factors", {"label": "Work phone"}, button=("action", "rename")
        )
        assert renamed.status_code == 303
        listing = Page.parse(browser.get(site.url("mfa/factors"), timeout=15))
        assert "Work phone" in listing.text
        remove_form = next(f for f in listing.forms if "password" in f.fields and "enrollment" in f.fields)
        data = {**remove_form.fields, "password": "wrong-password", "action": "remove"}
        refused = browser.post(site.url("mfa/factors"), data=data, allow_redirects=False, timeout=15)
        assert refused.status_code == 401
        data["password"] = site.password
        removed = browser.post(site.url("mfa/factors"), data=data, allow_redirects=False, timeout=15)
        assert removed.status_code == 303
        listing = Page.parse(browser.get(site.url("mfa/factors"), timeout=15))
        assert "Work phone" not in listing.text and "recovery-left" not in listing.html
    with requests.Session() as browser:  # no factor left: the password is enough again
        callback(password_step(browser, site), site)


def test_factor_changes_need_the_second_factor_in_the_session(site: MfaSite, clock: Any) -> None:
    signed_in_with_totp(site, clock)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        assert page.has_form("/mfa/challenge")
        # Abandon the challenge; a password-only session cannot reach the factor pages either.
        listing = browser.get(site.url("mfa/factors"), timeout=15)
        assert listing.status_code in (200, 400)
        assert "factor-list" not in listing.text
        enroll = browser.get(site.url("mfa/enroll/totp"), timeout=15)
        assert "totp-secret" not in enroll.text


def test_factor_pages_need_a_session(site: MfaSite) -> None:
    response = requests.get(site.url("mfa/factors"), timeout=15)
    assert response.status_code == 400 and "sign in" in response.text.lower()


def test_regenerated_recovery_codes_replace_the_old_ones(site: MfaSite, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        _, old_codes, _ = enroll_totp(browser, site, clock)
        listing = Page.parse(browser.get(site.url("mfa/factors"), timeout=15))
        form = next(f for f in listing.forms if f.fields.keys() == {"csrf", "password"})
        fresh = browser.post(
            site.url("mfa/factors"), data={**form.fields, "password": site.password, "action": "regenerate"}, timeout=15
        )
        new_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", fresh.text)
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        page = Page.parse(
            post_form(browser, site, page, "/mfa/challenge", {}, button=("action", "use:recovery_code:recovery"))
        )
        assert post_form(browser, site, page, "/mfa/challenge", {"code": old_codes[0]}).status_code == 400
        callback(post_form(browser, site, page, "/mfa/challenge", {"code": new_codes[0]}), site)
