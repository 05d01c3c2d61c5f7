"""The token endpoint over HTTP: refresh rotation, client credentials, client authentication (incl. RFC 7523
private_key_jwt) and every RFC 6749 §5.2 error, plus a small fuzz that must never produce a server error."""

from __future__ import annotations

import base64
import random
import secrets
import string
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from tests.support.oidc_client import E2EClient, E2EUser, Provider, jwt_claims, verify_access_token

pytestmark = pytest.mark.stack

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assert_oauth_error(response: requests.Response, status: int, error: str | tuple[str, ...]) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.json()
    expected = (error,) if isinstance(error, str) else error
    assert body["error"] in expected, body
    # RFC 6749 §5.2: error_description is limited to printable ASCII without '"' and '\'.
    description = body.get("error_description", "")
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)
    return dict(body)


@pytest.fixture
def tokens_for(op: Provider, callback: str, web_auth: tuple[str, str]) -> Callable[..., dict[str, Any]]:
    """Tokens of demo-web (or another client with the callback) for a user, via the real code flow."""

    def issue(user: E2EUser, *, scope: str = "openid profile email", client: E2EClient | None = None) -> dict[str, Any]:
        client_id, auth = (client.client_id, client.basic) if client else (web_auth[0], web_auth)
        with requests.Session() as browser:
            result = op.sign_in(
                browser,
                {
                    "client_id": client_id,
                    "redirect_uri": callback,
                    "response_type": "code",
                    "scope": scope,
                    "state": "s",
                },
                user.email,
                user.password,
            )
        response = op.token(
            {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": callback}, auth=auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    return issue


def refresh(op: Provider, token: str, auth: tuple[str, str], **extra: str) -> requests.Response:
    return op.token({"grant_type": "refresh_token", "refresh_token": token, **extra}, auth=auth)


# --- refresh tokens ---------------------------------------------------------------------------------------------


def test_refresh_rotates_every_time(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]]
) -> None:
    first = tokens_for(user)
    seen_refresh = {first["refresh_token"]}
    seen_access = {first["access_token"]}
    current = first["refresh_token"]
    for _ in range(3):
        response = refresh(op, current, web_auth)
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        assert body["refresh_token"] not in seen_refresh and body["access_token"] not in seen_access
        assert set(body["scope"].split()) == {"openid", "profile", "email"}
        _, claims = verify_access_token(op, body["access_token"])
        assert claims["sub"] == user.user_id and claims["client_id"] == "demo-web"
        assert claims["gid"] == jwt_claims(first["access_token"])["gid"]  # same grant
        seen_refresh.add(body["refresh_token"])
        seen_access.add(body["access_token"])
        current = body["refresh_token"]
    assert op.is_active(current, web_auth)
    assert not op.is_active(first["refresh_token"], web_auth)  # rotated away
    assert op.userinfo(first["access_token"]).status_code == 200  # earlier access tokens live until they expire


def test_replayed_refresh_token_after_the_grace_window_revokes_the_whole_grant(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]], clock: Any
) -> None:
    first = tokens_for(user)
    second = refresh(op, first["refresh_token"], web_auth).json()
    third = refresh(op, second["refresh_token"], web_auth).json()
    clock.advance(11)  # past the 10 s grace window

    assert_oauth_error(refresh(op, first["refresh_token"], web_auth), 400, "invalid_grant")
    # Reuse detection (RFC 9700 §4.14.2): the newest refresh token and the access tokens die with the grant.
    assert_oauth_error(refresh(op, third["refresh_token"], web_auth), 400, "invalid_grant")
    assert not op.is_active(third["refresh_token"], web_auth)
    assert not op.is_active(third["access_token"], web_auth)
    assert op.userinfo(third["access_token"]).status_code == 401


def test_replay_of_the_previous_token_within_the_grace_window_is_a_retry(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]]
) -> None:
    first = tokens_for(user)
    lost = refresh(op, first["refresh_token"], web_auth)  # the response that "never arrived"
    assert lost.status_code == 200
    retry = refresh(op, first["refresh_token"], web_auth)
    assert retry.status_code == 200, retry.text
    retried = retry.json()
    assert retried["refresh_token"] != lost.json()["refresh_token"]
    # The retry's refresh token is the live one and keeps rotating normally.
    onward = refresh(op, retried["refresh_token"], web_auth)
    assert onward.status_code == 200, onward.text
    assert op.userinfo(onward.json()["access_token"]).status_code == 200


