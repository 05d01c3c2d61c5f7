"""UserInfo (OIDC Core §5.3 with RFC 6750 errors), introspection (RFC 7662) and revocation (RFC 7009) over HTTP,
including the classic JWT attacks on the access token.

Hostile tokens that need a *valid* signature (expired, wrong issuer, key material in the header, ...) are signed
in-process with the tenant's real key, which is what an attacker would need to pull those off: the point is that
the resource side still refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.oidc_client import (
    E2EClient,
    E2EUser,
    Provider,
    b64url,
    b64url_json,
    jwt_claims,
    jwt_header,
    pkce_pair,
)

pytestmark = pytest.mark.stack

OTHER_TENANT = "other"


@pytest.fixture
def issue(op: Provider, callback: str, web_auth: tuple[str, str]) -> Callable[..., dict[str, Any]]:
    """Tokens for ``user`` via the real code flow of demo-web (or ``client``) on ``provider``."""

    def run(
        user: E2EUser,
        *,
        scope: str = "openid profile email",
        client: E2EClient | None = None,
        provider: Provider | None = None,
    ) -> dict[str, Any]:
        provider = provider or op
        client_id, auth = (client.client_id, client.basic) if client else (web_auth[0], web_auth)
        with requests.Session() as browser:
            result = provider.sign_in(
                browser,
                {"client_id": client_id, "redirect_uri": callback, "response_type": "code", "scope": scope},
                user.email,
                user.password,
            )
        response = provider.token(
            {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": callback}, auth=auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    return run


@pytest.fixture
def tokens(issue: Callable[..., dict[str, Any]], user: E2EUser) -> dict[str, Any]:
    return issue(user)


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, f"{response.status_code}: {response.text}"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert re.search(r'realm="[^"]+"', challenge)
    assert response.headers.get("Cache-Control") == "no-store"


# --- userinfo ---------------------------------------------------------------------------------------------------


def test_userinfo_get_with_bearer_header(op: Provider, tokens: dict[str, Any], user: E2EUser) -> None:
    response = op.userinfo(tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    claims = response.json()
    assert claims["sub"] == user.user_id == jwt_claims(tokens["id_token"])["sub"]
    assert claims["email"] == user.email and claims["email_verified"] is True
    assert claims["name"] == "Test Person" and claims["given_name"] == "Test"


def test_userinfo_post_with_header_and_with_form_body(op: Provider, tokens: dict[str, Any], user: E2EUser) -> None:
    by_header = op.userinfo(tokens["access_token"], method="POST")
    assert by_header.status_code == 200 and by_header.json()["sub"] == user.user_id
    by_body = requests.post(op["userinfo_endpoint"], data={"access_token": tokens["access_token"]})
    assert by_body.status_code == 200, by_body.text
    assert by_body.json()["sub"] == user.user_id


def test_userinfo_releases_only_the_claims_of_the_granted_scopes(
    op: Provider, issue: Callable[..., dict[str, Any]], user: E2EUser
) -> None:
    only_openid = op.userinfo(issue(user, scope="openid")["access_token"]).json()
    assert set(only_openid) == {"sub"}
    with_email = op.userinfo(issue(user, scope="openid email")["access_token"]).json()
    assert set(with_email) == {"sub", "email", "email_verified"}


def test_userinfo_without_openid_scope_is_insufficient_scope(
    op: Provider, issue: Callable[..., dict[str, Any]], user: E2EUser
) -> None:
    token = issue(user, scope="profile")["access_token"]
    response = op.userinfo(token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_missing_bearer_is_a_bare_challenge(op: Provider) -> None:
    for response in (
        op.userinfo(None),
        op.userinfo(None, method="POST"),
        requests.get(op["userinfo_endpoint"], headers={"Authorization": "Basic abc"}),
    ):
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        # RFC 6750 §3.1: no error code when the request lacks any authentication information.
        assert re.fullmatch(r'Bearer realm="[^"]+"', challenge), challenge
        assert op.issuer in challenge


def test_invalid_bearer_is_invalid_token(op: Provider) -> None:
    for token in ("garbage", "a.b.c", "eyJ.eyJ.sig", "x" * 9000):
        assert_invalid_token(op.userinfo(token))


def test_bearer_in_the_query_string_is_refused(op: Provider, tokens: dict[str, Any]) -> None:
    response = requests.get(op["userinfo_endpoint"], params={"access_token": tokens["access_token"]})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_bearer_in_two_places_is_refused(op: Provider, tokens: dict[str, Any]) -> None:
    response = requests.post(
        op["userinfo_endpoint"],
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(op: Provider, tokens: dict[str, Any]) -> None:
    response = requests.get(op["userinfo_endpoint"], headers={"Authorization": f"bearer {tokens['access_token']}"})
    assert response.status_code == 200


# --- hostile access tokens --------------------------------------------------------------------------------------


def _server_signer(alg: str = "ES256", tenant: str = "demo") -> tuple[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    return container.signing_keys().signer(TenantId(tenant), alg)


def sign_with_server_key(claims: dict[str, Any], *, alg: str = "ES256", tenant: str = "demo", **header: Any) -> str:
    from jose import jws

    kid, key = _server_signer(alg, tenant)
    return str(jws.sign(claims, key, headers={"kid": kid, "typ": "at+jwt", **header}, algorithm=alg))


def good_claims(op: Provider, tokens: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The claims of a genuine access token with a fresh jti, changed as asked (None removes a claim)."""
    claims = dict(jwt_claims(tokens["access_token"]))
    claims["jti"] = uuid.uuid4().hex
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def test_resigned_genuine_claims_are_accepted(op: Provider, tokens: dict[str, Any]) -> None:
    # Control for the attacks below: the same claims, signed with the real key and header, do work.
    assert op.userinfo(sign_with_server_key(good_claims(op, tokens))).status_code == 200


