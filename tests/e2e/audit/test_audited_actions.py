"""Every security-relevant action the audit issue lists, driven over real HTTP and read back by the tenant's
administrator from ``/admin/audit``: sign-in success and failure, registration, email verification, password
reset, email/password/phone changes, MFA (enrolment, challenges, recovery codes, removal), consent (granted,
denied, withdrawn), sign-out and session revocation, token revocation, admin actions and federation. Each event
names the tenant's node, the actor, the subject, the client, the source IP, the user agent, the time and the
outcome (failures with a reason) and never carries a password, code, link or token. Queries by user, by type, by
time range and page by page. Token issue at the token endpoint is not covered here (it lands with its own branch).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
import requests

from tests.e2e.audit.conftest import TIMEOUT, Shop, login
from tests.support.audit_trail import AuditTrail
from tests.support.federation import Walker, code_of, make_bed, upstream_user
from tests.support.oidc_client import Page, query_params

pytestmark = pytest.mark.stack

Outbox = Callable[[], list[dict[str, Any]]]
AGENT = "AuditTest/1.0 (X11; Linux x86_64)"


def mail_link(outbox: Outbox, to: str, subject: str, count: int = 1) -> str:
    deadline = time.monotonic() + 20
    while True:
        found = [m for m in outbox() if to in m["to"] and subject in (m["subject"] or "")]
        if len(found) >= count:
            links = [link for link in found[0]["links"] if "token=" in link]
            assert len(links) == 1, found[0]["links"]
            return str(links[0])
        assert time.monotonic() < deadline, f"no mail {subject!r} to {to}"
        time.sleep(0.1)


def click(shop: Shop, link: str, values: dict[str, str] | None = None) -> requests.Response:
    """Open an email link in a fresh browser and submit its page's form."""
    with requests.Session() as browser:
        browser.headers["User-Agent"] = AGENT
        opened = browser.get(link, allow_redirects=False, timeout=TIMEOUT)
        assert opened.status_code == 200, opened.text[:300]
        path = link.split("?", 1)[0].removeprefix(shop.issuer)
        return shop.provider().submit(browser, Page.parse(opened), path, values or {})


def post_token_form(shop: Shop, path: str, token: str, **values: str) -> requests.Response:
    """Submit a link's confirmation form with any token, as a browser holding the form's CSRF cookie would."""
    with requests.Session() as browser:
        browser.cookies.set("gh_csrf", "csrf-value-for-this-test")
        data = {"csrf": "csrf-value-for-this-test", "token": token, **values}
        return browser.post(shop.url(path), data=data, allow_redirects=False, timeout=TIMEOUT)


def assert_shape(event: dict[str, Any], shop: Shop, *, outcome: str = "success") -> None:
    assert event["node"] == shop.slug and event["outcome"] == outcome
    assert event["source_ip"] == shop.client_address and event["occurred_at"] > 0 and event["actor"]
    if outcome == "failure":
        assert event["details"].get("reason"), event


# --- registration and email verification ------------------------------------------------------------------------


def test_registration_and_email_verification_are_events(shop: Shop, outbox: Outbox) -> None:
    email, password = f"new-{uuid.uuid4().hex[:10]}@example.org", "Glacier-7c1-orbit-lantern"
    weak = shop.api("authn/register", {"email": email, "password": "password1"})
    assert weak.status_code == 400
    failed = shop.trail.one("registration.failed")
    assert_shape(failed, shop, outcome="failure")
    assert failed["details"]["reason"] == "invalid_input" and "password" in failed["details"]["fields"]

    assert shop.api("authn/register", {"email": email, "password": password}).status_code == 202
    created = shop.trail.one("registration.created")
    assert_shape(created, shop)
    user_id = created["target"]
    assert created["actor"] == user_id and created["details"]["kind"] == "registration"

    assert shop.api("authn/register", {"email": email, "password": password}).status_code == 202  # same answer
    taken = shop.trail.events(type="registration.failed")[0]
    assert taken["details"]["reason"] == "email_taken" and taken["target"] == user_id

    link = mail_link(outbox, email, "Verify your email")
    forged = post_token_form(shop, "verify", "0" * 32 + "." + "A" * 43)
    assert forged.status_code == 400
    assert click(shop, link).status_code in (200, 303)
    completed = shop.trail.one("verification.completed")
    assert_shape(completed, shop)
    assert completed["target"] == user_id and completed["details"]["kind"] == "registration"
    assert completed["user_agent"] == AGENT
    used_twice = post_token_form(shop, "verify", link.split("token=", 1)[1])
    assert used_twice.status_code == 400
    failures = shop.trail.events(type="verification.failed")
    assert [f["details"]["reason"] for f in failures] == ["invalid_link", "invalid_link"]
    assert [f["target"] for f in failures] == [user_id, ""], "a link naming the account is attributed to it"

    mine = set(shop.trail.types(user=user_id))
    assert {"registration.created", "registration.failed", "verification.completed", "verification.failed"} <= mine
    listed = json.dumps(shop.trail.events())
    assert password not in listed and link.split("token=", 1)[1] not in listed