def test_replay_of_an_older_generation_inside_the_grace_window_revokes_the_grant(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]]
) -> None:
    first = tokens_for(user)
    second = refresh(op, first["refresh_token"], web_auth).json()
    third = refresh(op, second["refresh_token"], web_auth).json()
    # Only the immediately previous token gets the grace; one two generations back is reuse at once.
    assert_oauth_error(refresh(op, first["refresh_token"], web_auth), 400, "invalid_grant")
    assert_oauth_error(refresh(op, third["refresh_token"], web_auth), 400, "invalid_grant")
    assert not op.is_active(third["access_token"], web_auth)


def test_access_token_expires_after_expires_in(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]], clock: Any
) -> None:
    tokens = tokens_for(user)
    clock.advance(tokens["expires_in"] - 5)
    assert op.userinfo(tokens["access_token"]).status_code == 200
    clock.advance(5 + 31)  # past exp and the 30 s leeway
    response = op.userinfo(tokens["access_token"])
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert not op.is_active(tokens["access_token"], web_auth)
    # The refresh token outlives it and still works.
    assert refresh(op, tokens["refresh_token"], web_auth).status_code == 200


def test_the_grace_window_allows_a_single_retry_only(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]]
) -> None:
    first = tokens_for(user)
    assert refresh(op, first["refresh_token"], web_auth).status_code == 200
    assert refresh(op, first["refresh_token"], web_auth).status_code == 200  # the one allowed retry
    assert_oauth_error(refresh(op, first["refresh_token"], web_auth), 400, "invalid_grant")


def test_refresh_token_is_bound_to_its_client(
    op: Provider,
    web_auth: tuple[str, str],
    user: E2EUser,
    tokens_for: Callable[..., dict[str, Any]],
    make_client: Callable[..., E2EClient],
) -> None:
    tokens = tokens_for(user)
    other = make_client("confidential")
    assert_oauth_error(refresh(op, tokens["refresh_token"], other.basic), 400, "invalid_grant")
    public = op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "demo-mobile"}
    )
    assert_oauth_error(public, 400, "invalid_grant")
    assert refresh(op, tokens["refresh_token"], web_auth).status_code == 200


