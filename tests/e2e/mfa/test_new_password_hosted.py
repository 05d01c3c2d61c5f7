"""The hosted login's "Choose a new password" step over real HTTP: a password the policy now refuses is replaced
after every factor and before the session and the code; weak or unchanged passwords get the page's own 400; the
step works once, only in its browser, never with the pending second-factor state; no SSO session exists until the
password is replaced; the change and the sign-in are in the user's audit events."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import MfaSite, callback, enroll_totp, exchange, password_step, post_form, totp_now
from tests.support.oidc_client import Page, jwt_claims, query_params
from tests.support.outdated_password import (
    OUTDATED_PASSWORD,
    create_user_with_outdated_password,
    make_password_outdated,
    strong_password,
)

pytestmark = pytest.mark.stack
STEP = "/login/new-password"


def as_user(site: MfaSite, email: str, password: str, user_id: str = "") -> MfaSite:
    return MfaSite(
        site.base, site.slug, site.client_id, site.client_secret, site.redirect_uri, email, password, user_id
    )


def user_id_of(site: MfaSite, email: str) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    return str(container.accounts().find_by_email(TenantId(site.slug), email).user_id)


def events(site: MfaSite, user_id: str, action: str) -> list[Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    found, _ = container.audit().list(TenantId(site.slug), action=action, subject=user_id)
    return found


def asked_for_new_password(response: requests.Response) -> Page:
    assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
    page = Page.parse(response)
    assert page.has_form(STEP), page.h1
    assert page.h1 == "Choose a new password"
    return page


def silent_sign_in(browser: requests.Session, site: MfaSite) -> dict[str, str]:
    response = site.provider().authorize(browser, site.params(prompt="none"))
    assert response.status_code in (302, 303), response.text[:300]
    return query_params(response.headers["Location"])


def test_outdated_password_is_replaced_before_the_code(site: MfaSite) -> None:
    email = create_user_with_outdated_password(site.slug)
    old = as_user(site, email, OUTDATED_PASSWORD)
    user_id = user_id_of(site, email)
    with requests.Session() as browser:
        page = asked_for_new_password(password_step(browser, old))
        assert email in page.text
        field = next(i for i in page.form(STEP).inputs if i.get("name") == "password")
        assert field["type"] == "password" and field["autocomplete"] == "new-password"
        # No session yet: a silent sign-in cannot skip the step, and the login page comes again.
        assert "gh_session" not in browser.cookies
        assert silent_sign_in(browser, site)["error"] == "login_required"

        common = post_form(browser, site, page, STEP, {"password": "1234567890"})
        assert common.status_code == 400 and "most common" in common.text
        assert Page.parse(common).has_form(STEP)
        weak = post_form(browser, site, Page.parse(common), STEP, {"password": "aaaaaaaaaaaa"})
        assert weak.status_code == 400 and "too easy to guess" in weak.text
        same = post_form(browser, site, Page.parse(weak), STEP, {"password": OUTDATED_PASSWORD})
        assert same.status_code == 400 and Page.parse(same).has_form(STEP)
        empty = post_form(browser, site, Page.parse(same), STEP, {"password": ""})
        assert empty.status_code == 400 and "Choose a password" in empty.text

        new = strong_password()
        done = post_form(browser, site, Page.parse(empty), STEP, {"password": new})
        tokens = exchange(site, callback(done, site)["code"])
        claims = jwt_claims(tokens["id_token"])
        assert claims["sub"] == user_id and claims["amr"] == ["pwd"]

        # The step works once: the same form again cannot change the password a second time.
        replay = post_form(browser, site, page, STEP, {"password": strong_password()})
        assert replay.status_code == 400 and "already been completed" in replay.text
        # Now the browser has its session: a silent sign-in gets a code.
        assert "code" in silent_sign_in(browser, site)

    with requests.Session() as browser:
        refused = password_step(browser, old)
        assert refused.status_code == 401 and "incorrect" in refused.text
    with requests.Session() as browser:
        callback(password_step(browser, as_user(site, email, new)), site)  # no new-password page any more

    changed = events(site, user_id, "account.password_changed")
    assert [(e.outcome, e.details.get("reason"), e.details.get("client_id")) for e in changed] == [
        ("success", "outdated", site.client_id)
    ]
    failed = events(site, user_id, "account.password_change_failed")
    assert sorted(str(e.details.get("reason")) for e in failed) == ["stale", *["weak_password"] * 4]
    sign_ins = events(site, user_id, "signin.success")
    assert [e.details.get("method") for e in sign_ins] == ["pwd", "pwd"]


def test_with_totp_the_page_comes_only_after_the_code(site: MfaSite, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        secret, _, _ = enroll_totp(browser, site, clock)
    make_password_outdated(site.slug, site.email)
    old = as_user(site, site.email, OUTDATED_PASSWORD, site.user_id)

    with requests.Session() as browser:
        challenge = Page.parse(password_step(browser, old))
        assert challenge.has_form("/mfa/challenge") and not challenge.has_form(STEP), challenge.h1
        # The password alone cannot change the password: the pending second-factor state is not this step's.
        pending = challenge.form("/mfa/challenge").fields
        forged = browser.post(
            site.url("login/new-password"),
            data={"csrf": pending["csrf"], "flow": pending["flow"], "password": strong_password()},
            allow_redirects=False,
            timeout=15,
        )
        assert forged.status_code == 400 and "expired" in forged.text
        assert "gh_session" not in browser.cookies

        clock.advance(30)
        asked = post_form(browser, site, challenge, "/mfa/challenge", {"code": totp_now(secret, clock)})
        page = asked_for_new_password(asked)
        assert "gh_session" not in browser.cookies
        assert silent_sign_in(browser, site)["error"] == "login_required"

        # Another browser (its own CSRF cookie) cannot use this browser's step.
        with requests.Session() as other:
            other.get(site.url("authorize"), params=site.params(), timeout=15)
            fields = page.form(STEP).fields
            stolen = other.post(
                site.url("login/new-password"),
                data={**fields, "password": strong_password()},
                allow_redirects=False,
                timeout=15,
            )
            assert stolen.status_code == 400 and "CSRF" in stolen.text

        done = post_form(browser, site, page, STEP, {"password": strong_password()})
        claims = jwt_claims(exchange(site, callback(done, site)["code"])["id_token"])
        assert claims["amr"] == ["pwd", "otp", "mfa"]
    newest = events(site, site.user_id, "signin.success")[0]
    assert newest.details.get("method") == "mfa"
    assert len(events(site, site.user_id, "account.password_changed")) == 1


def test_where_a_factor_must_be_set_up_the_password_is_replaced_first(make_mfa_site: Any) -> None:
    """The account has no second factor (the password is every factor it has): the new password, then the
    session and the enrollment, which no longer asks for anything but the factor."""
    site: MfaSite = make_mfa_site(mode="required")
    email = create_user_with_outdated_password(site.slug)
    with requests.Session() as browser:
        page = asked_for_new_password(password_step(browser, as_user(site, email, OUTDATED_PASSWORD)))
        assert "mfa/enroll" not in page.html and "gh_session" not in browser.cookies
        choice = post_form(browser, site, page, STEP, {"password": strong_password()})
        assert choice.status_code == 200 and "mfa/enroll/totp" in choice.text, choice.text[:800]
        assert "gh_session" in browser.cookies
        # Signed in with the password only: still no code without the factor.
        silent = site.provider().authorize(browser, site.params(prompt="none"))
        assert query_params(silent.headers["Location"])["error"] == "interaction_required"
    assert [e.details.get("method") for e in events(site, user_id_of(site, email), "signin.success")] == ["pwd"]
