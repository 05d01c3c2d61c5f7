"""Passkeys in the hosted pages over real HTTP, with the software authenticator standing in for the browser's
WebAuthn API (the browser itself is in ``test_passkeys_browser``): enrollment on the MFA pages, the second factor
on the challenge page, passwordless sign-in on the login page; the script and CSP that carry them; and every
refusal (replayed or foreign challenge, wrong origin, missing CSRF) ending on the page's own error, never a 500."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import TIMEOUT, MfaSite, callback, exchange, password_step
from tests.support.oidc_client import Page, jwt_claims
from tests.support.webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.stack
EVIL_ORIGIN = "https://evil.example"


def options_of(page: Page, form_id: str) -> dict[str, Any]:
    match = re.search(rf'<form [^>]*id="{form_id}"[^>]*data-options="([^"]+)"', page.html)
    assert match, page.html[:3000]
    return dict(json.loads(html.unescape(match.group(1))))


def form_fields(page: Page, form_id: str) -> dict[str, str]:
    match = re.search(rf'<form [^>]*id="{form_id}".*?</form>', page.html, re.S)
    assert match, page.html[:3000]
    inputs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', match.group(0))
    return {name: html.unescape(value) for name, value in inputs}


def post(browser: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    return browser.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)


def signed_in(browser: requests.Session, site: MfaSite) -> None:
    """A browser session after the password (no factor yet: nothing more is asked)."""
    callback(password_step(browser, site), site)


def enroll_passkey(
    browser: requests.Session, site: MfaSite, authenticator: SoftAuthenticator, label: str = "Laptop"
) -> requests.Response:
    page = Page.parse(browser.get(site.url("mfa/enroll/webauthn"), timeout=TIMEOUT))
    assert page.status == 200, page.html[:500]
    options = options_of(page, "passkey-form")
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    fields = form_fields(page, "passkey-form")
    credential = json.dumps(authenticator.create(options))
    return post(browser, site.url("mfa/enroll/webauthn"), {**fields, "label": label, "credential": credential})


@pytest.fixture
def enrolled(site: MfaSite) -> tuple[requests.Session, SoftAuthenticator]:
    browser = requests.Session()
    authenticator = SoftAuthenticator(site.base)
    signed_in(browser, site)
    done = enroll_passkey(browser, site, authenticator)
    assert done.status_code == 200, done.text[:800]
    assert len(re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)) == 10  # the first factor: codes
    factors = browser.get(site.url("mfa/factors"), timeout=TIMEOUT).text
    assert 'data-kind="webauthn"' in factors and "Laptop" in factors
    assert ("webauthn", "success") in mfa_events(site, "mfa.enrolled")
    return browser, authenticator


def mfa_events(site: MfaSite, action: str) -> list[tuple[str, str]]:
    """(factor kind, outcome) of the user's ``action`` audit events, newest first."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    events, _ = container.audit().list(TenantId(site.slug), action=action, subject=site.user_id)
    return [(str(e.details.get("kind")), e.outcome) for e in events]


def test_script_is_served_content_addressed_and_only_passkey_pages_allow_it(site: MfaSite) -> None:
    browser = requests.Session()
    page = site.provider().authorize(browser, site.params())
    csp = page.headers["Content-Security-Policy"]
    match = re.search(r'<script src="([^"]+)" integrity="([^"]+)" defer></script>', page.text)
    assert match, page.text[:1500]
    src, integrity = match.groups()
    assert re.fullmatch(rf"{re.escape(site.base)}/static/webauthn-[0-9a-f]{{16}}\.js", src)
    assert f"script-src {src};" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "default-src 'none'" in csp and "<script>" not in page.text
    script = requests.get(src, timeout=TIMEOUT)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in script.headers["Cache-Control"] and script.headers["X-Content-Type-Options"] == "nosniff"
    digest = base64.b64encode(hashlib.sha384(script.content).digest()).decode()
    assert integrity == f"sha384-{digest}"
    assert "fetch(" not in script.text and "XMLHttpRequest" not in script.text
    assert requests.get(f"{site.base}/static/webauthn-0000000000000000.js", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{site.base}/static/..%2Fapp.py", timeout=TIMEOUT).status_code == 404
    # Pages without a passkey ceremony keep running no script at all.
    signed_in(browser, site)
    factors = browser.get(site.url("mfa/factors"), timeout=TIMEOUT)
    assert factors.status_code == 200 and "enroll/webauthn" in factors.text
    assert "script-src" not in factors.headers["Content-Security-Policy"] and "<script" not in factors.text


def test_no_passkey_button_or_script_where_the_tier_disallows_passkeys(make_mfa_site: Any) -> None:
    site = make_mfa_site(factors=["totp", "recovery_code"])
    browser = requests.Session()
    page = site.provider().authorize(browser, site.params())
    assert page.status_code == 200
    assert "passkey-signin" not in page.text and "<script" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]
    signed_in(browser, site)
    assert browser.get(site.url("mfa/enroll/webauthn"), timeout=TIMEOUT).status_code == 404