def test_refresh_may_narrow_the_scope_but_not_widen_it(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]]
) -> None:
    tokens = tokens_for(user, scope="openid profile")
    narrowed = refresh(op, tokens["refresh_token"], web_auth, scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"
    assert jwt_claims(narrowed.json()["access_token"])["scope"] == "openid"
    wider = refresh(op, narrowed.json()["refresh_token"], web_auth, scope="openid profile email")
    assert_oauth_error(wider, 400, "invalid_scope")


def test_a_rejected_refresh_request_leaves_the_refresh_token_usable(
    op: Provider, web_auth: tuple[str, str], user: E2EUser, tokens_for: Callable[..., dict[str, Any]], clock: Any
) -> None:
    tokens = tokens_for(user, scope="openid profile")
    assert_oauth_error(refresh(op, tokens["refresh_token"], web_auth, scope="openid email"), 400, "invalid_scope")
    clock.advance(11)
    response = refresh(op, tokens["refresh_token"], web_auth)
    assert response.status_code == 200, response.text


def test_malformed_or_unknown_refresh_tokens_are_invalid_grant(op: Provider, web_auth: tuple[str, str]) -> None:
    for token in ("nope", "a.b.c", f"{uuid.uuid4().hex}.0.{secrets.token_urlsafe(32)}", "x" * 600, "..", "a.1."):
        assert_oauth_error(refresh(op, token, web_auth), 400, "invalid_grant")
    assert_oauth_error(op.token({"grant_type": "refresh_token"}, auth=web_auth), 400, "invalid_request")


def test_refresh_token_with_unicode_digit_generation_is_invalid_grant(op: Provider, web_auth: tuple[str, str]) -> None:
    token = f"{uuid.uuid4().hex}.\u00b2.{secrets.token_urlsafe(32)}"
    assert_oauth_error(refresh(op, token, web_auth), 400, "invalid_grant")


def test_refresh_token_with_a_huge_generation_is_invalid_grant(op: Provider, web_auth: tuple[str, str]) -> None:
    token = f"{uuid.uuid4().hex}.{'9' * 60}.{secrets.token_urlsafe(32)}"
    assert_oauth_error(refresh(op, token, web_auth), 400, "invalid_grant")


# --- client credentials -------------------------------------------------------------------------------------------


@pytest.fixture
def service(make_client: Callable[..., E2EClient]) -> E2EClient:
    return make_client("service", scopes=["api.read", "api.write"])


def test_client_credentials_issues_an_access_token_only(op: Provider, service: E2EClient) -> None:
    response = op.token({"grant_type": "client_credentials", "scope": "api.read"}, auth=service.basic)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["scope"] == "api.read" and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and "id_token" not in body
    header, claims = verify_access_token(op, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == service.client_id and claims["sub"] == service.client_id
    assert claims["aud"] == op.issuer and claims["scope"] == "api.read"
    introspected = op.introspect(body["access_token"], service.basic).json()
    assert introspected["active"] is True and introspected["client_id"] == service.client_id


def test_client_credentials_defaults_to_all_registered_scopes(op: Provider, service: E2EClient) -> None:
    body = op.token({"grant_type": "client_credentials"}, auth=service.basic).json()
    assert set(body["scope"].split()) == {"api.read", "api.write"}


@pytest.mark.parametrize("scope", ["api.admin", "api.read api.admin", "openid", 'api.read"x'])
def test_client_credentials_outside_the_registered_scopes_is_invalid_scope(
    op: Provider, service: E2EClient, scope: str
) -> None:
    assert_oauth_error(
        op.token({"grant_type": "client_credentials", "scope": scope}, auth=service.basic), 400, "invalid_scope"
    )


def test_client_credentials_with_client_secret_post(op: Provider, service: E2EClient) -> None:
    response = op.token(
        {"grant_type": "client_credentials", "client_id": service.client_id, "client_secret": service.secret or ""}
    )
    assert response.status_code == 200, response.text


def test_client_credentials_token_is_not_accepted_at_userinfo(op: Provider, service: E2EClient) -> None:
    token = op.token({"grant_type": "client_credentials"}, auth=service.basic).json()["access_token"]
    response = op.userinfo(token)
    assert response.status_code in (401, 403)
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_basic_credentials_are_form_urlencoded_before_base64(
    op: Provider, make_client: Callable[..., E2EClient]
) -> None:
    # RFC 6749 §2.3.1: client_id and secret are form-urlencoded, then Basic-encoded.
    client = make_client("service", client_id=f"svc:{uuid.uuid4().hex[:6]}+a b/é", scopes=["api.read"])
    raw = f"{quote_plus(client.client_id)}:{quote_plus(client.secret or '')}"
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    response = op.token({"grant_type": "client_credentials"}, headers={"Authorization": header})
    assert response.status_code == 200, response.text


# --- private_key_jwt (RFC 7523) ------------------------------------------------------------------------------------


class KeyPair:
    def __init__(self, kind: str) -> None:
        from authlib.jose import JsonWebKey
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        private: Any = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if kind == "RSA"
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.alg = "RS256" if kind == "RSA" else "ES256"
        self.kid = f"k-{uuid.uuid4().hex[:8]}"
        self.pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = JsonWebKey.import_key(self.pem, {"kty": kind}).as_dict(is_private=False)
        self.public_jwk = {**public, "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        from authlib.jose import JsonWebToken

        head = {"alg": self.alg, "kid": self.kid, **header}
        return str(JsonWebToken([head["alg"]]).encode(head, claims, self.pem).decode())


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return KeyPair("RSA")


@pytest.fixture(scope="module")
def ec_key() -> KeyPair:
    return KeyPair("EC")


@pytest.fixture
def jwt_client(make_client: Callable[..., E2EClient], rsa_key: KeyPair, ec_key: KeyPair) -> E2EClient:
    return make_client(
        "service",
        auth_method="private_key_jwt",
        scopes=["api.read"],
        jwks={"keys": [rsa_key.public_jwk, ec_key.public_jwk]},
    )


def assertion_claims(op: Provider, client_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": op["token_endpoint"],
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 120,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def with_assertion(op: Provider, assertion: str, **extra: str) -> requests.Response:
    return op.token(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            **extra,
        }
    )


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
def test_private_key_jwt_authenticates(
    op: Provider, jwt_client: E2EClient, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: KeyPair = request.getfixturevalue(key_name)
    response = with_assertion(op, key.sign(assertion_claims(op, jwt_client.client_id)))
    assert response.status_code == 200, response.text
    assert jwt_claims(response.json()["access_token"])["client_id"] == jwt_client.client_id


def test_private_key_jwt_accepts_the_issuer_as_audience(op: Provider, jwt_client: E2EClient, rsa_key: KeyPair) -> None:
    response = with_assertion(
        op, rsa_key.sign(assertion_claims(op, jwt_client.client_id, aud=[op.issuer])), client_id=jwt_client.client_id
    )
    assert response.status_code == 200, response.text


def test_private_key_jwt_replayed_jti_is_invalid_client(op: Provider, jwt_client: E2EClient, rsa_key: KeyPair) -> None:
    assertion = rsa_key.sign(assertion_claims(op, jwt_client.client_id))
    assert with_assertion(op, assertion).status_code == 200
    assert_oauth_error(with_assertion(op, assertion), 401, "invalid_client")
    # Same jti in a freshly signed assertion is a replay too.
    jti = jwt_claims(assertion)["jti"]
    assert_oauth_error(
        with_assertion(op, rsa_key.sign(assertion_claims(op, jwt_client.client_id, jti=jti))), 401, "invalid_client"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://other.example/token"},
        {"aud": "AUTHZ"},  # the authorization endpoint is not an accepted audience
        {"aud": None},
        {"exp": int(time.time()) - 300},
        {"exp": None},
        {"exp": int(time.time()) + 7200},  # lives too long
        {"jti": None},
        {"iss": "someone-else"},
        {"sub": "someone-else"},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=lambda c: ",".join(f"{k}={str(v)[:12]}" for k, v in c.items()),
)
def test_private_key_jwt_claim_violations_are_invalid_client(
    op: Provider, jwt_client: E2EClient, rsa_key: KeyPair, changes: dict[str, Any]
) -> None:
    if changes.get("aud") == "AUTHZ":
        changes = {"aud": op["authorization_endpoint"]}
    claims = assertion_claims(op, jwt_client.client_id)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    assert_oauth_error(with_assertion(op, rsa_key.sign(claims)), 401, "invalid_client")


def test_private_key_jwt_signature_attacks_are_invalid_client(
    op: Provider, jwt_client: E2EClient, rsa_key: KeyPair
) -> None:
    from authlib.jose import JsonWebToken

    claims = assertion_claims(op, jwt_client.client_id)
    stranger = KeyPair("RSA")
    stranger.kid = rsa_key.kid
    attempts = {
        "unregistered key": stranger.sign(claims),
        "unknown kid": KeyPair("EC").sign(assertion_claims(op, jwt_client.client_id)),
        "alg none": ".".join(
            [
                base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode(),
                rsa_key.sign(assertion_claims(op, jwt_client.client_id)).split(".")[1],
                "",
            ]
        ),
        "HS256 with the public key": JsonWebToken(["HS256"])
        .encode(
            {"alg": "HS256", "kid": rsa_key.kid},
            assertion_claims(op, jwt_client.client_id),
            str(rsa_key.public_jwk).encode(),
        )
        .decode(),
        "embedded jwk": stranger.sign(assertion_claims(op, jwt_client.client_id), jwk=stranger.public_jwk),
        "tampered payload": rsa_key.sign(claims).rsplit(".", 1)[0][:-2]
        + "xx."
        + rsa_key.sign(claims).rsplit(".", 1)[1],
        "not a jwt": "garbage",
    }
    for name, assertion in attempts.items():
        response = with_assertion(op, assertion)
        assert_oauth_error(response, 401, "invalid_client")
        assert response.status_code == 401, name


def test_private_key_jwt_client_cannot_use_a_secret(op: Provider, jwt_client: E2EClient) -> None:
    assert_oauth_error(
        op.token({"grant_type": "client_credentials"}, auth=(jwt_client.client_id, "guess")), 401, "invalid_client"
    )
    assert_oauth_error(
        op.token({"grant_type": "client_credentials", "client_id": jwt_client.client_id}), 401, "invalid_client"
    )


def test_wrong_assertion_type_is_invalid_client(op: Provider, jwt_client: E2EClient, rsa_key: KeyPair) -> None:
    response = op.token(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:x",
            "client_assertion": rsa_key.sign(assertion_claims(op, jwt_client.client_id)),
        }
    )
    assert_oauth_error(response, 401, "invalid_client")


def test_secret_client_cannot_authenticate_with_an_assertion(
    op: Provider, service: E2EClient, rsa_key: KeyPair
) -> None:
    assert_oauth_error(with_assertion(op, rsa_key.sign(assertion_claims(op, service.client_id))), 401, "invalid_client")


# --- RFC 6749 §5.2 errors -----------------------------------------------------------------------------------------


def test_missing_grant_type_is_invalid_request(op: Provider, web_auth: tuple[str, str]) -> None:
    assert_oauth_error(op.token({}, auth=web_auth), 400, "invalid_request")
    assert_oauth_error(op.token({"grant_type": ""}, auth=web_auth), 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "AUTHORIZATION_CODE",
        "x" * 300,
    ],
)
def test_unsupported_grant_type(op: Provider, web_auth: tuple[str, str], grant_type: str) -> None:
    body = assert_oauth_error(
        op.token({"grant_type": grant_type, "username": "a", "password": "b"}, auth=web_auth),
        400,
        "unsupported_grant_type",
    )
    assert len(body.get("error_description", "")) < 200


def test_unauthorized_client(op: Provider, web_auth: tuple[str, str], service: E2EClient, callback: str) -> None:
    assert_oauth_error(op.token({"grant_type": "client_credentials"}, auth=web_auth), 400, "unauthorized_client")
    assert_oauth_error(
        op.token({"grant_type": "authorization_code", "code": "x", "redirect_uri": callback}, auth=service.basic),
        400,
        "unauthorized_client",
    )
    assert_oauth_error(
        op.token({"grant_type": "refresh_token", "refresh_token": "a.0." + "b" * 40}, auth=service.basic),
        400,
        "unauthorized_client",
    )
    assert_oauth_error(
        op.token({"grant_type": "client_credentials", "client_id": "demo-mobile"}), 400, "unauthorized_client"
    )


@pytest.mark.parametrize(
    "auth",
    [("demo-web", "wrong-secret"), ("no-such-client", "secret"), ("demo-mobile", "anything"), ("demo-web", "")],
    ids=["wrong secret", "unknown client", "public client with a secret", "empty secret"],
)
def test_invalid_client_with_basic_is_401_with_a_basic_challenge(op: Provider, auth: tuple[str, str]) -> None:
    response = op.token({"grant_type": "client_credentials"}, auth=auth)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    assert "realm=" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic ",
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_malformed_basic_is_401_with_a_basic_challenge(op: Provider, header: str) -> None:
    response = op.token({"grant_type": "client_credentials"}, headers={"Authorization": header})
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_invalid_client_without_basic(op: Provider, callback: str) -> None:
    # client_secret_post with a wrong secret: 401 invalid_client.
    response = op.token({"grant_type": "client_credentials", "client_id": "demo-web", "client_secret": "wrong"})
    assert_oauth_error(response, 401, "invalid_client")
    # No authentication at all, and a confidential client presenting only its id.
    assert_oauth_error(
        op.token({"grant_type": "authorization_code", "code": "x", "redirect_uri": callback}), 401, "invalid_client"
    )
    assert_oauth_error(
        op.token({"grant_type": "authorization_code", "code": "x", "redirect_uri": callback, "client_id": "demo-web"}),
        401,
        "invalid_client",
    )
    assert_oauth_error(op.token({"grant_type": "client_credentials", "client_secret": "x"}), 401, "invalid_client")


def test_two_authentication_methods_at_once_are_refused(op: Provider, web_auth: tuple[str, str]) -> None:
    response = op.token(
        {"grant_type": "client_credentials", "client_id": web_auth[0], "client_secret": web_auth[1]}, auth=web_auth
    )
    assert_oauth_error(response, 400, ("invalid_request", "invalid_client"))


def test_client_id_in_body_must_match_basic(op: Provider, web_auth: tuple[str, str]) -> None:
    response = op.token({"grant_type": "client_credentials", "client_id": "demo-mobile"}, auth=web_auth)
    assert_oauth_error(response, 400, ("invalid_request", "invalid_client"))


@pytest.mark.parametrize(
    "content_type,body",
    [
        ("application/json", '{"grant_type": "client_credentials"}'),
        ("text/plain", "grant_type=client_credentials"),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n',
        ),
        ("application/octet-stream", "grant_type=client_credentials"),
    ],
)
def test_wrong_content_type_is_invalid_request(
    op: Provider, web_auth: tuple[str, str], content_type: str, body: str
) -> None:
    response = op.token(body, auth=web_auth, headers={"Content-Type": content_type})
    assert_oauth_error(response, 400, "invalid_request")


def test_unlisted_content_type_still_gets_an_oauth_error(op: Provider, web_auth: tuple[str, str]) -> None:
    response = op.token(
        "<grant_type>client_credentials</grant_type>", auth=web_auth, headers={"Content-Type": "application/xml"}
    )
    assert response.status_code in (400, 415)
    assert response.headers.get("Cache-Control") == "no-store"
    assert response.json()["error"] == "invalid_request"


def test_form_content_type_with_charset_is_accepted(op: Provider, service: E2EClient) -> None:
    response = op.token(
        "grant_type=client_credentials",
        auth=service.basic,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["grant_type", "scope", "client_id", "client_secret"])
def test_duplicate_parameters_are_invalid_request(op: Provider, service: E2EClient, name: str) -> None:
    values = {
        "grant_type": "client_credentials",
        "scope": "api.read",
        "client_id": service.client_id,
        "client_secret": service.secret or "",
    }
    pairs = [*values.items(), (name, values[name])]
    assert_oauth_error(op.token(pairs), 400, "invalid_request")


def test_duplicate_code_is_invalid_request(op: Provider, web_auth: tuple[str, str], callback: str) -> None:
    pairs = [("grant_type", "authorization_code"), ("code", "a"), ("code", "b"), ("redirect_uri", callback)]
    assert_oauth_error(op.token(pairs, auth=web_auth), 400, "invalid_request")


def test_unknown_tenant_token_endpoint_is_404_json(live_server: str, web_auth: tuple[str, str]) -> None:
    response = requests.post(
        f"{live_server}/t/no-such-tenant/token", data={"grant_type": "client_credentials"}, auth=web_auth
    )
    assert_oauth_error(response, 404, "invalid_request")


def test_client_of_one_tenant_is_unknown_in_another(
    op: Provider, web_auth: tuple[str, str], make_client: Callable[..., E2EClient]
) -> None:
    from chalicelib import container

    if not container.tenants().exists("other"):
        container.tenants().create_customer("other")
    response = requests.post(f"{op.base}/t/other/token", data={"grant_type": "client_credentials"}, auth=web_auth)
    assert_oauth_error(response, 401, "invalid_client")


def test_oversized_body_is_rejected_without_a_server_error(op: Provider, web_auth: tuple[str, str]) -> None:
    response = op.token({"grant_type": "client_credentials", "pad": "x" * 70_000}, auth=web_auth)
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


# --- fuzz -------------------------------------------------------------------------------------------------------


def _fuzz_cases(seed: int, count: int) -> list[tuple[dict[str, str], bytes]]:
    rng = random.Random(seed)
    alphabet = string.printable + "éü²٣\u202e\u0000\ud7ff"
    names = [
        "grant_type",
        "code",
        "redirect_uri",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "code_verifier",
    ]
    grants = ["authorization_code", "refresh_token", "client_credentials", "password", "", "\u00e9"]
    content_types = [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin1",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data",
    ]

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))

    cases: list[tuple[dict[str, str], bytes]] = []
    for i in range(count):
        headers = {"Content-Type": rng.choice(content_types)}
        kind = i % 6
        if kind == 0:  # random bytes
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400)))
        elif kind == 1:  # random form fields with random values
            fields = [(rng.choice(names), text(60)) for _ in range(rng.randint(0, 8))]
            body = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields).encode("utf-8", "surrogatepass")
        elif kind == 2:  # plausible requests with hostile values
            fields = [
                ("grant_type", rng.choice(grants)),
                ("refresh_token", f"{text(8)}.{rng.choice(['²', '0', '-1', '9' * 45, ''])}.{text(50)}"),
                ("code", text(300)),
                ("redirect_uri", text(40)),
                ("scope", text(20)),
            ]
            body = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields).encode("utf-8", "surrogatepass")
        elif kind == 3:  # hostile client assertions
            parts = [
                base64.urlsafe_b64encode(text(80).encode("utf-8", "surrogatepass")).decode().rstrip("=")
                for _ in range(3)
            ]
            fields = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", ".".join(parts[: rng.randint(1, 3)])),
            ]
            body = "&".join(f"{k}={quote_plus(v)}" for k, v in fields).encode()
        elif kind == 4:  # broken percent-encoding and separators
            body = rng.choice(
                [
                    b"%",
                    b"%zz=1",
                    b"&&&=&=",
                    b"grant_type=%ff%fe",
                    b"=" * 50,
                    b";" * 30,
                    b"grant_type=client_credentials&" * 40,
                ]
            )
        else:  # random Authorization headers
            body = b"grant_type=client_credentials"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Authorization"] = rng.choice(
                [
                    "Basic " + base64.b64encode(text(40).encode("utf-8", "surrogatepass")).decode(),
                    "Basic " + "".join(rng.choice(string.ascii_letters + string.digits + "+/=!:é") for _ in range(30)),
                    "Bearer "
                    + "".join(rng.choice(string.ascii_letters + string.digits + "-._~+/=") for _ in range(30)),
                    "basic",
                    "Basic " + "A" * 5000,
                    "Digest x=1",
                ]
            )
        cases.append((headers, body))
    return cases


