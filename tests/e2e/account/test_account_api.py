"""The account API over HTTP with real tokens: profile, password, devices, activity, consents and receipts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.e2e.account.conftest import AccountApi, refresh, sign_in_tokens
from tests.support.oidc_client import E2EClient, E2EUser, Provider

pytestmark = pytest.mark.stack


def test_profile_view_and_partial_update(op: Provider, first_party: E2EClient, user: E2EUser) -> None:
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    profile = api.call("GET", "/profile").json()
    assert profile["sub"] == user.user_id and profile["email"] == user.email
    assert profile["attributes"]["given_name"] == "Test"
    changed = api.call("PATCH", "/profile", json={"attributes": {"nickname": "Tess", "family_name": None}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["attributes"] == {"name": "Test Person", "given_name": "Test", "family_name": None,
                                            "nickname": "Tess"}  # fmt: skip
    assert api.call("GET").json()["attributes"]["nickname"] == "Tess"
    assert op.userinfo(api.token).status_code == 200


def test_profile_rejects_unknown_and_malformed_attributes(op: Provider, first_party: E2EClient, user: E2EUser) -> None:
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    unknown = api.call("PATCH", "/profile", json={"attributes": {"email_verified": True}})
    assert unknown.status_code == 400 and unknown.json()["fields"] == {"email_verified": "unknown"}
    bad = api.call("PATCH", "/profile", json={"attributes": {"name": "x\u0001y"}})
    assert bad.status_code == 400 and bad.json()["fields"] == {"name": "invalid"}
    not_json = api.call("PATCH", "/profile", data="attributes=1", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415 and not_json.json()["error"] == "invalid_request"


def test_tokens_of_third_party_clients_and_missing_tokens_are_refused(
    op: Provider, third_party: E2EClient, user: E2EUser
) -> None:
    tokens = sign_in_tokens(op, third_party, user, consent="allow")
    refused = AccountApi(op, tokens.access_token).call("GET", "/profile")
    assert refused.status_code == 403 and "insufficient_scope" in refused.headers["WWW-Authenticate"]
    anonymous = requests.get(f"{op.issuer}/account/profile", headers={"Accept": "application/json"}, timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    forged = AccountApi(op, tokens.access_token + "x").call("GET", "/profile")
    assert forged.status_code == 401


def test_change_password_needs_the_current_one_and_signs_other_devices_out(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    user = make_user()
    other = sign_in_tokens(op, first_party, user)
    mine = sign_in_tokens(op, first_party, user)
    api = AccountApi(op, mine.access_token)
    wrong = api.call("POST", "/password", json={"current_password": "nope-nope-nope", "new_password": "x"})
    assert wrong.status_code == 400 and wrong.json()["fields"] == {"current_password": "invalid"}
    weak = api.call("POST", "/password", json={"current_password": user.password, "new_password": "password123"})
    assert weak.status_code == 400 and "new_password" in weak.json()["fields"]
    new_password = "Correct-Horse-Battery-42"
    done = api.call("POST", "/password", json={"current_password": user.password, "new_password": new_password})
    assert done.status_code == 200, done.text
    assert refresh(op, first_party, other.refresh_token).json()["error"] == "invalid_grant"
    assert refresh(op, first_party, mine.refresh_token).status_code == 200
    with pytest.raises(AssertionError):
        sign_in_tokens(op, first_party, user)  # the old password no longer works
    sign_in_tokens(op, first_party, E2EUser(user.email, new_password, user.user_id))


def test_sessions_list_and_revoke_one_then_everywhere(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    user = make_user()
    phone = sign_in_tokens(
        op, first_party, user,
        headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                 "CloudFront-Viewer-City": "Zurich", "CloudFront-Viewer-Country-Name": "Switzerland"},
    )  # fmt: skip
    laptop_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
    laptop = sign_in_tokens(op, first_party, user, headers={"User-Agent": laptop_agent})
    api = AccountApi(op, laptop.access_token)
    listing = api.call("GET", "/sessions").json()
    assert len(listing["sessions"]) == 2 and len(listing["tokens"]) == 2
    iphone = next(s for s in listing["sessions"] if s["os"] == "iOS")
    assert iphone["browser"] == "Safari" and iphone["device"] == "mobile"
    assert iphone["location"] == "Zurich, Switzerland" and iphone["ip"]
    assert next(s for s in listing["sessions"] if s["current"])["browser"] == "Firefox"
    assert api.call("DELETE", f"/sessions/{iphone['id']}").status_code == 200
    assert refresh(op, first_party, phone.refresh_token).json()["error"] == "invalid_grant"
    assert op.userinfo(phone.access_token).status_code == 401
    fresh = refresh(op, first_party, laptop.refresh_token)
    assert fresh.status_code == 200
    assert api.call("DELETE", "/sessions/not-a-session").status_code == 404
    everywhere = api.call("DELETE", "/sessions")
    assert everywhere.status_code == 200 and everywhere.json()["sessions"] == 1
    assert refresh(op, first_party, fresh.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert api.call("GET", "/sessions").status_code == 401  # this token's grant was revoked too


def test_another_users_session_cannot_be_revoked(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    victim, attacker = make_user(), make_user()
    victim_tokens = sign_in_tokens(op, first_party, victim)
    victim_sessions = AccountApi(op, victim_tokens.access_token).call("GET", "/sessions").json()
    api = AccountApi(op, sign_in_tokens(op, first_party, attacker).access_token)
    assert api.call("DELETE", f"/sessions/{victim_sessions['sessions'][0]['id']}").status_code == 404
    assert api.call("DELETE", f"/tokens/{victim_sessions['tokens'][0]['id']}").status_code == 404
    assert refresh(op, first_party, victim_tokens.refresh_token).status_code == 200


def test_activity_records_failures_successes_and_new_devices(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    user = make_user()
    browser = requests.Session()
    with pytest.raises(AssertionError):
        sign_in_tokens(op, first_party, E2EUser(user.email, "wrong-password-1", user.user_id))
    tokens = sign_in_tokens(op, first_party, user)
    events = AccountApi(op, tokens.access_token).call("GET", "/activity").json()["events"]
    assert [e["event"] for e in events[:2]] == ["signin.success", "signin.failure"]
    success, failure = events[0], events[1]
    assert failure["outcome"] == "failure" and failure["reason"] == "invalid_credentials"
    assert success["client_id"] == first_party.client_id and success["new_device"] is True
    # Same browser again: not a new device.
    again = sign_in_tokens(op, first_party, user)
    browser.close()
    latest = AccountApi(op, again.access_token).call("GET", "/activity").json()["events"][0]
    assert latest["event"] == "signin.success"


def test_same_browser_is_not_a_new_device(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser], callback: str
) -> None:
    from tests.support.oidc_client import pkce_pair

    user = make_user()
    first = sign_in_tokens(op, first_party, user)
    _, challenge = pkce_pair()
    params = {
        "client_id": first_party.client_id, "redirect_uri": first_party.redirect_uri, "response_type": "code",
        "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
        "prompt": "login",
    }  # fmt: skip
    op.sign_in(first.browser, params, user.email, user.password)
    events = AccountApi(op, first.access_token).call("GET", "/activity").json()["events"]
    successes = [e for e in events if e["event"] == "signin.success"]
    assert [e["new_device"] for e in successes] == [False, True]


def test_revoking_a_consent_revokes_the_clients_tokens_and_issues_receipts(
    op: Provider, first_party: E2EClient, third_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    user = make_user()
    partner = sign_in_tokens(op, third_party, user, scope="openid email offline_access", consent="allow")
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    consents = api.call("GET", "/consents").json()
    assert [(c["client_id"], c["scopes"]) for c in consents["consents"]] == [
        (third_party.client_id, ["email", "offline_access", "openid"])
    ]
    granted_id = consents["receipts"][0]["id"]
    receipt = api.call("GET", f"/consents/receipts/{granted_id}")
    assert receipt.status_code == 200 and "attachment" in receipt.headers["Content-Disposition"]
    document = receipt.json()
    assert document["version"] == "KI-CR-v1.1.0" and document["piiPrincipalId"] == user.user_id
    assert document["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert document["gatehouse:action"] == "granted" and document["consentReceiptID"] == granted_id
    assert op.userinfo(partner.access_token).status_code == 200

    revoked = api.call("DELETE", f"/consents/{third_party.client_id}")
    assert revoked.status_code == 200 and revoked.json()["tokens_revoked"] == 1
    assert refresh(op, third_party, partner.refresh_token).json()["error"] == "invalid_grant"
    assert op.userinfo(partner.access_token).status_code == 401
    after = api.call("GET", "/consents").json()
    assert after["consents"] == [] and [r["action"] for r in after["receipts"]] == ["revoked", "granted"]
    withdrawal = api.call("GET", f"/consents/receipts/{after['receipts'][0]['id']}").json()
    assert withdrawal["gatehouse:action"] == "revoked" and "Withdrawn" in withdrawal["services"][0]["purposes"][0][
        "termination"]  # fmt: skip
    assert api.call("DELETE", f"/consents/{third_party.client_id}").status_code == 404
    # Signing in to the partner again asks for consent again.
    response = op.authorize(
        requests.Session(),
        {"client_id": third_party.client_id, "redirect_uri": third_party.redirect_uri, "response_type": "code",
         "scope": "openid", "prompt": "none"},
    )  # fmt: skip
    assert "error=" in response.headers.get("Location", "")


def test_receipts_of_another_user_are_not_found(
    op: Provider, first_party: E2EClient, third_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    owner, other = make_user(), make_user()
    sign_in_tokens(op, third_party, owner, scope="openid", consent="allow")
    owner_api = AccountApi(op, sign_in_tokens(op, first_party, owner).access_token)
    receipt_id = owner_api.call("GET", "/consents").json()["receipts"][0]["id"]
    other_api = AccountApi(op, sign_in_tokens(op, first_party, other).access_token)
    assert other_api.call("GET", f"/consents/receipts/{receipt_id}").status_code == 404


def test_email_change_through_the_api(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser], outbox: Callable[[], list[dict]]
) -> None:
    user = make_user()
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    new_email = f"new-{user.email}"
    assert api.call("POST", "/email", json={"new_email": new_email}).status_code == 202
    assert any(new_email in m["to"] for m in outbox()[:5])
    same = api.call("POST", "/email", json={"new_email": user.email})
    assert same.status_code == 400 and same.json()["fields"] == {"new_email": "unchanged"}


def test_phone_change_is_confirmed_with_a_code_sent_by_sms(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser], outbox: Callable[[], list[dict]]
) -> None:
    import re

    user = make_user()
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    bad = api.call("POST", "/phone", json={"phone_number": "12345"})
    assert bad.status_code == 400 and bad.json()["fields"] == {"phone_number": "invalid"}
    number = f"+4179{int(user.user_id.replace('-', '')[:7], 16) % 10_000_000:07d}"
    sent = api.call("POST", "/phone", json={"phone_number": number})
    assert sent.status_code == 202 and sent.json()["phone_number"] == number
    assert api.call("POST", "/phone", json={"phone_number": number}).status_code == 429  # resend cooldown
    message = next(m for m in outbox() if number in m["to"])
    code = re.search(r"\b(\d{6})\b", message["text"]).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    refused = api.call("POST", "/phone/verify", json={"code": wrong})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_link"
    assert api.call("GET", "/profile").json()["phone_number"] is None
    confirmed = api.call("POST", "/phone/verify", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    profile = api.call("GET", "/profile").json()
    assert profile["phone_number"] == number and profile["phone_number_verified"] is True
    assert api.call("POST", "/phone/verify", json={"code": code}).status_code == 400  # single use