# --- password reset ---------------------------------------------------------------------------------------------


def test_password_reset_request_and_completion_are_events(shop: Shop, outbox: Outbox) -> None:
    user = shop.user
    assert shop.api("authn/password/forgot", {"email": "nobody@example.org"}).status_code == 202
    unknown = shop.trail.one("password_reset.requested")
    assert unknown["target"] == "" and unknown["details"]["status"] == "unknown_account"
    assert shop.api("authn/password/forgot", {"email": user.email}).status_code == 202
    requested = shop.trail.events(type="password_reset.requested")[0]
    assert_shape(requested, shop)
    assert requested["target"] == user.user_id and requested["details"]["status"] == "sent"

    link = mail_link(outbox, user.email, "Reset your")
    token = link.split("token=", 1)[1]
    bogus = shop.api("authn/password/reset", {"token": token[:-4] + "AAAA", "password": "Quartz-9f2-meadow-ember"})
    assert bogus.status_code == 400
    weak = shop.api("authn/password/reset", {"token": token, "password": "welcome123"})
    assert weak.status_code == 400
    reasons = [e["details"]["reason"] for e in shop.trail.events(type="password_reset.failed")]
    assert reasons == ["weak_password", "invalid_link"]
    new_password = "Quartz-9f2-meadow-ember"
    done = shop.api("authn/password/reset", {"token": token, "password": new_password})
    assert done.status_code == 200, done.text
    completed = shop.trail.one("password_reset.completed")
    assert_shape(completed, shop)
    assert completed["target"] == user.user_id
    assert shop.api("authn/password/reset", {"token": token, "password": new_password}).status_code == 400
    assert len(shop.trail.events(type="password_reset.failed")) == 3
    listed = json.dumps(shop.trail.events())
    assert token not in listed and new_password not in listed and "welcome123" not in listed


# --- sign-in, account changes, sign-out ------------------------------------------------------------------------


def test_sign_ins_account_changes_and_sign_outs_are_events(shop: Shop, outbox: Outbox) -> None:
    user = shop.user
    with requests.Session() as stranger:
        assert login(shop, stranger, user.__class__(user.email, "Wrong-pass-123", user.user_id)).status_code == 401
    with requests.Session() as browser:
        browser.headers["User-Agent"] = AGENT
        tokens = shop.exchange(login(shop, browser, user))
        signed_in = shop.trail.one("signin.success")
        assert_shape(signed_in, shop)
        assert signed_in["details"]["client_id"] == shop.client_id and signed_in["user_agent"] == AGENT
        assert shop.trail.one("signin.failure")["details"]["reason"] == "invalid_credentials"
        access = tokens["access_token"]

        wrong = shop.account("POST", "/password", access, json={"current_password": "nope", "new_password": "x"})
        assert wrong.status_code == 400
        assert shop.trail.one("account.password_change_failed")["outcome"] == "failure"
        new_password = "Harbor-4e8-willow-comet"
        changed = shop.account(
            "POST", "/password", access, json={"current_password": user.password, "new_password": new_password}
        )
        assert changed.status_code == 200, changed.text
        assert shop.trail.one("account.password_changed")["target"] == user.user_id

        new_email = f"moved-{uuid.uuid4().hex[:8]}@example.org"
        assert shop.account("POST", "/email", access, json={"new_email": new_email}).status_code == 202
        assert shop.trail.one("account.email_change_requested")["details"]["status"] == "sent"
        link = mail_link(outbox, new_email, "Confirm your new email")
        assert click(shop, link).status_code == 200
        changed_email = shop.trail.one("account.email_changed")
        assert_shape(changed_email, shop)
        assert changed_email["target"] == user.user_id and new_email not in json.dumps(changed_email)
        assert post_token_form(shop, "email/verify", link.split("token=", 1)[1]).status_code == 400
        assert shop.trail.one("account.email_change_failed")["details"]["reason"] == "invalid_link"

        code = shop.account("POST", "/phone", access, json={"phone_number": "+41791234567"})
        assert code.status_code == 202, code.text
        assert shop.account("POST", "/phone/verify", access, json={"code": "000000"}).status_code == 400
        assert shop.trail.one("account.phone_change_failed")["details"]["reason"] == "invalid_code"

        logout = browser.get(shop.url("logout"), timeout=TIMEOUT)
        confirm = shop.provider().submit(browser, Page.parse(logout), "/logout", {})
        assert confirm.status_code == 200
    signed_out = shop.trail.one("session.signed_out")
    assert_shape(signed_out, shop)
    assert signed_out["target"] == user.user_id

    with requests.Session() as laptop, requests.Session() as phone:
        shop.exchange(login(shop, laptop, user.__class__(new_email, new_password, user.user_id)))
        second = shop.exchange(login(shop, phone, user.__class__(new_email, new_password, user.user_id)))
    sessions = shop.account("GET", "/sessions", second["access_token"]).json()["sessions"]
    other = next(s for s in sessions if not s.get("current"))
    assert shop.account("DELETE", f"/sessions/{other['id']}", second["access_token"]).status_code == 200
    assert shop.trail.one("account.session_revoked")["target"] == user.user_id
    assert shop.account("DELETE", "/sessions", second["access_token"]).status_code == 200
    assert shop.trail.one("account.signed_out_everywhere")["target"] == user.user_id

    listed = json.dumps(shop.trail.events())
    for secret in (user.password, new_password, tokens["access_token"], tokens["refresh_token"], "000000"):
        assert secret not in listed


