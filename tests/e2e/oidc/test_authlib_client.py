"""Interoperability: complete flows driven by Authlib's OAuth2Session, an independent standards-compliant client.

Authlib builds the authorization URL (with PKCE S256 and a nonce), exchanges the code (``fetch_token``), refreshes
(``refresh_token``), calls UserInfo and revokes; its ``CodeIDToken`` validates the ID token claims. The only thing
done by hand is what a user does: signing in on the hosted page.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EUser, Page, Provider, query_params

pytestmark = pytest.mark.stack

MOBILE_REDIRECT = "com.example.demo:/callback"


def user_signs_in(op: Provider, url: str, user: E2EUser) -> str:
    """Open the authorization URL like a browser, sign in, and return where the provider sends the user."""
    with requests.Session() as browser:
        response = browser.get(url, allow_redirects=False)
        assert response.status_code == 200 and Page.parse(response).has_form("/login")
        response = op.login(browser, response, user.email, user.password)
    assert response.status_code in (302, 303), response.text[:300]
    return str(response.headers["Location"])


def validate_id_token(op: Provider, id_token: str, *, client_id: str, nonce: str, access_token: str) -> dict[str, Any]:
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oidc.core import CodeIDToken

    claims = JsonWebToken(["RS256", "ES256"]).decode(
        id_token,
        JsonWebKey.import_key_set(op.jwks()),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": op.issuer}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    return dict(claims)


@pytest.mark.parametrize("auth_method", ["none", "client_secret_basic", "client_secret_post"])
def test_authlib_oauth2_session_full_flow(
    op: Provider,
    user: E2EUser,
    callback: str,
    web_auth: tuple[str, str],
    auth_method: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http on loopback
    if auth_method == "none":
        client_id, secret, redirect_uri = "demo-mobile", None, MOBILE_REDIRECT
    else:
        client_id, secret, redirect_uri = web_auth[0], web_auth[1], callback
    session = OAuth2Session(
        client_id=client_id,
        client_secret=secret,
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        scope="openid profile email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(op["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    assert "code_challenge=" in url and "code_challenge_method=S256" in url

    location = user_signs_in(op, url, user)
    assert location.startswith(redirect_uri + "?")
    returned = query_params(location)
    assert returned["state"] == state and returned["iss"] == op.issuer  # RFC 9207 mix-up defence

    token = session.fetch_token(op["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["refresh_token"] and token["id_token"]
    claims = validate_id_token(
        op, token["id_token"], client_id=client_id, nonce=nonce, access_token=token["access_token"]
    )
    assert claims["sub"] == user.user_id and claims["email"] == user.email

    info = session.get(op["userinfo_endpoint"])
    assert info.status_code == 200 and info.json()["sub"] == user.user_id

    refreshed = session.refresh_token(op["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]
    assert session.get(op["userinfo_endpoint"]).status_code == 200  # the session now uses the new access token

    revoked = session.revoke_token(
        op["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    assert session.get(op["userinfo_endpoint"]).status_code == 401  # the grant is gone with its refresh token


def test_authlib_client_credentials_with_private_key_jwt(op: Provider, make_client: Any) -> None:
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "authlib-key"})
    public = {**key.as_dict(is_private=False), "use": "sig", "alg": "RS256"}
    client = make_client("service", auth_method="private_key_jwt", scopes=["api.read"], jwks={"keys": [public]})

    class ShortLivedPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
        """Authlib's default assertion lifetime is one hour; the provider accepts at most ten minutes (a policy).
        (Authlib stores the jti it generates into ``claims``, so they are rebuilt for every assertion.)"""

        def sign(self, auth: Any, token_endpoint: str) -> Any:
            self.claims = {"exp": int(time.time()) + 300}
            return super().sign(auth, token_endpoint)

    auth = ShortLivedPrivateKeyJWT(op["token_endpoint"], alg="RS256")
    session = OAuth2Session(
        client_id=client.client_id,
        client_secret=key.as_pem(is_private=True).decode(),
        token_endpoint_auth_method=auth,
        scope="api.read",
    )
    token = session.fetch_token(op["token_endpoint"], grant_type="client_credentials")
    assert token["scope"] == "api.read" and "refresh_token" not in token
    again = session.fetch_token(op["token_endpoint"], grant_type="client_credentials")  # a fresh jti each time
    assert again["access_token"] != token["access_token"]
