"""Self-service registration end to end: hosted page and native API, email link, activation, sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.e2e.registration.conftest import (
    TIMEOUT,
    Site,
    callback_params,
    click,
    mails_to,
    register_link,
    strong_password,
    token_link,
    unique_email,
    wait_for_mail,
)
from tests.support.oidc_client import Page, jwt_claims

Outbox = Callable[[], list[dict[str, Any]]]


def test_registration_from_the_login_page_returns_to_the_application_signed_in(
    site: Site, browser: requests.Session, outbox: Outbox
) -> None:
    provider = site.provider()
    login = provider.authorize(browser, site.authorize_params())
    assert login.status_code == 200
    form_page = browser.get(register_link(Page.parse(login)), timeout=TIMEOUT)
    assert form_page.status_code == 200
    page = Page.parse(form_page)
    assert page.form("/register").fields["flow"], "the sign-in flow is carried to the registration form"
    email, password = unique_email(), strong_password()

    done = provider.submit(browser, page, "/register", {"email": email, "password": password})
    assert done.status_code == 200, done.text[:500]
    assert "Check your inbox" in Page.parse(done).text

    mail = wait_for_mail(outbox, email, "Verify your email")[0]
    assert mail["html"] and "Verify email address" in mail["text"]
    response = click(browser, site, token_link(mail))
    params = callback_params(response, site)
    assert "gh_session" in response.headers.get("Set-Cookie", "")

    tokens = provider.token(
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": site.redirect_uri},
        auth=(site.client_id, site.client_secret),
    )
    assert tokens.status_code == 200, tokens.text
    claims = jwt_claims(tokens.json()["id_token"])
    assert claims["email"] == email and claims["email_verified"] is True
    assert claims["amr"] == ["email"]

    # The session cookie signs the browser in: a new authorization request needs no login.
    again = provider.authorize(browser, site.authorize_params())
    callback_params(again, site)
    # And the password works from now on.
    with requests.Session() as other:
        assert provider.sign_in(other, site.authorize_params(), email, password)["code"]


def test_api_registration_verified_without_application_shows_success(
    site: Site, browser: requests.Session, outbox: Outbox
) -> None:
    email = unique_email()
    response = site.api("register", {"email": email, "password": strong_password()})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "verification_pending"
    link = token_link(wait_for_mail(outbox, email, "Verify your email")[0])

    done = click(browser, site, link)
    assert done.status_code == 200
    assert Page.parse(done).h1 == "You're all set"
    assert "gh_session" in done.headers.get("Set-Cookie", "")
    again = browser.get(link, timeout=TIMEOUT)
    assert again.status_code == 400 and "does not work" in Page.parse(again).text, "single use"


def test_unverified_login_offers_resend_and_a_resend_invalidates_the_first_link(
    site: Site, browser: requests.Session, outbox: Outbox
) -> None:
    provider = site.provider()
    email, password = unique_email(), strong_password()
    assert site.api("register", {"email": email, "password": password}).status_code == 202
    first = token_link(wait_for_mail(outbox, email, "Verify your email")[0])

    refused = provider.login(browser, provider.authorize(browser, site.authorize_params()), email, password)
    assert refused.status_code == 403
    page = Page.parse(refused)
    assert "verify your email address" in page.text
    resent = provider.submit(browser, page, "/verification/resend", {})
    assert resent.status_code == 200 and "Earlier links no longer work" in Page.parse(resent).text

    second = token_link(wait_for_mail(outbox, email, "Verify your email", count=2)[1])
    assert second != first
    stale = browser.get(first, timeout=TIMEOUT)
    assert stale.status_code == 400, "the first link stopped working"
    assert Page.parse(click(browser, site, second)).h1 == "You're all set"
    with requests.Session() as other:
        assert provider.sign_in(other, site.authorize_params(), email, password)["code"]


def test_resend_api_answers_the_same_for_any_address(site: Site) -> None:
    unknown = site.api("verification/resend", {"email": unique_email("nobody")})
    assert unknown.status_code == 202
    assert site.api("verification/resend", {"email": unique_email()}).json() == unknown.json()


def test_attribute_schema_and_per_field_errors(make_site: Callable[..., Site], outbox: Outbox) -> None:
    site = make_site(
        attributes={
            "schema": [
                {"name": "given_name", "type": "string", "required": True},
                {"name": "birthdate", "type": "date", "required": True, "format": "past"},
                {"name": "phone_number", "type": "phone", "required": False},
                {"name": "member_no", "type": "string", "required": False, "format": "[A-Z]{2}[0-9]{4}"},
                {"name": "terms", "type": "boolean", "required": True, "label": "I accept the terms"},
            ]
        }
    )
    with requests.Session() as browser:
        form = Page.parse(browser.get(site.url("register"), timeout=TIMEOUT))
        names = {i.get("name") for i in form.form("/register").inputs}
        assert {"email", "password", "given_name", "birthdate", "phone_number", "member_no", "terms"} <= names
        bad = {"email": "not-an-email", "password": "password123", "birthdate": "2999-01-01", "member_no": "x"}
        rejected = site.provider().submit(browser, form, "/register", bad)
        assert rejected.status_code == 400
        page = Page.parse(rejected)
        for message in (
            "Enter an email address in the correct format",
            "This password is one of the most common ones",
            "This field is required",
            "This value is not in the expected format",
        ):
            assert message in page.text, message
        assert 'id="birthdate-error"' in page.html and 'id="terms-error"' in page.html
        assert page.form("/register").fields["birthdate"] == "2999-01-01", "entered values are kept"

    email = unique_email()
    api = site.api("register", {"email": email, "password": strong_password(), "attributes": {"terms": True}})
    assert api.status_code == 400
    assert api.json()["error"] == "invalid_input"
    assert api.json()["fields"] == {"given_name": "required", "birthdate": "required"}
    good = {"given_name": "Ada", "birthdate": "1990-12-10", "phone_number": "+41 44 123 45 67", "terms": True}
    assert site.api("register", {"email": email, "password": strong_password(), "attributes": good}).status_code == 202
    wait_for_mail(outbox, email, "Verify your email")
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    user = container.accounts().find_by_email(TenantId(site.slug), email)
    assert user.profile == {"given_name": "Ada", "birthdate": "1990-12-10", "terms": True}
    assert user.phone_number == "+41441234567" and user.status == "pending"


def test_password_policy_on_the_api(site: Site) -> None:
    email = unique_email("policy")
    cases = {
        "short": "too_short",
        "Welcome123": "common",
        "aaaaaaaaaaaaaaa": "too_weak",
        f"{email.split('@')[0]}-Extra!": "contains_email",
    }
    for password, code in cases.items():
        response = site.api("register", {"email": email, "password": password})
        assert response.status_code == 400, password
        assert response.json()["fields"] == {"password": code}, password
        assert response.json()["error_description"]


def test_registering_an_existing_email_answers_the_same_and_mails_the_owner(site: Site, outbox: Outbox) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    owner = unique_email("owner")
    container.accounts().create_user(
        TenantId(site.slug),
        email=owner,
        password=strong_password(),
        verified=True,
        settings=container.tenants().effective(TenantId(site.slug)),
    )
    taken = site.api("register", {"email": owner, "password": strong_password()})
    fresh = site.api("register", {"email": unique_email(), "password": strong_password()})
    assert (taken.status_code, taken.json(), taken.headers.get("Content-Type")) == (
        fresh.status_code,
        fresh.json(),
        fresh.headers.get("Content-Type"),
    )
    notice = wait_for_mail(outbox, owner, "Sign-up attempt")[0]
    assert "already has an account" in notice["text"]
    assert any(link.endswith("/password/forgot") for link in notice["links"])
    assert mails_to(outbox, owner, "Verify your email") == []

    with requests.Session() as browser:
        page = Page.parse(browser.get(site.url("register"), timeout=TIMEOUT))
        hosted_taken = site.provider().submit(
            browser, page, "/register", {"email": owner, "password": strong_password()}
        )
        page = Page.parse(browser.get(site.url("register"), timeout=TIMEOUT))
        other = unique_email()
        hosted_new = site.provider().submit(browser, page, "/register", {"email": other, "password": strong_password()})
    assert hosted_taken.status_code == hosted_new.status_code == 200
    assert Page.parse(hosted_taken).text.replace(owner, "X") == Page.parse(hosted_new).text.replace(other, "X")


def test_a_local_captcha_is_required_when_the_tenant_asks_for_one(make_site: Callable[..., Site]) -> None:
    site = make_site(registration={"captcha": "local"})
    body = {"email": unique_email(), "password": strong_password()}
    missing = site.api("register", body)
    assert missing.status_code == 400 and missing.json()["error"] == "captcha_failed"
    assert missing.json()["fields"] == {"captcha_token": "invalid"}
    assert site.api("register", {**body, "captcha_token": "wrong"}).json()["error"] == "captcha_failed"
    assert site.api("register", {**body, "captcha_token": "local-pass"}).status_code == 202
    with requests.Session() as browser:
        page = Page.parse(browser.get(site.url("register"), timeout=TIMEOUT))
        assert "captcha_token" in page.form("/register").fields


def test_registration_can_be_closed(make_site: Callable[..., Site], browser: requests.Session) -> None:
    site = make_site(registration={"enabled": False})
    response = site.api("register", {"email": unique_email(), "password": strong_password()})
    assert response.status_code == 403 and response.json()["error"] == "registration_closed"
    assert browser.get(site.url("register"), timeout=TIMEOUT).status_code == 403
    login = Page.parse(site.provider().authorize(browser, site.authorize_params()))
    assert "/register" not in login.html


def test_malformed_api_requests_get_typed_4xx_errors(site: Site) -> None:
    url = site.url("authn/register")
    assert (
        requests.post(url, data="{", headers={"Content-Type": "application/json"}, timeout=TIMEOUT).json()["error"]
        == "invalid_request"
    )
    wrong_type = requests.post(url, data="email=x", headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert wrong_type.status_code == 415 and wrong_type.json()["error"] == "invalid_request"
    for body in ([], {"email": 5, "password": "x"}, {"email": "a@b.co", "password": "x", "attributes": []}):
        response = requests.post(url, json=body, timeout=TIMEOUT)
        assert response.status_code == 400 and response.json()["error"] == "invalid_input", body
    unknown = requests.post(f"{site.base}/t/no-such-tenant/authn/register", json={}, timeout=TIMEOUT)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_tenant"