def test_alg_none_is_rejected(op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]) -> None:
    kid = jwt_header(tokens["access_token"])["kid"]
    claims = good_claims(op, tokens)
    for alg in ("none", "None", "NONE"):
        token = f"{b64url_json({'alg': alg, 'typ': 'at+jwt', 'kid': kid})}.{b64url_json(claims)}."
        assert_invalid_token(op.userinfo(token))
        assert not op.is_active(token, web_auth)


def test_hs256_signed_with_the_public_key_is_rejected(op: Provider, tokens: dict[str, Any]) -> None:
    from authlib.jose import JsonWebKey

    claims = good_claims(op, tokens)
    for jwk in op.jwks()["keys"]:
        public_pem = JsonWebKey.import_key(jwk).as_pem(is_private=False)
        for secret in (public_pem, json.dumps(jwk).encode()):
            signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': jwk['kid']})}.{b64url_json(claims)}"
            signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            assert_invalid_token(op.userinfo(f"{signing_input}.{b64url(signature)}"))


def test_unknown_kid_is_rejected(op: Provider, tokens: dict[str, Any]) -> None:
    from authlib.jose import JsonWebKey, JsonWebToken

    own = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    claims = good_claims(op, tokens)
    for kid in ("es256-unknown", "", jwt_header(tokens["access_token"])["kid"]):
        token = JsonWebToken(["ES256"]).encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, own).decode()
        assert_invalid_token(op.userinfo(token))
    # A real kid with the wrong algorithm (the RS256 key's kid on an ES256 signature).
    rs_kid = next(k["kid"] for k in op.jwks()["keys"] if k["alg"] == "RS256")
    token = JsonWebToken(["ES256"]).encode({"alg": "ES256", "typ": "at+jwt", "kid": rs_kid}, claims, own).decode()
    assert_invalid_token(op.userinfo(token))


@pytest.mark.parametrize("header_name", ["jwk", "jku", "x5u", "x5c", "crit"])
def test_key_material_or_crit_in_the_header_is_rejected(op: Provider, tokens: dict[str, Any], header_name: str) -> None:
    from authlib.jose import JsonWebKey

    attacker = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    values = {
        "jwk": attacker.as_dict(is_private=False),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
        "crit": ["exp"],
    }
    # Even signed with the real key, a token that names other key material (or crit) is refused.
    token = sign_with_server_key(good_claims(op, tokens), **{header_name: values[header_name]})
    assert_invalid_token(op.userinfo(token))


@pytest.mark.parametrize(
    "name,changes",
    [
        ("expired", {"exp": -600, "iat": -900, "nbf": -900}),
        ("not yet valid", {"nbf": 3600}),
        ("wrong issuer", {"iss": "https://evil.example/t/demo"}),
        ("issuer of another tenant", {"iss": "OTHER_ISSUER"}),
        ("wrong audience", {"aud": "https://api.other.example"}),
        ("client as audience", {"aud": "demo-web"}),
        ("no exp", {"exp": None}),
        ("no iss", {"iss": None}),
        ("no sub", {"sub": None}),
        ("no jti", {"jti": None}),
        ("no client_id", {"client_id": None}),
    ],
)
def test_claim_violations_are_rejected(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str], name: str, changes: dict[str, Any]
) -> None:
    now = int(time.time())
    resolved: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("exp", "iat", "nbf") and isinstance(value, int):
            resolved[key] = now + value
        elif value == "OTHER_ISSUER":
            resolved[key] = f"{op.base}/t/{OTHER_TENANT}"
        else:
            resolved[key] = value
    token = sign_with_server_key(good_claims(op, tokens, **resolved))
    assert_invalid_token(op.userinfo(token))
    assert not op.is_active(token, web_auth)


