"""The authorization code flow end to end over HTTP (OIDC Core §3.1, RFC 6749 §4.1, RFC 7636, RFC 9207).

A ``requests.Session`` plays the browser (cookies, no automatic redirects); the hosted pages are submitted the way
a browser without JavaScript would. ID tokens are verified with Authlib, an independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.oidc_client import (
    E2EClient,
    E2EUser,
    Page,
    Provider,
    b64url_json,
    jwt_claims,
    jwt_header,
    pkce_pair,
    query_params,
    strip_query,
    verify_access_token,
    verify_id_token,
)

pytestmark = pytest.mark.stack

MOBILE_REDIRECT = "com.example.demo:/callback"
OTHER_DEMO_CALLBACK = "http://127.0.0.1:8000/_local/callback"  # also registered for demo-web


def params_for(client_id: str, redirect_uri: str, **extra: Any) -> dict[str, Any]:
    values = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
    }
    values.update(extra)
    return {k: v for k, v in values.items() if v is not None}


def exchange(
    op: Provider, code: str, redirect_uri: str, *, auth: tuple[str, str] | None = None, **extra: str
) -> requests.Response:
    return op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra}, auth=auth
    )


def assert_redirect_error(
    op: Provider, response: requests.Response, redirect_uri: str, error: str, state: str | None
) -> dict[str, str]:
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:300]}"
    location = response.headers["Location"]
    assert strip_query(location) == strip_query(redirect_uri)
    got = query_params(location)
    assert got["error"] == error, got
    assert got["iss"] == op.issuer  # RFC 9207 on error responses too
    assert "code" not in got
    if state is None:
        assert "state" not in got
    else:
        assert got["state"] == state
    return got


def assert_login_form(response: requests.Response) -> Page:
    assert response.status_code == 200, response.text[:300]
    page = Page.parse(response)
    assert page.has_form("/login"), f"expected the login form, got {page.h1!r}"
    return page


def assert_error_page(response: requests.Response, status: int = 400) -> Page:
    assert response.status_code == status
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    page = Page.parse(response)
    assert not page.forms
    return page


# --- confidential client ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth_style", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_full_flow(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser, auth_style: str
) -> None:
    params = params_for("demo-web", callback)
    result = op.sign_in(browser, params, user.email, user.password)
    assert set(result) == {"code", "state", "iss"}
    assert result["state"] == params["state"] and result["iss"] == op.issuer

    if auth_style == "client_secret_basic":
        response = exchange(op, result["code"], callback, auth=web_auth)
    else:
        response = exchange(op, result["code"], callback, client_id=web_auth[0], client_secret=web_auth[1])
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["refresh_token"]

    id_claims = verify_id_token(
        op, body["id_token"], client_id="demo-web", nonce=params["nonce"], access_token=body["access_token"]
    )
    assert id_claims["sub"] == user.user_id
    assert id_claims["aud"] in ("demo-web", ["demo-web"])
    assert id_claims["nonce"] == params["nonce"]
    assert id_claims["at_hash"]  # validated by CodeIDToken against the access token
    expected_at_hash = (
        base64.urlsafe_b64encode(hashlib.sha256(body["access_token"].encode()).digest()[:16]).rstrip(b"=").decode()
    )
    assert id_claims["at_hash"] == expected_at_hash
    assert isinstance(id_claims["sid"], str) and id_claims["sid"]
    assert isinstance(id_claims["auth_time"], int) and id_claims["auth_time"] <= id_claims["iat"]
    assert id_claims["acr"] and id_claims["acr"] in op["acr_values_supported"]
    assert id_claims["amr"] == ["pwd"]
    assert id_claims["email"] == user.email and id_claims["name"] == "Test Person"
    assert op.jwks() and jwt_claims(body["id_token"])["exp"] > id_claims["iat"]

    header, at_claims = verify_access_token(op, body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert at_claims["aud"] == op.issuer and at_claims["iss"] == op.issuer
    assert at_claims["client_id"] == "demo-web" and at_claims["sub"] == user.user_id
    assert set(at_claims["scope"].split()) == {"openid", "profile", "email"}
    assert at_claims["jti"] and at_claims["gid"]

    info = op.userinfo(body["access_token"])
    assert info.status_code == 200
    assert info.json()["sub"] == user.user_id and info.json()["email"] == user.email


def test_id_token_is_rs256_by_default(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    result = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    body = exchange(op, result["code"], callback, auth=web_auth).json()
    header = jwt_header(body["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in op.jwks()["keys"] if k["alg"] == "RS256"}


def test_authorize_by_post_works_like_get(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    params = params_for("demo-web", callback)
    response = browser.post(op["authorization_endpoint"], data=params, allow_redirects=False)
    response = op.login(browser, assert_login_form(response), user.email, user.password)
    result = query_params(response.headers["Location"])
    assert result["state"] == params["state"]
    assert exchange(op, result["code"], callback, auth=web_auth).status_code == 200


# --- public client and PKCE --------------------------------------------------------------------------------------


def test_public_client_pkce_s256_flow(op: Provider, browser: requests.Session, user: E2EUser) -> None:
    verifier, challenge = pkce_pair()
    params = params_for("demo-mobile", MOBILE_REDIRECT, code_challenge=challenge, code_challenge_method="S256")
    result = op.sign_in(browser, params, user.email, user.password)
    assert result["state"] == params["state"] and result["iss"] == op.issuer
    response = exchange(op, result["code"], MOBILE_REDIRECT, client_id="demo-mobile", code_verifier=verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    verify_id_token(
        op, body["id_token"], client_id="demo-mobile", nonce=params["nonce"], access_token=body["access_token"]
    )
    assert body["refresh_token"]


def test_public_client_without_pkce_gets_a_redirected_error(op: Provider, browser: requests.Session) -> None:
    params = params_for("demo-mobile", MOBILE_REDIRECT)
    assert_redirect_error(op, op.authorize(browser, params), MOBILE_REDIRECT, "invalid_request", params["state"])


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512"])
def test_pkce_methods_other_than_s256_are_rejected(op: Provider, browser: requests.Session, method: str | None) -> None:
    verifier, _ = pkce_pair()
    # With plain (or no method, which means plain: RFC 7636 §4.3) the challenge is the verifier itself.
    params = params_for("demo-mobile", MOBILE_REDIRECT, code_challenge=verifier, code_challenge_method=method)
    assert_redirect_error(op, op.authorize(browser, params), MOBILE_REDIRECT, "invalid_request", params["state"])


def test_wrong_or_missing_verifier_fails_and_does_not_burn_the_code(
    op: Provider, browser: requests.Session, user: E2EUser
) -> None:
    verifier, challenge = pkce_pair()
    params = params_for("demo-mobile", MOBILE_REDIRECT, code_challenge=challenge, code_challenge_method="S256")
    code = op.sign_in(browser, params, user.email, user.password)["code"]

    wrong, _ = pkce_pair()
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": MOBILE_REDIRECT,
        "client_id": "demo-mobile",
    }
    for extra in ({"code_verifier": wrong}, {}, {"code_verifier": "short"}):
        response = op.token({**base, **extra})
        assert response.status_code == 400, extra
        assert response.json()["error"] == "invalid_grant"
        assert response.headers["Cache-Control"] == "no-store"

    response = exchange(op, code, MOBILE_REDIRECT, client_id="demo-mobile", code_verifier=verifier)
    assert response.status_code == 200, response.text


def test_confidential_client_may_use_pkce_and_is_then_bound_to_it(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    verifier, challenge = pkce_pair()
    params = params_for("demo-web", callback, code_challenge=challenge, code_challenge_method="S256")
    code = op.sign_in(browser, params, user.email, user.password)["code"]
    assert exchange(op, code, callback, auth=web_auth).json()["error"] == "invalid_grant"  # verifier missing
    assert exchange(op, code, callback, auth=web_auth, code_verifier=verifier).status_code == 200


def test_verifier_sent_for_a_code_without_challenge_is_rejected(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    # RFC 9700 §2.1.1: a code_verifier for a code that was issued without a challenge must fail (PKCE downgrade).
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    verifier, _ = pkce_pair()
    assert exchange(op, code, callback, auth=web_auth, code_verifier=verifier).json()["error"] == "invalid_grant"


# --- code properties ---------------------------------------------------------------------------------------------


def test_code_reuse_fails_and_revokes_the_tokens_of_the_first_exchange(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    first = exchange(op, code, callback, auth=web_auth)
    assert first.status_code == 200
    tokens = first.json()
    assert op.is_active(tokens["access_token"], web_auth)
    assert op.is_active(tokens["refresh_token"], web_auth)
    assert op.userinfo(tokens["access_token"]).status_code == 200

    second = exchange(op, code, callback, auth=web_auth)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second.headers["Cache-Control"] == "no-store"

    assert not op.is_active(tokens["access_token"], web_auth)
    assert not op.is_active(tokens["refresh_token"], web_auth)
    assert op.userinfo(tokens["access_token"]).status_code == 401
    refreshed = op.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=web_auth)
    assert refreshed.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_redirect_uri(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    for other in (OTHER_DEMO_CALLBACK, callback + "/", callback + "?x=1"):
        response = exchange(op, code, other, auth=web_auth)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", other
    missing = op.token({"grant_type": "authorization_code", "code": code}, auth=web_auth)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert exchange(op, code, callback, auth=web_auth).status_code == 200


def test_code_is_bound_to_its_client(
    op: Provider,
    browser: requests.Session,
    callback: str,
    web_auth: tuple[str, str],
    user: E2EUser,
    make_client: Callable[..., E2EClient],
) -> None:
    intruder = make_client("confidential")
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    response = exchange(op, code, callback, auth=intruder.basic)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    # The public client cannot redeem a confidential client's code either.
    response = exchange(op, code, callback, client_id="demo-mobile", code_verifier=pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] in ("invalid_grant", "invalid_client")
    # A failed attempt by somebody else does not burn the legitimate client's code.
    assert exchange(op, code, callback, auth=web_auth).status_code == 200


def test_expired_code_is_rejected(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser, clock: Any
) -> None:
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    clock.advance(120)
    response = exchange(op, code, callback, auth=web_auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_code_is_invalid_grant(op: Provider, web_auth: tuple[str, str], callback: str) -> None:
    response = exchange(op, secrets.token_urlsafe(32), callback, auth=web_auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- sessions and prompt ------------------------------------------------------------------------------------------


def test_sso_second_client_needs_no_login(
    op: Provider,
    browser: requests.Session,
    callback: str,
    web_auth: tuple[str, str],
    user: E2EUser,
    make_client: Callable[..., E2EClient],
) -> None:
    second = make_client("confidential", first_party=True)
    first = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    first_id = verify_id_token(
        op, exchange(op, first["code"], callback, auth=web_auth).json()["id_token"], client_id="demo-web", nonce=None
    )

    params = params_for(second.client_id, callback)
    response = op.authorize(browser, params)
    assert response.status_code in (302, 303), "SSO: no login page expected"
    result = query_params(response.headers["Location"])
    assert result["state"] == params["state"] and result["iss"] == op.issuer
    body = exchange(op, result["code"], callback, auth=second.basic).json()
    second_id = verify_id_token(
        op, body["id_token"], client_id=second.client_id, nonce=params["nonce"], access_token=body["access_token"]
    )
    assert second_id["sub"] == first_id["sub"] == user.user_id
    assert second_id["sid"] == first_id["sid"]
    assert second_id["auth_time"] == first_id["auth_time"]


def test_prompt_none_without_session_is_login_required(op: Provider, browser: requests.Session, callback: str) -> None:
    params = params_for("demo-web", callback, prompt="none")
    assert_redirect_error(op, op.authorize(browser, params), callback, "login_required", params["state"])


def test_prompt_none_with_session_returns_a_code(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    params = params_for("demo-web", callback, prompt="none")
    response = op.authorize(browser, params)
    assert response.status_code in (302, 303)
    result = query_params(response.headers["Location"])
    assert result["state"] == params["state"] and result["iss"] == op.issuer and result["code"]


def test_prompt_none_cannot_be_combined(op: Provider, browser: requests.Session, callback: str) -> None:
    params = params_for("demo-web", callback, prompt="none login")
    assert_redirect_error(op, op.authorize(browser, params), callback, "invalid_request", params["state"])


def test_prompt_login_forces_the_form_and_starts_a_new_session(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    first = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    first_sid = jwt_claims(exchange(op, first["code"], callback, auth=web_auth).json()["id_token"])["sid"]
    params = params_for("demo-web", callback, prompt="login")
    page = assert_login_form(op.authorize(browser, params))
    assert page.form("/login").fields["flow"]
    result = op.sign_in(browser, params, user.email, user.password)
    assert result["state"] == params["state"]
    second_sid = jwt_claims(exchange(op, result["code"], callback, auth=web_auth).json()["id_token"])["sid"]
    assert second_sid != first_sid


def test_max_age_forces_the_form_once_exceeded(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser, clock: Any
) -> None:
    op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    # Within max_age: SSO, and the ID token carries auth_time (OIDC Core §3.1.2.1).
    params = params_for("demo-web", callback, max_age="3600")
    response = op.authorize(browser, params)
    assert response.status_code in (302, 303)
    code = query_params(response.headers["Location"])["code"]
    body = exchange(op, code, callback, auth=web_auth).json()
    verify_id_token(op, body["id_token"], client_id="demo-web", nonce=params["nonce"], max_age=3600)

    clock.advance(2)
    assert_login_form(op.authorize(browser, params_for("demo-web", callback, max_age="0")))
    assert_login_form(op.authorize(browser, params_for("demo-web", callback, max_age="1")))


def test_max_age_zero_always_forces_the_form(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core import clock as server_clock

    frozen = server_clock.now()
    monkeypatch.setattr(server_clock, "now", lambda: frozen)  # the relying party asks again at once
    op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    assert_login_form(op.authorize(browser, params_for("demo-web", callback, max_age="0")))


def test_prompt_none_with_a_too_old_session_is_login_required(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, clock: Any
) -> None:
    op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)
    clock.advance(5)
    params = params_for("demo-web", callback, prompt="none", max_age="2")
    assert_redirect_error(op, op.authorize(browser, params), callback, "login_required", params["state"])


@pytest.mark.parametrize("max_age", ["-1", "abc", "1.5", "99999999999"])
def test_malformed_max_age_is_invalid_request(
    op: Provider, browser: requests.Session, callback: str, max_age: str
) -> None:
    params = params_for("demo-web", callback, max_age=max_age)
    assert_redirect_error(op, op.authorize(browser, params), callback, "invalid_request", params["state"])


def test_login_hint_prefills_the_email(op: Provider, browser: requests.Session, callback: str) -> None:
    page = assert_login_form(op.authorize(browser, params_for("demo-web", callback, login_hint="hint@example.org")))
    assert page.form("/login").fields["email"] == "hint@example.org"


# --- request validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "no-such-client"},
        {"client_id": None},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": None},
        {"redirect_uri": "CALLBACK/"},
        {"redirect_uri": "CALLBACK?extra=1"},
        {"redirect_uri": "CALLBACK#frag"},
        {"redirect_uri": "HTTP://127.0.0.1"},
        {"redirect_uri": MOBILE_REDIRECT},  # registered, but for another client
    ],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))}",
)
def test_bad_client_or_redirect_uri_is_an_html_page_never_a_redirect(
    op: Provider, browser: requests.Session, callback: str, change: dict[str, Any]
) -> None:
    params = params_for("demo-web", callback)
    for key, value in change.items():
        params[key] = value.replace("CALLBACK", callback) if isinstance(value, str) else value
    params = {k: v for k, v in params.items() if v is not None}
    page = assert_error_page(op.authorize(browser, params), 400)
    assert "evil.example" not in page.html


def test_public_client_with_a_confidential_clients_redirect_uri_is_refused(
    op: Provider, browser: requests.Session, callback: str
) -> None:
    _, challenge = pkce_pair()
    params = params_for("demo-mobile", callback, code_challenge=challenge, code_challenge_method="S256")
    assert_error_page(op.authorize(browser, params), 400)


def test_duplicate_client_id_or_redirect_uri_is_a_page(op: Provider, browser: requests.Session, callback: str) -> None:
    base = list(params_for("demo-web", callback).items())
    assert_error_page(op.authorize(browser, [*base, ("client_id", "demo-web")]), 400)
    assert_error_page(op.authorize(browser, [*base, ("redirect_uri", callback)]), 400)


@pytest.mark.parametrize("name", ["scope", "response_type", "nonce", "prompt", "code_challenge"])
def test_duplicate_parameters_are_invalid_request(
    op: Provider, browser: requests.Session, callback: str, name: str
) -> None:
    params = params_for(
        "demo-web", callback, prompt="login", code_challenge=pkce_pair()[1], code_challenge_method="S256"
    )
    pairs = [*params.items(), (name, params[name])]
    assert_redirect_error(op, op.authorize(browser, pairs), callback, "invalid_request", params["state"])


def test_duplicate_state_is_invalid_request_without_echoing_either(
    op: Provider, browser: requests.Session, callback: str
) -> None:
    params = params_for("demo-web", callback)
    pairs = [*params.items(), ("state", "second")]
    assert_redirect_error(op, op.authorize(browser, pairs), callback, "invalid_request", None)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
def test_unsupported_response_type_is_redirected(
    op: Provider, browser: requests.Session, callback: str, response_type: str
) -> None:
    params = params_for("demo-web", callback, response_type=response_type)
    got = assert_redirect_error(
        op, op.authorize(browser, params), callback, "unsupported_response_type", params["state"]
    )
    assert "access_token" not in got and "id_token" not in got


def test_missing_response_type_is_invalid_request(op: Provider, browser: requests.Session, callback: str) -> None:
    params = params_for("demo-web", callback, response_type=None)
    assert_redirect_error(op, op.authorize(browser, params), callback, "invalid_request", params["state"])


@pytest.mark.parametrize(
    "scope,error", [("openid unknown_scope", "invalid_scope"), (None, "invalid_scope"), ('openid "x"', "invalid_scope")]
)
def test_bad_scope_is_redirected(
    op: Provider, browser: requests.Session, callback: str, scope: str | None, error: str
) -> None:
    params = params_for("demo-web", callback, scope=scope)
    assert_redirect_error(op, op.authorize(browser, params), callback, error, params["state"])


@pytest.mark.parametrize(
    "name,error", [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")]
)
def test_request_objects_are_refused(
    op: Provider, browser: requests.Session, callback: str, name: str, error: str
) -> None:
    params = params_for("demo-web", callback, **{name: "eyJhbGciOiJub25lIn0.e30."})
    assert_redirect_error(op, op.authorize(browser, params), callback, error, params["state"])


def test_response_mode_fragment_is_refused(op: Provider, browser: requests.Session, callback: str) -> None:
    params = params_for("demo-web", callback, response_mode="fragment")
    assert_redirect_error(op, op.authorize(browser, params), callback, "invalid_request", params["state"])


def test_state_is_echoed_verbatim(op: Provider, browser: requests.Session, callback: str, user: E2EUser) -> None:
    state = "a b+c/d?e=f&g=%20ü"
    result = op.sign_in(browser, params_for("demo-web", callback, state=state), user.email, user.password)
    assert result["state"] == state


def test_no_state_means_none_comes_back(op: Provider, browser: requests.Session, callback: str, user: E2EUser) -> None:
    result = op.sign_in(browser, params_for("demo-web", callback, state=None), user.email, user.password)
    assert "state" not in result and result["iss"] == op.issuer and result["code"]


# --- consent -----------------------------------------------------------------------------------------------------


@pytest.fixture
def third_party(make_client: Callable[..., E2EClient]) -> E2EClient:
    return make_client("confidential", first_party=False)


def test_consent_allow_then_remembered_then_prompt_consent_asks_again(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, third_party: E2EClient
) -> None:
    params = params_for(third_party.client_id, callback, scope="openid email")
    response = op.login(browser, assert_login_form(op.authorize(browser, params)), user.email, user.password)
    assert response.status_code == 200
    page = Page.parse(response)
    assert page.has_form("/consent")
    assert ("decision", "allow") in page.form("/consent").buttons
    assert ("decision", "deny") in page.form("/consent").buttons
    assert user.email in page.text
    assert "gh_session=" in response.headers.get("Set-Cookie", "")

    allowed = op.consent(browser, response, "allow")
    assert allowed.status_code in (302, 303)
    result = query_params(allowed.headers["Location"])
    assert result["state"] == params["state"] and result["iss"] == op.issuer
    body = exchange(op, result["code"], callback, auth=third_party.basic).json()
    verify_id_token(
        op, body["id_token"], client_id=third_party.client_id, nonce=params["nonce"], access_token=body["access_token"]
    )

    # Remembered: no consent page for the same (or a smaller) scope.
    again = params_for(third_party.client_id, callback, scope="openid")
    response = op.authorize(browser, again)
    assert response.status_code in (302, 303)
    assert query_params(response.headers["Location"])["code"]

    # prompt=consent asks again even though consent exists.
    response = op.authorize(
        browser, params_for(third_party.client_id, callback, scope="openid email", prompt="consent")
    )
    assert response.status_code == 200 and Page.parse(response).has_form("/consent")

    # A wider scope than consented asks again.
    response = op.authorize(browser, params_for(third_party.client_id, callback, scope="openid email profile"))
    assert response.status_code == 200 and Page.parse(response).has_form("/consent")


def test_consent_deny_is_access_denied(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, third_party: E2EClient
) -> None:
    params = params_for(third_party.client_id, callback)
    response = op.login(browser, assert_login_form(op.authorize(browser, params)), user.email, user.password)
    denied = op.consent(browser, response, "deny")
    assert_redirect_error(op, denied, callback, "access_denied", params["state"])
    # Nothing was remembered.
    response = op.authorize(browser, params_for(third_party.client_id, callback))
    assert response.status_code == 200 and Page.parse(response).has_form("/consent")


def test_prompt_none_without_consent_is_consent_required(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, third_party: E2EClient
) -> None:
    op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)  # first party: no consent
    params = params_for(third_party.client_id, callback, prompt="none")
    assert_redirect_error(op, op.authorize(browser, params), callback, "consent_required", params["state"])


def test_first_party_clients_never_show_consent(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser
) -> None:
    result = op.sign_in(
        browser, params_for("demo-web", callback, scope="openid profile email phone address"), user.email, user.password
    )
    assert result["code"]


def test_consent_post_without_session_shows_the_login_page(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, third_party: E2EClient
) -> None:
    params = params_for(third_party.client_id, callback)
    response = op.login(browser, assert_login_form(op.authorize(browser, params)), user.email, user.password)
    browser.cookies.clear(domain="127.0.0.1", path="/t/demo", name="gh_session")
    answer = op.consent(browser, response, "allow")
    assert answer.status_code == 401
    assert "Location" not in answer.headers
    assert Page.parse(answer).has_form("/login")


# --- hosted page details -----------------------------------------------------------------------------------------


def test_ui_locales_de_renders_german(op: Provider, browser: requests.Session, callback: str) -> None:
    page = assert_login_form(op.authorize(browser, params_for("demo-web", callback, ui_locales="de")))
    assert page.lang == "de"
    assert page.h1 == "Anmelden"
    assert "Passwort" in page.text and "Password" not in page.text


def test_accept_language_is_used_when_no_ui_locales(op: Provider, browser: requests.Session, callback: str) -> None:
    response = browser.get(
        op["authorization_endpoint"],
        params=params_for("demo-web", callback),
        headers={"Accept-Language": "fr-CH, de;q=0.5"},
        allow_redirects=False,
    )
    assert assert_login_form(response).lang == "fr"


def test_ui_locales_survives_a_failed_login(
    op: Provider, browser: requests.Session, callback: str, make_user: Callable[..., E2EUser]
) -> None:
    victim = make_user()
    page = op.authorize(browser, params_for("demo-web", callback, ui_locales="de"))
    response = op.login(browser, page, victim.email, "not the password")
    assert response.status_code == 401
    failed = Page.parse(response)
    assert failed.lang == "de" and "Die E-Mail-Adresse oder das Passwort ist falsch." in failed.text
    assert failed.form("/login").fields["email"] == victim.email


def test_login_form_shape(op: Provider, browser: requests.Session, callback: str) -> None:
    response = op.authorize(browser, params_for("demo-web", callback))
    form = assert_login_form(response).form("/login")
    assert form.action == f"{op.issuer}/login" and form.method == "post"
    kinds = {i["name"]: i.get("type", "text") for i in form.inputs}
    assert kinds == {"csrf": "hidden", "flow": "hidden", "email": "email", "password": "password"}
    assert form.fields["csrf"] == browser.cookies.get("gh_csrf", path="/t/demo")
    assert form.fields["flow"].count(".") == 2


def test_login_page_is_protected_against_framing_and_caching(
    op: Provider, browser: requests.Session, callback: str
) -> None:
    response = op.authorize(browser, params_for("demo-web", callback))
    assert_login_form(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    cookie = response.headers["Set-Cookie"]
    assert "gh_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/t/demo" in cookie


def test_login_post_without_csrf_cookie_fails_with_an_error_page(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser
) -> None:
    page = Page.parse(op.authorize(browser, params_for("demo-web", callback)))
    form = page.form("/login")
    data = {**form.fields, "email": user.email, "password": user.password}
    response = requests.post(op.issuer + "/login", data=data, allow_redirects=False)  # no cookies at all
    assert_error_page(response, 400)
    assert "gh_session" not in response.headers.get("Set-Cookie", "")


def test_login_post_with_mismatching_csrf_fails(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser
) -> None:
    page = Page.parse(op.authorize(browser, params_for("demo-web", callback)))
    form = page.form("/login")
    response = browser.post(
        op.issuer + "/login",
        allow_redirects=False,
        data={**form.fields, "csrf": "x" * 43, "email": user.email, "password": user.password},
    )
    assert_error_page(response, 400)


def test_login_flow_of_another_browser_is_refused(op: Provider, callback: str, user: E2EUser) -> None:
    # An attacker's sealed flow and CSRF value, submitted from the victim's browser (which has its own CSRF cookie).
    attacker, victim = requests.Session(), requests.Session()
    attacker_form = Page.parse(op.authorize(attacker, params_for("demo-web", callback))).form("/login")
    op.authorize(victim, params_for("demo-web", callback))
    response = victim.post(
        op.issuer + "/login",
        allow_redirects=False,
        data={**attacker_form.fields, "email": user.email, "password": user.password},
    )
    assert_error_page(response, 400)


def test_tampered_flow_is_refused(op: Provider, browser: requests.Session, callback: str, user: E2EUser) -> None:
    page = Page.parse(op.authorize(browser, params_for("demo-web", callback)))
    form = page.form("/login")
    head, _, signature = form.fields["flow"].split(".")
    claims = jwt_claims(form.fields["flow"])
    claims["req"]["redirect_uri"] = "https://evil.example/cb"

    forged = f"{head}.{b64url_json(claims)}.{signature}"
    response = browser.post(
        op.issuer + "/login",
        allow_redirects=False,
        data={**form.fields, "flow": forged, "email": user.email, "password": user.password},
    )
    assert_error_page(response, 400)


def test_empty_login_fields_rerender_the_form_with_errors(
    op: Provider, browser: requests.Session, callback: str
) -> None:
    response = op.login(browser, op.authorize(browser, params_for("demo-web", callback)), "", "")
    assert response.status_code == 400
    page = Page.parse(response)
    assert page.has_form("/login")
    assert "Enter your email address." in page.text and "Enter your password." in page.text


def test_session_cookie_attributes(op: Provider, browser: requests.Session, callback: str, user: E2EUser) -> None:
    response = op.login(browser, op.authorize(browser, params_for("demo-web", callback)), user.email, user.password)
    cookie = response.headers["Set-Cookie"]
    assert "gh_session=" in cookie and "HttpOnly" in cookie and "Path=/t/demo" in cookie and "SameSite=Lax" in cookie


def test_registered_redirect_uri_query_is_retained(
    op: Provider, browser: requests.Session, callback: str, user: E2EUser, make_client: Callable[..., E2EClient]
) -> None:
    # RFC 6749 §3.1.2: the redirection endpoint URI's query component MUST be retained.
    redirect_uri = f"{callback}?app=one&x=%2F"
    client = make_client("confidential", redirect_uris=[redirect_uri])
    params = params_for(client.client_id, redirect_uri)
    result = op.sign_in(browser, params, user.email, user.password)
    assert result["app"] == "one" and result["x"] == "/" and result["state"] == params["state"]
    response = exchange(op, result["code"], redirect_uri, auth=client.basic)
    assert response.status_code == 200, response.text


def test_hosted_pages_escape_hostile_input(
    op: Provider, browser: requests.Session, callback: str, make_client: Callable[..., E2EClient]
) -> None:
    hostile = '"><script>alert(1)</script>'
    client = make_client("confidential", name=f"Evil {hostile}")
    response = op.authorize(browser, params_for(client.client_id, callback, login_hint=hostile))
    page = assert_login_form(response)
    assert "<script>alert(1)</script>" not in page.html
    assert hostile in page.text  # shown as text, escaped
    # An echoed (too long, so no password check and no throttle count) email is escaped too.
    answer = op.login(browser, page, hostile + "a" * 300, "x")
    assert answer.status_code == 400
    assert "<script>alert(1)</script>" not in answer.text


def test_unknown_tenant_authorize_is_a_404_page(op: Provider, browser: requests.Session, callback: str) -> None:
    response = browser.get(
        f"{op.base}/t/no-such-tenant/authorize", params=params_for("demo-web", callback), allow_redirects=False
    )
    assert_error_page(response, 404)


def test_token_response_lifetimes_are_consistent(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    code = op.sign_in(browser, params_for("demo-web", callback), user.email, user.password)["code"]
    body = exchange(op, code, callback, auth=web_auth).json()
    claims = jwt_claims(body["access_token"])
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["nbf"] <= claims["iat"] + 1


def test_no_id_token_without_the_openid_scope(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    code = op.sign_in(browser, params_for("demo-web", callback, scope="profile email"), user.email, user.password)[
        "code"
    ]
    body = exchange(op, code, callback, auth=web_auth).json()
    assert "id_token" not in body and body["access_token"] and body["scope"] == "profile email"


def test_service_client_cannot_use_the_authorization_endpoint(
    op: Provider, browser: requests.Session, callback: str, make_client: Callable[..., E2EClient]
) -> None:
    service = make_client("service", scopes=["api.read"])
    assert_error_page(op.authorize(browser, params_for(service.client_id, callback, scope="api.read")), 400)
