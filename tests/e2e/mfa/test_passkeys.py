"""WebAuthn passkeys through the native API with a software authenticator: registration with a Bearer token, as
a second factor after the password, and as a passwordless first factor; replayed, foreign-origin and
unverified assertions are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from tests.e2e.mfa.conftest import MfaSite
from tests.e2e.mfa.test_native_api import App, native_client
from tests.support.oidc_client import jwt_claims
from tests.support.webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.stack


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(app: App, authenticator: SoftAuthenticator, access_token: str) -> dict[str, Any]:
    site = app.site
    options = requests.post(
        site.url("authn/passkeys"), json={"label": "Pixel"}, headers=bearer(access_token), timeout=15
    )
    assert options.status_code == 200, options.text
    body = options.json()
    assert body["public_key"]["authenticatorSelection"]["userVerification"] == "required"
    credential = authenticator.create(body["public_key"])
    done = requests.post(
        site.url("authn/passkeys/verify"),
        json={"challenge_id": body["challenge_id"], "credential": credential},
        headers=bearer(access_token),
        timeout=15,
    )
    assert done.status_code == 201, done.text
    return dict(done.json())


@pytest.fixture
def setup(site: MfaSite) -> tuple[App, SoftAuthenticator, dict[str, Any]]:
    app = App(site, native_client(site))
    authenticator = SoftAuthenticator(site.base)
    tokens = app.tokens(app.password().json())
    registered = register(app, authenticator, tokens["access_token"])
    assert len(registered["recovery_codes"]) == 10
    registered["password_only_token"] = tokens["access_token"]
    return app, authenticator, registered


def test_passkey_as_second_factor(setup: tuple[App, SoftAuthenticator, dict[str, Any]]) -> None:
    app, authenticator, registered = setup
    choice = app.password().json()
    passkey = next(m for m in choice["next"]["methods"] if m["type"] == "webauthn")
    assert passkey == {"id": registered["id"], "type": "webauthn", "label": "Pixel"}
    selected = app.step("mfa_select", choice["flow_token"], method_id=passkey["id"]).json()
    assert selected["next"]["type"] == "mfa_passkey"
    assertion = authenticator.get(selected["next"]["public_key"])
    done = app.post(
        "flows/mfa_verify", {"flow_token": selected["flow_token"], "method_id": passkey["id"], "credential": assertion}
    )
    assert done.status_code == 200, done.text
    claims = jwt_claims(app.tokens(done.json())["id_token"])
    assert claims["amr"] == ["pwd", "hwk", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"

    # The same assertion cannot be used for another sign-in (its challenge was single-use).
    choice = app.password().json()
    selected = app.step("mfa_select", choice["flow_token"], method_id=passkey["id"]).json()
    replay = app.post(
        "flows/mfa_verify", {"flow_token": selected["flow_token"], "method_id": passkey["id"], "credential": assertion}
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_code"


def test_passwordless_sign_in_with_a_passkey(setup: tuple[App, SoftAuthenticator, dict[str, Any]]) -> None:
    app, authenticator, _ = setup
    token = app.start()["flow_token"]
    ceremony = app.step("passkey", token).json()
    assert ceremony["next"]["type"] == "passkey" and ceremony["next"]["public_key"]["allowCredentials"] == []
    assertion = authenticator.get(ceremony["next"]["public_key"])
    done = app.post("flows/passkey_verify", {"flow_token": ceremony["flow_token"], "credential": assertion})
    assert done.status_code == 200, done.text
    claims = jwt_claims(app.tokens(done.json())["id_token"])
    assert claims["amr"] == ["hwk", "user", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    assert claims["sub"] == app.site.user_id
    again = app.post("flows/passkey_verify", {"flow_token": ceremony["flow_token"], "credential": assertion})
    assert again.json()["error"] == "challenge_closed"


def test_foreign_origin_unverified_user_and_tampering_are_refused(
    setup: tuple[App, SoftAuthenticator, dict[str, Any]],
) -> None:
    app, authenticator, _ = setup
    attempts = []
    for variant in ("origin", "no_uv", "tampered"):
        ceremony = app.step("passkey", app.start()["flow_token"]).json()
        options = ceremony["next"]["public_key"]
        if variant == "origin":
            assertion = authenticator.get(options, origin="https://evil.example")
        elif variant == "no_uv":
            authenticator.user_verification = False
            assertion = authenticator.get(options)
            authenticator.user_verification = True
        else:
            assertion = copy.deepcopy(authenticator.get(options))
            assertion["response"]["signature"] = assertion["response"]["signature"][:-4] + "AAAA"
        attempts.append(
            app.post("flows/passkey_verify", {"flow_token": ceremony["flow_token"], "credential": assertion})
        )
    assert [a.json()["error"] for a in attempts] == ["invalid_code"] * 3


def test_registration_needs_a_token_with_the_second_factor(
    setup: tuple[App, SoftAuthenticator, dict[str, Any]],
) -> None:
    app, _, registered = setup
    missing = requests.post(app.site.url("authn/passkeys"), json={}, timeout=15)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    # The token from the password-only sign-in before the passkey existed may not add factors any more.
    weak = requests.post(
        app.site.url("authn/passkeys"), json={}, headers=bearer(registered["password_only_token"]), timeout=15
    )
    assert weak.status_code == 403 and weak.json()["error"] == "step_up_required"
    # A token from a sign-in with the passkey may.
    choice = app.password().json()
    selected = app.step("mfa_select", choice["flow_token"], method_id=registered["id"]).json()
    assertion = setup[1].get(selected["next"]["public_key"])
    done = app.post(
        "flows/mfa_verify",
        {"flow_token": selected["flow_token"], "method_id": registered["id"], "credential": assertion},
    )
    strong = app.tokens(done.json())["access_token"]
    second = register(app, SoftAuthenticator(app.site.base), strong)
    assert "recovery_codes" not in second