# --- MFA ----------------------------------------------------------------------------------------------------


def totp_at(secret: str, clock: Any) -> str:
    return str(pyotp.TOTP(secret).at(clock.now()))


def challenge_page(shop: Shop, browser: requests.Session) -> Page:
    response = login(shop, browser, shop.user)
    assert response.status_code == 200, response.text[:300]
    page = Page.parse(response)
    assert page.has_form("/mfa/challenge"), page.h1
    return page


def test_mfa_enrolment_challenges_recovery_codes_and_removal_are_events(shop: Shop, clock: Any) -> None:
    provider = shop.provider()
    with requests.Session() as browser:
        shop.exchange(login(shop, browser, shop.user))
        opened = browser.get(shop.url("mfa/enroll/totp"), timeout=TIMEOUT)
        page = Page.parse(opened)
        match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.html)
        assert match, page.html[:500]
        secret = match.group(1).replace(" ", "")
        enrolled = provider.submit(
            browser, page, "/mfa/enroll/totp", {"code": totp_at(secret, clock)}, ("step", "confirm")
        )
        assert enrolled.status_code == 200
        codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", enrolled.text)
    kinds = sorted(e["details"]["kind"] for e in shop.trail.events(type="mfa.enrolled"))
    assert kinds == ["recovery_code", "totp"]

    clock.advance(30)
    with requests.Session() as browser:
        page = challenge_page(shop, browser)
        wrong = provider.submit(browser, page, "/mfa/challenge", {"code": "000000"})
        assert wrong.status_code == 400
        failed = shop.trail.one("mfa.challenge_failed")
        assert_shape(failed, shop, outcome="failure")
        assert failed["details"] == {"client_id": shop.client_id, "kind": "totp", "reason": "wrong_code"}
        passed = provider.submit(browser, Page.parse(wrong), "/mfa/challenge", {"code": totp_at(secret, clock)})
        tokens = shop.exchange(passed)
    assert shop.trail.one("mfa.challenge_passed")["details"]["kind"] == "totp"

    with requests.Session() as browser:
        page = challenge_page(shop, browser)
        use = provider.submit(browser, page, "/mfa/challenge", {}, ("action", "use:recovery_code:"))
        done = provider.submit(browser, Page.parse(use), "/mfa/challenge", {"code": codes[0]})
        shop.exchange(done)
    assert shop.trail.one("mfa.recovery_code_used")["target"] == shop.user.user_id
    assert [e["details"]["kind"] for e in shop.trail.events(type="mfa.challenge_passed")] == ["recovery_code", "totp"]

    factors = shop.account("GET", "/mfa", tokens["access_token"]).json()["factors"]
    totp_id = next(f["id"] for f in factors if f["kind"] == "totp")
    assert shop.account("DELETE", f"/mfa/{totp_id}", tokens["access_token"]).status_code == 200
    removed = sorted(e["details"]["kind"] for e in shop.trail.events(type="mfa.removed"))
    assert removed == ["recovery_code", "totp"], "the recovery codes go with the last real factor"
    listed = json.dumps(shop.trail.events())
    assert secret not in listed and all(code not in listed for code in codes)
    assert set(shop.trail.types(type="mfa.")) == {
        "mfa.enrolled",
        "mfa.challenge_failed",
        "mfa.challenge_passed",
        "mfa.recovery_code_used",
        "mfa.removed",
    }


# --- consent, token revocation, admin actions -------------------------------------------------------------------


