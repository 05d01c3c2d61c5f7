"""Enrolling second factors through the account API (a mobile app with the user's bearer token): TOTP with a real
code computed from the returned secret, email and SMS codes read from the local outbox, rename; the portal's rules
(a token with the second factor once the user has one, single-use challenges locked after wrong codes) hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.account.conftest import AccountApi
from tests.e2e.mfa.conftest import (  # noqa: F401 - fixtures shared with the MFA suite
    MfaSite,
    callback,
    exchange,
    make_mfa_site,
    outbox_code,
    password_step,
    post_form,
    totp_now,
)
from tests.support.oidc_client import Page, jwt_claims

pytestmark = pytest.mark.stack
PHONE = "+41791234567"


def password_token(site: MfaSite) -> str:
    with requests.Session() as browser:
        return str(exchange(site, callback(password_step(browser, site), site)["code"])["access_token"])


def test_totp_email_and_sms_enrollment_and_rename(
    make_mfa_site: Callable[..., MfaSite],  # noqa: F811
    clock: Any,
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    site = make_mfa_site()
    api = AccountApi(site.provider(), password_token(site))

    started = api.call("POST", "/mfa/totp", json={"label": "My phone"})
    assert started.status_code == 201, started.text
    setup = started.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/") and f"secret={setup['secret']}" in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("<svg") and started.headers["Cache-Control"] == "no-store"
    wrong = api.call("POST", "/mfa/totp/verify", json={"challenge_id": setup["challenge_id"], "code": "000000"})
    assert wrong.status_code == 400 and wrong.json()["fields"] == {"code": "invalid"}
    done = api.call(
        "POST",
        "/mfa/totp/verify",
        json={"challenge_id": setup["challenge_id"], "code": totp_now(setup["secret"], clock), "label": "Pixel"},
    )
    assert done.status_code == 201, done.text
    assert done.json()["label"] == "Pixel" and len(done.json()["recovery_codes"]) == 10
    # Now the user has a second factor: a password-only token can no longer add or rename one.
    again = api.call("POST", "/mfa/totp/verify", json={"challenge_id": setup["challenge_id"], "code": "123456"})
    assert again.status_code == 403 and again.json()["error"] == "forbidden"
    refused = api.call("POST", "/mfa/email_otp")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    totp_id = done.json()["id"]
    assert api.call("PATCH", f"/mfa/{totp_id}", json={"label": "x"}).status_code == 403

    clock.advance(30)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site))
        signed = post_form(browser, site, page, "/mfa/challenge", {"code": totp_now(setup["secret"], clock)})
        tokens = exchange(site, callback(signed, site)["code"])
    assert "mfa" in jwt_claims(tokens["id_token"])["amr"]
    strong = AccountApi(site.provider(), tokens["access_token"])

    email = strong.call("POST", "/mfa/email_otp")
    assert email.status_code == 202, email.text
    assert email.json()["target"].endswith(site.email.split("@")[1]) and "code" not in email.json()
    code = outbox_code(outbox, site.email)
    verified = strong.call(
        "POST", "/mfa/email_otp/verify", json={"challenge_id": email.json()["challenge_id"], "code": code}
    )
    assert verified.status_code == 201 and "recovery_codes" not in verified.json()

    bad_phone = strong.call("POST", "/mfa/sms_otp", json={"phone_number": "12345"})
    assert bad_phone.status_code == 400 and bad_phone.json()["fields"] == {"phone_number": "invalid"}
    sms = strong.call("POST", "/mfa/sms_otp", json={"phone_number": "+41 79 123 45 67"})
    assert sms.status_code == 202 and sms.json()["target"].endswith("4567")
    sms_code = outbox_code(outbox, PHONE)
    verified = strong.call(
        "POST", "/mfa/sms_otp/verify", json={"challenge_id": sms.json()["challenge_id"], "code": sms_code}
    )
    assert verified.status_code == 201, verified.text

    renamed = strong.call("PATCH", f"/mfa/{totp_id}", json={"label": "  Work   phone "})
    assert renamed.status_code == 200 and renamed.json()["label"] == "Work phone"
    assert strong.call("PATCH", f"/mfa/{totp_id}", json={"label": ""}).status_code == 400
    assert strong.call("PATCH", "/mfa/no-such-factor", json={"label": "x"}).status_code == 404
    factors = {f["kind"]: f for f in strong.call("GET", "/mfa").json()["factors"]}
    assert set(factors) == {"totp", "email_otp", "sms_otp", "recovery_code"}
    assert factors["totp"]["label"] == "Work phone"


def test_enrollment_challenges_lock_and_stay_with_their_user(
    make_mfa_site: Callable[..., MfaSite],  # noqa: F811
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    site = make_mfa_site(factors=["totp", "email_otp", "recovery_code"])
    api = AccountApi(site.provider(), password_token(site))
    assert api.call("POST", "/mfa/sms_otp", json={"phone_number": PHONE}).json()["error"] == "invalid_request"
    assert api.call("POST", "/mfa/totp", data="[]", headers={"Content-Type": "application/json"}).status_code == 400
    started = api.call("POST", "/mfa/email_otp").json()
    code = outbox_code(outbox, site.email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        response = api.call(
            "POST", "/mfa/email_otp/verify", json={"challenge_id": started["challenge_id"], "code": wrong}
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    locked = api.call("POST", "/mfa/email_otp/verify", json={"challenge_id": started["challenge_id"], "code": wrong})
    assert locked.json()["error"] == "challenge_closed"
    late = api.call("POST", "/mfa/email_otp/verify", json={"challenge_id": started["challenge_id"], "code": code})
    assert late.status_code == 400 and late.json()["error"] == "challenge_closed"

    # Another user's challenge, or a challenge of another kind, is nobody else's enrollment.
    other_site = make_mfa_site()
    other = AccountApi(other_site.provider(), password_token(other_site))
    theirs = other.call("POST", "/mfa/email_otp").json()
    their_code = outbox_code(outbox, other_site.email)
    stolen = api.call(
        "POST", "/mfa/email_otp/verify", json={"challenge_id": theirs["challenge_id"], "code": their_code}
    )
    assert stolen.status_code == 400
    totp = api.call("POST", "/mfa/totp").json()
    crossed = api.call("POST", "/mfa/email_otp/verify", json={"challenge_id": totp["challenge_id"], "code": "123456"})
    assert crossed.status_code == 400
    assert api.call("GET", "/mfa").json()["factors"] == []