def test_access_token_without_audience_is_rejected(op: Provider, tokens: dict[str, Any]) -> None:
    assert_invalid_token(op.userinfo(sign_with_server_key(good_claims(op, tokens, aud=None))))


def test_wrong_typ_is_rejected(op: Provider, tokens: dict[str, Any]) -> None:
    for typ in ("JWT", "gh-flow+jwt", "", "at+jwt2"):
        assert_invalid_token(op.userinfo(sign_with_server_key(good_claims(op, tokens), typ=typ)))


def test_id_token_is_not_an_access_token(op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]) -> None:
    assert_invalid_token(op.userinfo(tokens["id_token"]))
    assert not op.is_active(tokens["id_token"], web_auth)


def test_tampered_signature_or_payload_is_rejected(op: Provider, tokens: dict[str, Any]) -> None:
    head, body, signature = tokens["access_token"].split(".")
    claims = jwt_claims(tokens["access_token"])
    claims["scope"] = "openid profile email phone address"
    assert_invalid_token(op.userinfo(f"{head}.{b64url_json(claims)}.{signature}"))
    flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    assert_invalid_token(op.userinfo(f"{head}.{body}.{flipped}"))


@pytest.fixture(scope="module")
def other_tenant(live_server: str, demo: dict[str, Any]) -> Provider:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenants = container.tenants()
    if not tenants.exists(OTHER_TENANT):
        tenants.create_customer(OTHER_TENANT)
    container.signing_keys().ensure_keys(TenantId(OTHER_TENANT))
    return Provider(live_server, OTHER_TENANT)


def test_token_of_another_tenant_is_rejected(
    op: Provider,
    other_tenant: Provider,
    tokens: dict[str, Any],
    issue: Callable[..., dict[str, Any]],
    web_auth: tuple[str, str],
    make_user: Callable[..., E2EUser],
    make_client: Callable[..., E2EClient],
) -> None:
    stranger = make_user(OTHER_TENANT)
    client = make_client("confidential", tenant=OTHER_TENANT)
    theirs = issue(stranger, client=client, provider=other_tenant)
    assert other_tenant.userinfo(theirs["access_token"]).status_code == 200  # genuine over there

    assert_invalid_token(op.userinfo(theirs["access_token"]))
    assert not op.is_active(theirs["access_token"], web_auth)
    assert not op.is_active(theirs["refresh_token"], web_auth)
    # A token signed with the other tenant's key but claiming this tenant's issuer.
    forged = sign_with_server_key(good_claims(op, tokens), tenant=OTHER_TENANT)
    assert_invalid_token(op.userinfo(forged))
    # And the other way round.
    assert_invalid_token(other_tenant.userinfo(tokens["access_token"]))
    assert not other_tenant.is_active(tokens["access_token"], client.basic)
    # Refresh tokens do not cross tenants either.
    response = other_tenant.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=client.basic
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- revocation (RFC 7009) --------------------------------------------------------------------------------------


def test_revoked_access_token_is_dead(op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]) -> None:
    response = op.revoke(tokens["access_token"], web_auth, token_type_hint="access_token")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") == "no-store"
    assert_invalid_token(op.userinfo(tokens["access_token"]))
    assert not op.is_active(tokens["access_token"], web_auth)