def test_consent_token_revocation_and_admin_actions_are_events(shop: Shop) -> None:
    provider = shop.provider()
    with requests.Session() as browser:
        asked = provider.authorize(browser, shop.params(shop.partner_id))
        consent = provider.login(browser, asked, shop.user.email, shop.user.password)
        denied = provider.consent(browser, consent, "deny")
        assert query_params(denied.headers["Location"])["error"] == "access_denied"
    denial = shop.trail.one("consent.denied")
    assert_shape(denial, shop)
    assert denial["details"]["client_id"] == shop.partner_id
    with requests.Session() as browser:
        asked = provider.authorize(browser, shop.params(shop.partner_id))
        consent = provider.login(browser, asked, shop.user.email, shop.user.password)
        assert provider.consent(browser, consent, "allow").status_code == 303
    assert shop.trail.one("consent.granted")["details"]["client_id"] == shop.partner_id

    with requests.Session() as browser:
        tokens = shop.exchange(login(shop, browser, shop.user))
    revoked = shop.account("DELETE", f"/consents/{shop.partner_id}", tokens["access_token"])
    assert revoked.status_code == 200, revoked.text
    assert shop.trail.one("consent.revoked")["details"]["client_id"] == shop.partner_id
    assert provider.revoke(tokens["refresh_token"], (shop.client_id, shop.secret)).status_code == 200
    assert shop.trail.one("token.revoke")["actor"] == shop.client_id

    token = shop.trail.token()
    locked = requests.post(
        shop.url(f"admin/users/{shop.user.user_id}/lock"),
        json={"seconds": 600},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert locked.status_code == 200, locked.text
    lock = shop.trail.one("admin.user.lock")
    assert lock["actor"] == shop.trail.client_id and lock["target"] == shop.user.user_id


# --- federation -----------------------------------------------------------------------------------------------


def test_federated_sign_ins_and_refusals_are_events(live_server: str) -> None:
    bed = make_bed(live_server)
    trail = AuditTrail.for_tenant(live_server, bed.tenant)
    email, password = upstream_user(bed)
    walker = Walker(bed)
    bed.exchange(code_of(bed, walker.sign_in(bed.authorize_params(idp="up"), email, password)))
    created = trail.one("federation.user.create")
    assert created["details"]["integration"] == "up" and created["actor"] == "idp:up"
    assert trail.one("signin.success")["target"] == created["target"]

    refused = Walker(bed)
    query = requests.compat.urlencode(bed.authorize_params(idp="up"))
    first = refused.follow(refused.get(f"{bed.issuer}/authorize?{query}"))
    assert f"/t/{bed.upstream}/" in first.url
    upstream_authorize = next(url for url in refused.trail if f"/t/{bed.upstream}/authorize" in url)
    state = query_params(upstream_authorize)["state"]
    callback = f"{bed.issuer}/federation/up/callback?" + requests.compat.urlencode(
        {"state": state, "error": "access_denied"}
    )
    assert refused.get(callback).status_code in (302, 303)
    failed = trail.one("federation.failed")
    assert failed["outcome"] == "failure" and failed["details"] == {"integration": "up", "reason": "upstream_denied"}
    assert trail.types(type="federation.") == ["federation.failed", "federation.user.create"]


# --- queries ----------------------------------------------------------------------------------------------------


def test_the_trail_is_queryable_by_user_type_time_and_page(shop: Shop, clock: Any) -> None:
    other = shop.new_user()
    with requests.Session() as browser:
        shop.exchange(login(shop, browser, shop.user))
    clock.advance(3600)
    with requests.Session() as browser:
        shop.exchange(login(shop, browser, other))
    for _ in range(3):
        assert shop.api("authn/password/forgot", {"email": other.email}).status_code == 202
        clock.advance(700)  # past the reset cooldown: each request sends (and records) a new link

    # Each sign-in is its event and the code exchange's token.issue (written with the grant, so already stored).
    assert shop.trail.types(user=shop.user.user_id) == ["token.issue", "signin.success"]
    assert shop.trail.types(user=other.user_id) == ["password_reset.requested"] * 3 + ["token.issue", "signin.success"]
    assert len(shop.trail.events(type="password_reset.requested")) == 3
    first_sign_in = shop.trail.events(type="signin.success")[-1]["occurred_at"]
    early = shop.trail.events(until=str(first_sign_in + 60))
    assert [e["target"] for e in early] == [shop.user.user_id] * 2
    late = shop.trail.types(since=str(first_sign_in + 60))
    assert late == ["password_reset.requested"] * 3 + ["token.issue", "signin.success"]

    pages = list(shop.trail.pages(limit="2"))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    ids = [e["id"] for p in pages for e in p]
    assert len(set(ids)) == 7 and ids == [e["id"] for e in shop.trail.events(limit="200")]
    bad = requests.get(
        shop.url("admin/audit"),
        params={"cursor": "not-a-cursor"},
        headers={"Authorization": f"Bearer {shop.trail.token()}"},
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
