"""Account recovery and email change end to end: single-use links, revocation of sessions and refresh tokens,
notices, and the old address working until the new one is verified."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from tests.e2e.registration.conftest import (
    TIMEOUT,
    Site,
    click,
    mails_to,
    strong_password,
    token_link,
    unique_email,
    wait_for_mail,
)
from tests.support.oidc_client import Page

Outbox = Callable[[], list[dict[str, Any]]]


def _active_user(site: Site, prefix: str = "user") -> tuple[str, str]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    email, password = unique_email(prefix), strong_password()
    container.accounts().create_user(
        TenantId(site.slug),
        email=email,
        password=password,
        verified=True,
        settings=container.tenants().effective(TenantId(site.slug)),
    )
    return email, password


def _tokens(site: Site, browser: requests.Session, email: str, password: str) -> dict[str, Any]:
    params = site.provider().sign_in(browser, site.authorize_params(), email, password)
    response = site.provider().token(
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": site.redirect_uri},
        auth=(site.client_id, site.client_secret),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _refresh(site: Site, refresh_token: str) -> requests.Response:
    return site.provider().token(
        {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth=(site.client_id, site.client_secret)
    )


def test_password_reset_revokes_every_session_and_refresh_token(site: Site, outbox: Outbox) -> None:
    email, old_password = _active_user(site)
    provider = site.provider()
    laptop, phone = requests.Session(), requests.Session()
    laptop_tokens = _tokens(site, laptop, email, old_password)
    phone_tokens = _tokens(site, phone, email, old_password)
    assert provider.userinfo(phone_tokens["access_token"]).status_code == 200

    with requests.Session() as browser:
        forgot = Page.parse(browser.get(site.url("password/forgot"), timeout=TIMEOUT))
        sent = provider.submit(browser, forgot, "/password/forgot", {"email": email})
        assert sent.status_code == 200 and "Check your inbox" in Page.parse(sent).text
        link = token_link(wait_for_mail(outbox, email, "Reset your")[0])
        weak = click(browser, site, link, {"password": "welcome123"})
        assert weak.status_code == 400 and "most common" in Page.parse(weak).text
        new_password = strong_password()
        done = click(browser, site, link, {"password": new_password})
        assert done.status_code == 200 and Page.parse(done).h1 == "Your password was changed"
        assert browser.get(link, timeout=TIMEOUT).status_code == 400, "the link works once"

    for tokens in (laptop_tokens, phone_tokens):
        assert _refresh(site, tokens["refresh_token"]).json()["error"] == "invalid_grant"
        assert provider.userinfo(tokens["access_token"]).status_code == 401
    relogin = provider.authorize(laptop, site.authorize_params())
    assert relogin.status_code == 200 and Page.parse(relogin).has_form("/login"), "the session was ended"
    assert provider.login(laptop, relogin, email, old_password).status_code == 401
    assert provider.sign_in(requests.Session(), site.authorize_params(), email, new_password)["code"]
    notice = wait_for_mail(outbox, email, "password was changed")[0]
    assert "signed out" in notice["text"]


def test_forgot_password_answers_the_same_for_unknown_addresses_and_a_newer_link_replaces_an_older_one(
    make_site: Callable[..., Site], outbox: Outbox, clock: Any
) -> None:
    site = make_site(recovery={"reset_cooldown_seconds": 60})
    email, _ = _active_user(site)
    known = site.api("password/forgot", {"email": email})
    unknown = site.api("password/forgot", {"email": unique_email("nobody")})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, {"status": "accepted"})
    first = token_link(wait_for_mail(outbox, email, "Reset your")[0])
    assert site.api("password/forgot", {"email": email}).status_code == 202, "within the cooldown: no second mail"
    time.sleep(0.3)
    assert len(mails_to(outbox, email, "Reset your")) == 1
    clock.advance(61)  # past the cooldown on the server's clock (not the wall clock: mail delivery may be slow)
    assert site.api("password/forgot", {"email": email}).status_code == 202
    second = token_link(wait_for_mail(outbox, email, "Reset your", count=2)[1])

    stale = site.api("password/reset", {"token": first.split("token=")[1], "password": strong_password()})
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_link"
    token = second.split("token=")[1]
    weak = site.api("password/reset", {"token": token, "password": "aaaaaaaaaaaa"})
    assert weak.status_code == 400 and weak.json()["fields"] == {"password": "too_weak"}
    done = site.api("password/reset", {"token": token, "password": strong_password()})
    assert done.status_code == 200 and done.json() == {"status": "password_reset"}
    assert site.api("password/reset", {"token": token, "password": strong_password()}).status_code == 400


def test_hosted_email_change_keeps_the_old_address_until_the_new_one_is_verified(site: Site, outbox: Outbox) -> None:
    email, password = _active_user(site, "old")
    new_email = unique_email("new")
    provider = site.provider()
    with requests.Session() as browser:
        assert browser.get(site.url("email/change"), timeout=TIMEOUT).status_code == 401, "needs a session"
        provider.sign_in(browser, site.authorize_params(), email, password)
        form = Page.parse(browser.get(site.url("email/change"), timeout=TIMEOUT))
        assert email in form.text
        same = provider.submit(browser, form, "/email/change", {"new_email": email})
        assert same.status_code == 400 and "already your email" in Page.parse(same).text
        sent = provider.submit(browser, form, "/email/change", {"new_email": new_email})
        assert sent.status_code == 200 and "Check your inbox" in Page.parse(sent).text
        link = token_link(wait_for_mail(outbox, new_email, "Confirm your new email")[0])

        # Until the link is used, the old address is the account's.
        assert provider.sign_in(requests.Session(), site.authorize_params(), email, password)["code"]
        done = click(browser, site, link)
        assert done.status_code == 200 and Page.parse(done).h1 == "Your email address was changed"

    assert provider.sign_in(requests.Session(), site.authorize_params(), new_email, password)["code"]
    with requests.Session() as other:
        login = provider.authorize(other, site.authorize_params())
        assert provider.login(other, login, email, password).status_code == 401
    notice = wait_for_mail(outbox, email, "email address was changed")[0]
    assert new_email in notice["text"]
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    user = container.accounts().find_by_email(TenantId(site.slug), new_email)
    assert user.email == new_email and user.email_verified


def test_email_change_api_needs_the_users_access_token_and_never_reveals_a_taken_address(
    site: Site, outbox: Outbox
) -> None:
    email, password = _active_user(site)
    other_email, _ = _active_user(site, "other")
    with requests.Session() as browser:
        access_token = _tokens(site, browser, email, password)["access_token"]
    missing = site.api("email/change", {"new_email": unique_email()})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert site.api("email/change", {"new_email": unique_email()}, token="x.y.z").status_code == 401

    taken = site.api("email/change", {"new_email": other_email}, token=access_token)
    new_email = unique_email("moved")
    free = site.api("email/change", {"new_email": new_email}, token=access_token)
    assert (
        (taken.status_code, taken.json())
        == (free.status_code, free.json())
        == (
            202,
            {"status": "verification_pending", "message": "Check the new address's inbox for a link."},
        )
    )
    assert wait_for_mail(outbox, other_email, "Email change attempt")
    link = token_link(wait_for_mail(outbox, new_email, "Confirm your new email")[0])
    assert mails_to(outbox, other_email, "Confirm your new email") == []
    with requests.Session() as browser:
        assert Page.parse(click(browser, site, link)).h1 == "Your email address was changed"