def test_revoking_the_refresh_token_revokes_the_grant(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]
) -> None:
    refreshed = op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=web_auth
    ).json()
    assert op.revoke(refreshed["refresh_token"], web_auth).status_code == 200
    for token in (refreshed["refresh_token"], refreshed["access_token"], tokens["access_token"]):
        assert not op.is_active(token, web_auth)
    assert_invalid_token(op.userinfo(refreshed["access_token"]))
    response = op.token({"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]}, auth=web_auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revocation_with_another_clients_credentials_is_a_noop(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str], make_client: Callable[..., E2EClient]
) -> None:
    other = make_client("confidential")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = op.revoke(token, other.basic)
        assert response.status_code == 200  # RFC 7009 §2.2: no hint whether the token exists
    assert op.is_active(tokens["access_token"], web_auth)
    assert op.is_active(tokens["refresh_token"], web_auth)
    assert op.userinfo(tokens["access_token"]).status_code == 200


def test_revocation_of_unknown_tokens_is_200(op: Provider, web_auth: tuple[str, str]) -> None:
    for token in ("unknown", f"{uuid.uuid4().hex}.0.{secrets.token_urlsafe(32)}", "a.b.c"):
        assert op.revoke(token, web_auth).status_code == 200
    assert op.revoke("whatever", web_auth, token_type_hint="unsupported_hint").status_code == 200


def test_public_client_can_revoke_its_own_tokens(op: Provider, user: E2EUser) -> None:
    verifier, challenge = pkce_pair()
    with requests.Session() as browser:
        result = op.sign_in(
            browser,
            {
                "client_id": "demo-mobile",
                "redirect_uri": "com.example.demo:/callback",
                "response_type": "code",
                "scope": "openid",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            user.email,
            user.password,
        )
    body = op.token(
        {
            "grant_type": "authorization_code",
            "code": result["code"],
            "client_id": "demo-mobile",
            "redirect_uri": "com.example.demo:/callback",
            "code_verifier": verifier,
        }
    ).json()
    response = requests.post(
        op["revocation_endpoint"], data={"token": body["refresh_token"], "client_id": "demo-mobile"}
    )
    assert response.status_code == 200
    refreshed = op.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "demo-mobile"}
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert_invalid_token(op.userinfo(body["access_token"]))


def test_revocation_requires_client_authentication(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]
) -> None:
    response = op.revoke(tokens["refresh_token"], ("demo-web", "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    assert op.revoke(tokens["refresh_token"], None).status_code == 401
    assert op.is_active(tokens["refresh_token"], web_auth)


def test_revocation_without_token_is_invalid_request(op: Provider, web_auth: tuple[str, str]) -> None:
    response = requests.post(op["revocation_endpoint"], data={}, auth=web_auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# --- introspection (RFC 7662) -----------------------------------------------------------------------------------


def test_introspection_of_an_access_token(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str], user: E2EUser
) -> None:
    response = op.introspect(tokens["access_token"], web_auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["client_id"] == "demo-web" and body["sub"] == user.user_id
    assert body["token_type"].lower() == "bearer"
    claims = jwt_claims(tokens["access_token"])
    assert body["exp"] == claims["exp"] and body["iat"] == claims["iat"]
    assert body["iss"] == op.issuer
    assert isinstance(body["exp"], int) and body["exp"] > time.time()


def test_introspection_of_a_refresh_token(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str], user: E2EUser
) -> None:
    for hint in ({}, {"token_type_hint": "refresh_token"}, {"token_type_hint": "access_token"}):
        body = op.introspect(tokens["refresh_token"], web_auth, **hint).json()
        assert body["active"] is True, hint
        assert set(body["scope"].split()) == {"openid", "profile", "email"}
        assert body["client_id"] == "demo-web" and body["sub"] == user.user_id
        assert body["token_type"] == "refresh_token"
        assert isinstance(body["exp"], int) and isinstance(body["iat"], int) and body["exp"] > body["iat"]


def test_inactive_tokens_reveal_nothing(op: Provider, web_auth: tuple[str, str]) -> None:
    for token in ("garbage", f"{uuid.uuid4().hex}.0.{secrets.token_urlsafe(32)}", "a.b.c"):
        response = op.introspect(token, web_auth)
        assert response.status_code == 200
        assert response.json() == {"active": False}


def test_public_client_cannot_introspect(op: Provider, tokens: dict[str, Any]) -> None:
    response = requests.post(
        op["introspection_endpoint"], data={"token": tokens["access_token"], "client_id": "demo-mobile"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "active" not in response.json()


def test_introspection_requires_client_authentication(op: Provider, tokens: dict[str, Any]) -> None:
    assert op.introspect(tokens["access_token"], None).status_code == 401
    response = op.introspect(tokens["access_token"], ("demo-web", "wrong"))
    assert response.status_code == 401 and "active" not in response.json()
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_introspection_and_revocation_reject_non_form_bodies(
    op: Provider, tokens: dict[str, Any], web_auth: tuple[str, str]
) -> None:
    for endpoint in ("introspection_endpoint", "revocation_endpoint"):
        response = requests.post(op[endpoint], json={"token": tokens["access_token"]}, auth=web_auth)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
        assert response.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize("endpoint", ["introspection_endpoint", "revocation_endpoint"])
def test_unicode_digit_token_is_not_a_server_error(op: Provider, web_auth: tuple[str, str], endpoint: str) -> None:
    response = requests.post(op[endpoint], data={"token": f"abc.\u00b2.{secrets.token_urlsafe(32)}"}, auth=web_auth)
    assert response.status_code == 200, response.text