def test_fuzzed_requests_never_cause_a_server_error(op: Provider) -> None:
    failures = []
    for headers, body in _fuzz_cases(seed=20240601, count=48):
        response = requests.post(op["token_endpoint"], data=body, headers=headers, timeout=10)
        if response.status_code >= 500:
            failures.append((response.status_code, headers, body[:120], response.text[:120]))
            continue
        assert response.status_code in (400, 401, 413), (response.status_code, headers, body[:120])
        assert response.json()["error"], response.text
    assert not failures, failures


@pytest.mark.parametrize("endpoint", ["token_endpoint", "introspection_endpoint", "revocation_endpoint"])
def test_fuzzed_headers_never_cause_a_server_error(op: Provider, web_auth: tuple[str, str], endpoint: str) -> None:
    weird_headers = [
        {"Authorization": "Basic " + base64.b64encode("é:ü".encode()).decode()},
        {"Authorization": "Basic " + base64.b64encode(b"a:" + b"b" * 600).decode()},
        {"Authorization": "Bearer x", "Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Length": "0"},
        {"Cookie": "gh_session=\x7f;;;=="},
        {"Content-Type": 'application/x-www-form-urlencoded; charset="unterminated'},
    ]
    for headers in weird_headers:
        response = requests.post(
            op[endpoint], data={"grant_type": "client_credentials", "token": "x"}, headers=headers, timeout=10
        )
        assert response.status_code < 500, (headers, response.status_code, response.text)