def test_passkey_as_second_factor_on_the_challenge_page(
    site: MfaSite, enrolled: tuple[requests.Session, SoftAuthenticator]
) -> None:
    _, authenticator = enrolled
    browser = requests.Session()
    response = password_step(browser, site)
    challenge = Page.parse(response)
    assert challenge.status == 200 and 'id="passkey-form"' in challenge.html, challenge.html[:1500]
    assert "/static/webauthn-" in response.headers["Content-Security-Policy"]
    fields = form_fields(challenge, "passkey-form")
    assertion = json.dumps(authenticator.get(options_of(challenge, "passkey-form")))
    done = post(browser, site.url("mfa/challenge"), {**fields, "credential": assertion})
    claims = jwt_claims(exchange(site, callback(done, site)["code"])["id_token"])
    assert claims["amr"] == ["pwd", "hwk", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"

    # Replayed into the next sign-in (another challenge): refused on the page, which offers a fresh ceremony.
    browser = requests.Session()
    challenge = Page.parse(password_step(browser, site))
    replay = post(
        browser, site.url("mfa/challenge"), {**form_fields(challenge, "passkey-form"), "credential": assertion}
    )
    assert replay.status_code == 400 and "not valid" in replay.text
    again = Page.parse(replay)
    foreign = authenticator.get(options_of(again, "passkey-form"), origin=EVIL_ORIGIN)
    refused = post(
        browser, site.url("mfa/challenge"), {**form_fields(again, "passkey-form"), "credential": json.dumps(foreign)}
    )
    assert refused.status_code == 400 and 'id="passkey-form"' in refused.text
    # Another way is still offered (recovery codes), for browsers without passkeys or JavaScript.
    assert "use:recovery_code:" in refused.text and "<noscript>" in refused.text


def test_passwordless_sign_in_on_the_login_page(
    site: MfaSite, enrolled: tuple[requests.Session, SoftAuthenticator]
) -> None:
    _, authenticator = enrolled
    browser = requests.Session()
    login = Page.parse(site.provider().authorize(browser, site.params()))
    start = post(browser, site.url("login"), form_fields(login, "passkey-signin"))
    assert start.status_code == 200, start.text[:800]
    armed = Page.parse(start)
    options = options_of(armed, "passkey-signin")
    assert options["userVerification"] == "required" and options.get("allowCredentials", []) == []
    fields = form_fields(armed, "passkey-signin")
    assert fields["action"] == "passkey_verify" and fields["passkey_state"]
    assertion = json.dumps(authenticator.get(options))
    done = post(browser, site.url("login"), {**fields, "credential": assertion})
    claims = jwt_claims(exchange(site, callback(done, site)["code"])["id_token"])
    assert claims["amr"] == ["hwk", "user", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    assert claims["sub"] == site.user_id
    assert ("webauthn", "success") in mfa_events(site, "mfa.challenge_passed")
    # The sign-in activity says how: a passkey, not a password and a second factor.
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    sign_ins, _ = container.audit().list(TenantId(site.slug), action="signin.success", subject=site.user_id)
    assert (sign_ins[0].details["method"], sign_ins[0].details["amr"]) == ("passkey", "hwk user mfa")

    # The same assertion again (the challenge was single-use): the login page with its error.
    replay = post(browser, site.url("login"), {**fields, "credential": assertion})
    assert replay.status_code == 400 and "not accepted" in replay.text and 'id="email"' in replay.text

    # Missing CSRF token: the page's own error.
    no_csrf = post(
        browser, site.url("login"), {**{k: v for k, v in fields.items() if k != "csrf"}, "credential": assertion}
    )
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.text

    # A passkey state from another browser (its CSRF cookie) does not work here.
    other = requests.Session()
    other_login = Page.parse(site.provider().authorize(other, site.params()))
    other_armed = Page.parse(post(other, site.url("login"), form_fields(other_login, "passkey-signin")))
    stolen = form_fields(other_armed, "passkey-signin")["passkey_state"]
    fresh = Page.parse(post(browser, site.url("login"), form_fields(Page.parse(replay), "passkey-signin")))
    mixed = {**form_fields(fresh, "passkey-signin"), "passkey_state": stolen}
    mixed["credential"] = json.dumps(authenticator.get(options_of(other_armed, "passkey-signin")))
    refused = post(browser, site.url("login"), mixed)
    assert refused.status_code == 400 and "CSRF" in refused.text

    # Wrong origin, and an assertion naming no user: the login page's error.
    fields = form_fields(fresh, "passkey-signin")
    wrong = authenticator.get(options_of(fresh, "passkey-signin"), origin=EVIL_ORIGIN)
    refused = post(browser, site.url("login"), {**fields, "credential": json.dumps(wrong)})
    assert refused.status_code == 400 and "not accepted" in refused.text
    garbage = post(
        browser, site.url("login"), {**form_fields(Page.parse(refused), "passkey-signin"), "credential": "{"}
    )
    assert garbage.status_code == 200  # no ceremony in that form: it starts a new one
    unnamed = post(browser, site.url("login"), {**fields, "credential": '{"id": "x", "response": {}}'})
    assert unnamed.status_code == 400 and "not accepted" in unnamed.text


def test_enrollment_refusals_are_page_errors(site: MfaSite) -> None:
    browser = requests.Session()
    authenticator = SoftAuthenticator(site.base)
    signed_in(browser, site)
    page = Page.parse(browser.get(site.url("mfa/enroll/webauthn"), timeout=TIMEOUT))
    fields = form_fields(page, "passkey-form")
    options = options_of(page, "passkey-form")

    wrong_origin = json.dumps(authenticator.create(options, origin=EVIL_ORIGIN))
    refused = post(browser, site.url("mfa/enroll/webauthn"), {**fields, "credential": wrong_origin})
    assert refused.status_code == 400 and "not accepted" in refused.text and 'id="passkey-form"' in refused.text

    no_csrf = post(browser, site.url("mfa/enroll/webauthn"), {k: v for k, v in fields.items() if k != "csrf"})
    assert no_csrf.status_code in (400, 403) and "<!DOCTYPE html>" in no_csrf.text

    # The attestation for the first challenge, once accepted, cannot be replayed.
    page = Page.parse(refused)
    fields = form_fields(page, "passkey-form")
    good = json.dumps(authenticator.create(options_of(page, "passkey-form")))
    assert post(browser, site.url("mfa/enroll/webauthn"), {**fields, "credential": good}).status_code == 200
    replay = post(browser, site.url("mfa/enroll/webauthn"), {**fields, "credential": good})
    assert replay.status_code == 400 and "<!DOCTYPE html>" in replay.text

    # Another user's challenge (same tenant) is not this user's registration.
    other = requests.Session()
    page = Page.parse(browser.get(site.url("mfa/enroll/webauthn"), timeout=TIMEOUT))
    mine = form_fields(page, "passkey-form")
    second_user = _second_user(site)
    callback(site.provider().login(other, site.provider().authorize(other, site.params()), *second_user), site)
    theirs = Page.parse(other.get(site.url("mfa/enroll/webauthn"), timeout=TIMEOUT))
    foreign = {**mine, "challenge": form_fields(theirs, "passkey-form")["challenge"]}
    foreign["credential"] = json.dumps(authenticator.create(options_of(theirs, "passkey-form")))
    refused = post(browser, site.url("mfa/enroll/webauthn"), foreign)
    assert refused.status_code == 400 and "<!DOCTYPE html>" in refused.text


def _second_user(site: MfaSite) -> tuple[str, str]:
    import secrets
    import uuid

    from chalicelib import container
    from chalicelib.core.ids import TenantId

    email, password = f"other-{uuid.uuid4().hex[:8]}@example.org", f"Pw-{secrets.token_urlsafe(12)}"
    tenant_id = TenantId(site.slug)
    container.accounts().create_user(
        tenant_id, email=email, password=password, verified=True, settings=container.tenants().effective(tenant_id)
    )
    return email, password
