"""The native authentication API from password to tokens for a first-party public client with PKCE: plain
password, SMS code, TOTP, recovery code, new-password-required, typed errors, and flow-token misuse."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import MfaSite, callback, enroll_totp, outbox_code, password_step, totp_now
from tests.e2e.mfa.test_delivered_codes import enroll_sms
from tests.support.oidc_client import jwt_claims, pkce_pair
from tests.support.outdated_password import OUTDATED_PASSWORD, make_password_outdated

pytestmark = pytest.mark.stack
APP_REDIRECT = "com.example.shop:/callback"


class App:
    """A mobile app: a first-party public client talking JSON to /authn/flows, then PKCE at the token endpoint."""

    def __init__(self, site: MfaSite, client_id: str) -> None:
        self.site = site
        self.client_id = client_id
        self.verifier, self.challenge = pkce_pair()
        self.state = secrets.token_urlsafe(8)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(self.site.url(f"authn/{path}"), json=body, timeout=15)

    def start(self, **extra: str) -> dict[str, Any]:
        response = self.post(
            "flows",
            {
                "client_id": self.client_id,
                "redirect_uri": APP_REDIRECT,
                "scope": "openid email",
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
                "state": self.state,
                **extra,
            },
        )
        assert response.status_code == 200, response.text
        body = dict(response.json())
        assert body["next"] == {"type": "password"}
        return body

    def step(self, name: str, token: str, **fields: str) -> requests.Response:
        return self.post(f"flows/{name}", {"flow_token": token, **fields})

    def password(self, email: str | None = None, password: str | None = None) -> requests.Response:
        token = self.start()["flow_token"]
        return self.step("password", token, email=email or self.site.email, password=password or self.site.password)

    def tokens(self, complete: dict[str, Any]) -> dict[str, Any]:
        assert complete["status"] == "complete", complete
        assert complete["state"] == self.state and complete["redirect_uri"] == APP_REDIRECT
        response = self.site.provider().token(
            {
                "grant_type": "authorization_code",
                "code": complete["authorization_code"],
                "redirect_uri": APP_REDIRECT,
                "client_id": self.client_id,
                "code_verifier": self.verifier,
            }
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def app(site: MfaSite) -> App:
    return App(site, native_client(site))


def native_client(site: MfaSite, *, first_party: bool = True) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    client, _ = container.clients().create(
        TenantId(site.slug),
        name="Shop app",
        client_type="public",
        redirect_uris=[APP_REDIRECT],
        first_party=first_party,
        client_id=f"app-{uuid.uuid4().hex[:8]}",
    )
    return str(client.client_id)


def test_password_only_to_tokens(app: App) -> None:
    response = app.password()
    assert response.status_code == 200
    tokens = app.tokens(response.json())
    assert jwt_claims(tokens["id_token"])["amr"] == ["pwd"]
    assert "no-store" in response.headers["Cache-Control"]


def test_code_is_bound_to_the_pkce_verifier(app: App) -> None:
    complete = app.password().json()
    response = app.site.provider().token(
        {
            "grant_type": "authorization_code",
            "code": complete["authorization_code"],
            "redirect_uri": APP_REDIRECT,
            "client_id": app.client_id,
            "code_verifier": pkce_pair()[0],
        }
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_sms_code_to_tokens(app: App, outbox: Callable[[], list[dict[str, Any]]]) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, app.site), app.site)
        number = enroll_sms(browser, app.site, outbox)
    choice = app.password().json()
    assert choice["next"]["type"] == "mfa_choice"
    sms = next(m for m in choice["next"]["methods"] if m["type"] == "sms_otp")
    assert sms["label"].endswith(number[-4:]) and number not in str(choice)
    selected = app.step("mfa_select", choice["flow_token"], method_id=sms["id"]).json()
    assert selected["next"] == {"type": "mfa_code", "method": sms, "code_sent": True}
    wrong = app.step("mfa_verify", selected["flow_token"], method_id=sms["id"], code="000000")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_code"
    code = outbox_code(outbox, number)
    done = app.step("mfa_verify", selected["flow_token"], method_id=sms["id"], code=code)
    assert done.status_code == 200, done.text
    claims = jwt_claims(app.tokens(done.json())["id_token"])
    assert claims["amr"] == ["pwd", "sms", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    replay = app.step("mfa_verify", selected["flow_token"], method_id=sms["id"], code=code)
    assert replay.status_code == 400 and replay.json()["error"] == "challenge_closed"


def test_totp_and_recovery_code(app: App, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, app.site), app.site)
        secret, codes, _ = enroll_totp(browser, app.site, clock)
    clock.advance(30)
    choice = app.password().json()
    methods = {m["type"]: m for m in choice["next"]["methods"]}
    assert set(methods) == {"totp", "recovery_code"}
    done = app.step("mfa_verify", choice["flow_token"], method_id=methods["totp"]["id"], code=totp_now(secret, clock))
    assert jwt_claims(app.tokens(done.json())["id_token"])["amr"] == ["pwd", "otp", "mfa"]
    choice = app.password().json()
    done = app.step("mfa_verify", choice["flow_token"], method_id="recovery", code=codes[1])
    assert done.status_code == 200, done.text
    app.tokens(done.json())


def test_five_wrong_codes_close_the_challenge(app: App, clock: Any) -> None:
    with requests.Session() as browser:
        callback(password_step(browser, app.site), app.site)
        secret, _, _ = enroll_totp(browser, app.site, clock)
    clock.advance(30)
    choice = app.password().json()
    totp = next(m for m in choice["next"]["methods"] if m["type"] == "totp")
    right = totp_now(secret, clock)
    errors = [
        app.step("mfa_verify", choice["flow_token"], method_id=totp["id"], code=f"{(int(right) + 1) % 10**6:06d}")
        for _ in range(5)
    ]
    assert [e.json()["error"] for e in errors] == ["invalid_code"] * 4 + ["challenge_closed"]
    late = app.step("mfa_verify", choice["flow_token"], method_id=totp["id"], code=right)
    assert late.json()["error"] == "challenge_closed"


def test_new_password_required_for_a_password_the_policy_now_refuses(site: MfaSite) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    # An account created before the common-password rule: its password is on the list of the most common ones.
    tenant_id = TenantId(site.slug)
    email = f"old-{uuid.uuid4().hex[:8]}@example.org"
    settings = container.tenants().effective(tenant_id)
    container.accounts().create_user(tenant_id, email=email, password="qwertyuiop", verified=True, settings=settings)
    app = App(site, native_client(site))
    asked = app.password(email, "qwertyuiop").json()
    assert asked["next"] == {"type": "new_password_required"}
    weak = app.step("new_password", asked["flow_token"], new_password="1234567890")
    assert weak.status_code == 400 and weak.json()["fields"] == {"new_password": "common"}
    fresh = f"Harbor-{secrets.token_hex(3)}-violet-compass"
    done = app.step("new_password", asked["flow_token"], new_password=fresh)
    assert done.status_code == 200, done.text
    app.tokens(done.json())
    # The step worked once: the same flow token cannot change the password again.
    again = app.step("new_password", asked["flow_token"], new_password=f"{fresh}-2")
    assert again.status_code == 400 and again.json()["error"] == "invalid_code"
    assert app.password(email, "qwertyuiop").json()["error"] == "invalid_credentials"
    assert app.password(email, fresh).json()["status"] == "complete"


def test_typed_errors(site: MfaSite, app: App) -> None:
    wrong = app.password(password="not-the-password")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"
    start = {
        "client_id": app.client_id,
        "redirect_uri": APP_REDIRECT,
        "scope": "openid",
        "code_challenge_method": "S256",
    }
    no_pkce = app.post("flows", start)
    assert no_pkce.status_code == 400 and no_pkce.json()["error"] == "invalid_input"
    other_uri = app.post("flows", {**start, "code_challenge": app.challenge, "redirect_uri": "com.evil:/cb"})
    assert other_uri.json()["error"] == "invalid_client"
    confidential = app.post("flows", {**start, "code_challenge": app.challenge, "client_id": site.client_id})
    assert confidential.json()["error"] == "invalid_client"
    third_party = App(site, native_client(site, first_party=False))
    assert (
        third_party.post(
            "flows", {**start, "client_id": third_party.client_id, "code_challenge": app.challenge}
        ).json()["error"]
        == "invalid_client"
    )
    forged = app.step("password", "a.b.c", email=site.email, password=site.password)
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_flow"
    token = app.start()["flow_token"]
    wrong_stage = app.step("mfa_verify", token, method_id="x", code="123456")
    assert wrong_stage.json()["error"] == "invalid_flow"
    not_json = requests.post(site.url("authn/flows/password"), data="x", timeout=15)
    assert not_json.status_code == 415 and not_json.json()["error"] == "invalid_request"
    assert requests.post(site.url("authn/flows/nope"), json={}, timeout=15).status_code == 404


def test_flow_tokens_expire(app: App, clock: Any) -> None:
    token = app.start()["flow_token"]
    clock.advance(600 + 31)  # ten minutes, plus the 30 s leeway for clock skew
    expired = app.step("password", token, email=app.site.email, password=app.site.password)
    assert expired.json()["error"] == "invalid_flow"


def test_required_policy_without_factor_points_to_enrollment(make_mfa_site: Any) -> None:
    site: MfaSite = make_mfa_site(mode="required")
    app = App(site, native_client(site))
    refused = app.password()
    assert refused.status_code == 403 and refused.json()["error"] == "mfa_enrollment_required"


def test_registration_and_recovery_are_in_the_same_api(
    site: MfaSite, outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    forgot = requests.post(site.url("authn/password/forgot"), json={"email": site.email}, timeout=15)
    assert forgot.status_code == 202
    registered = requests.post(
        site.url("authn/register"),
        json={"email": f"n-{uuid.uuid4().hex[:8]}@example.org", "password": f"Glacier-{secrets.token_hex(3)}-orbit"},
        timeout=15,
    )
    assert registered.status_code == 202, registered.text


def test_a_required_password_change_comes_after_the_second_factor(site: MfaSite, clock: Any) -> None:
    # TOTP enrolled in the hosted pages first (they too would ask for a new password), then the password outdated.
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        secret, _, _ = enroll_totp(browser, site, clock)
    make_password_outdated(site.slug, site.email)
    email = site.email
    app = App(site, native_client(site))
    # The password alone (all an attacker may have) cannot change the password: the second factor comes first.
    choice = app.password(email, OUTDATED_PASSWORD).json()
    assert choice["next"]["type"] == "mfa_choice"
    forged = app.step("new_password", choice["flow_token"], new_password=f"Harbor-{secrets.token_hex(3)}-violet")
    assert forged.json()["error"] == "invalid_flow"
    clock.advance(30)
    totp = next(m for m in choice["next"]["methods"] if m["type"] == "totp")
    asked = app.step("mfa_verify", choice["flow_token"], method_id=totp["id"], code=totp_now(secret, clock)).json()
    assert asked["next"] == {"type": "new_password_required"}
    done = app.step("new_password", asked["flow_token"], new_password=f"Harbor-{secrets.token_hex(3)}-violet-map")
    assert done.status_code == 200, done.text
    assert jwt_claims(app.tokens(done.json())["id_token"])["amr"] == ["pwd", "otp", "mfa"]
    # Recorded like the hosted step's change (with the app's client id).
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    changed, _ = container.audit().list(TenantId(site.slug), action="account.password_changed", subject=site.user_id)
    assert [(e.details.get("reason"), e.details.get("client_id")) for e in changed] == [("outdated", app.client_id)]
