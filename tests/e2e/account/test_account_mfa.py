"""Two-step verification in the account API and portal: factors listed, removing one or renewing recovery codes
needs a token from a sign-in with the second factor, failed second-factor codes appear in the activity log, and
"forget remembered devices" makes a remembered browser ask for the second factor again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.account.conftest import AccountApi
from tests.e2e.mfa.conftest import (  # noqa: F401 - fixtures shared with the MFA suite
    MfaSite,
    callback,
    enroll_totp,
    exchange,
    make_mfa_site,
    password_step,
    post_form,
    totp_now,
)
from tests.support.oidc_client import Page

pytestmark = pytest.mark.stack


def test_factor_changes_need_the_second_factor_and_failures_are_logged(
    make_mfa_site: Callable[..., MfaSite],  # noqa: F811
    clock: Any,
) -> None:
    site = make_mfa_site(remember_device_seconds=86400)
    with requests.Session() as browser:
        password_only = exchange(site, callback(password_step(browser, site), site)["code"])
        secret, codes, _ = enroll_totp(browser, site, clock)
    api = AccountApi(site.provider(), password_only["access_token"])
    listing = api.call("GET", "/mfa").json()
    kinds = {f["kind"]: f for f in listing["factors"]}
    assert set(kinds) == {"totp", "recovery_code"} and kinds["recovery_code"]["codes_left"] == len(codes)
    assert listing["manage_url"].endswith("/mfa/factors")
    refused = api.call("DELETE", f"/mfa/{kinds['totp']['id']}")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert api.call("POST", "/mfa/recovery-codes").status_code == 403

    clock.advance(30)
    with requests.Session() as browser:
        page = Page.parse(password_step(browser, site, prompt="login"))
        wrong = post_form(browser, site, page, "/mfa/challenge", {"code": "000000"})
        assert wrong.status_code == 400
        done = post_form(
            browser, site, Page.parse(wrong), "/mfa/challenge", {"code": totp_now(secret, clock), "remember": "on"}
        )
        strong = exchange(site, callback(done, site)["code"])
        remembered = browser.cookies.get("gh_mfa_device")
        assert remembered
        strong_api = AccountApi(site.provider(), strong["access_token"])
        events = strong_api.call("GET", "/activity").json()["events"]
        reasons = [e["reason"] for e in events if e["event"] == "signin.failure"]
        assert "mfa_invalid_code" in reasons
        assert any(e["event"] == "signin.success" for e in events)

        renewed = strong_api.call("POST", "/mfa/recovery-codes")
        assert renewed.status_code == 200 and len(renewed.json()["recovery_codes"]) == 10

        # A remembered browser skips the second step until the user forgets remembered devices.
        clock.advance(30)
        skipped = password_step(browser, site, prompt="login")
        assert skipped.status_code == 303, skipped.text[:300]
        assert strong_api.call("DELETE", "/mfa/remembered-devices").status_code == 200
        clock.advance(2)
        asked = password_step(browser, site, prompt="login")
        assert asked.status_code == 200 and Page.parse(asked).has_form("/mfa/challenge")

        assert strong_api.call("DELETE", f"/mfa/{kinds['totp']['id']}").status_code == 200
    assert strong_api.call("GET", "/mfa").json()["factors"] == []  # recovery codes go with the last factor
