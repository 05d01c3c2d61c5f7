"""ID token validation of the upstream OpenID Connect relying party: every tampering is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from chalicelib.core.federation import IdentityProvider, OidcSettings
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.services.upstream_oidc import UpstreamOidcService, UpstreamTokenInvalid

ISSUER = "https://op.example.com"
CLIENT = "broker"


def _key() -> tuple[str, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = jwk.construct(pem, "RS256").public_key().to_dict()
    return pem, {**public, "kid": "k1", "use": "sig", "alg": "RS256"}


PEM, PUBLIC = _key()
OTHER_PEM, _ = _key()


class FakeHttp:
    def __init__(self) -> None:
        self.jwks_fetches = 0
        self.userinfo_sub = "u1"
        self.token_answer: dict[str, Any] = {}

    def get_json(self, url: str, *, bearer: str | None = None) -> dict[str, Any]:
        if url.endswith("/userinfo"):
            assert bearer == "at-1"
            return {"sub": self.userinfo_sub, "email": "u1@op.example.com", "email_verified": True, "sub_extra": 1}
        if url.endswith("/.well-known/openid-configuration"):
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "userinfo_endpoint": f"{ISSUER}/userinfo",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        self.jwks_fetches += 1
        return {"keys": [PUBLIC]}

    def post_form(self, url: str, form: dict[str, str], *, basic_auth: tuple[str, str] | None = None) -> dict[str, Any]:
        assert form["code_verifier"] == "v-1" and basic_auth == (CLIENT, "secret")
        return self.token_answer

    def post_json(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        raise AssertionError("not used")


INTEGRATION = IdentityProvider(
    TenantId("t"), "op", "oidc", NodeId("root"), "OP", oidc=OidcSettings(ISSUER, CLIENT, b"")
)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n-1"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], *, pem: str = PEM, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "k1", **(headers or {})})


@pytest.fixture
def service() -> UpstreamOidcService:
    return UpstreamOidcService(FakeHttp(), None)  # type: ignore[arg-type]


def _validate(service: UpstreamOidcService, token: str, nonce: str = "n-1") -> dict[str, Any]:
    return service.validate_id_token(INTEGRATION, service.discover(ISSUER), token, nonce=nonce)


def test_a_good_id_token_is_accepted(service: UpstreamOidcService) -> None:
    assert _validate(service, _sign(_claims()))["sub"] == "u1"


@pytest.mark.parametrize(
    "token",
    [
        _sign(_claims(iss="https://evil.example.com")),
        _sign(_claims(aud="someone-else")),
        _sign(_claims(aud=[CLIENT, "other"])),  # several audiences without azp = us
        _sign(_claims(exp=int(time.time()) - 3600)),
        _sign(_claims(nbf=int(time.time()) + 3600)),
        _sign(_claims(iat=None)),
        _sign(_claims(nonce="other")),
        _sign(_claims(nonce=None)),
        _sign(_claims(), pem=OTHER_PEM),  # signed by another key
        _sign(_claims(), headers={"jku": "https://evil.example.com/jwks"}),
        _sign(_claims(), headers={"kid": "unknown"}),
        jwt.encode(_claims(), "shared-secret", algorithm="HS256", headers={"kid": "k1"}),
        "eyJhbGciOiJub25lIn0." + _sign(_claims()).split(".")[1] + ".",
        "not-a-jwt",
    ],
)
def test_tampered_id_tokens_are_refused(service: UpstreamOidcService, token: str) -> None:
    with pytest.raises(UpstreamTokenInvalid):
        _validate(service, token)


def test_payload_swapped_under_a_valid_signature_is_refused(service: UpstreamOidcService) -> None:
    good, other = _sign(_claims()).split("."), _sign(_claims(sub="admin")).split(".")
    with pytest.raises(UpstreamTokenInvalid):
        _validate(service, ".".join([good[0], other[1], good[2]]))


def test_discovery_with_another_issuer_is_refused() -> None:
    from chalicelib.core.errors import DependencyUnavailable

    class Lying(FakeHttp):
        def get_json(self, url: str, *, bearer: str | None = None) -> dict[str, Any]:
            return {**super().get_json(url), "issuer": "https://evil.example.com"}

    with pytest.raises(DependencyUnavailable):
        UpstreamOidcService(Lying(), None).discover(ISSUER)  # type: ignore[arg-type]


class Secrets:
    def client_secret(self, integration: IdentityProvider) -> str:
        return "secret"


@pytest.mark.parametrize(("userinfo_sub", "email"), [("u1", "u1@op.example.com"), ("someone-else", None)])
def test_claims_missing_from_the_id_token_come_from_userinfo_of_the_same_subject(
    userinfo_sub: str, email: str | None
) -> None:
    http = FakeHttp()
    http.userinfo_sub = userinfo_sub
    http.token_answer = {"id_token": _sign(_claims()), "access_token": "at-1"}
    service = UpstreamOidcService(http, Secrets())  # type: ignore[arg-type]
    identity = service.redeem(
        INTEGRATION, code="c", redirect_uri="https://rp/cb", protocol_state={"nonce": "n-1", "code_verifier": "v-1"}
    )
    assert identity.subject == "u1" and identity.attributes.get("email") == email
    assert identity.email_verified is (email is not None)


@pytest.mark.usefixtures("frozen_clock")
def test_a_fresh_sign_in_is_asked_for_and_its_auth_time_checked() -> None:
    """prompt=login downstream: the upstream is asked for prompt=login/max_age=0, and its ID token must carry an
    auth_time from after the request (OIDC Core §3.1.2.1: auth_time is REQUIRED when max_age was sent)."""
    from urllib.parse import parse_qs, urlsplit

    from chalicelib.core import clock

    http = FakeHttp()
    service = UpstreamOidcService(http, Secrets())  # type: ignore[arg-type]
    url, kept = service.authorization_url(
        INTEGRATION, state="s-1", redirect_uri="https://rp/cb", login_hint=None, fresh=True
    )
    query = parse_qs(urlsplit(url).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert int(kept["fresh_since"]) == clock.now()
    plain_url, plain = service.authorization_url(
        INTEGRATION, state="s-2", redirect_uri="https://rp/cb", login_hint=None
    )
    assert "prompt" not in parse_qs(urlsplit(plain_url).query) and "fresh_since" not in plain

    state = {"nonce": "n-1", "code_verifier": "v-1", "fresh_since": kept["fresh_since"]}
    since = int(kept["fresh_since"])
    for auth_time in (None, since - 3600, "recent"):
        http.token_answer = {"id_token": _sign(_claims(auth_time=auth_time))}
        with pytest.raises(UpstreamTokenInvalid):
            service.redeem(INTEGRATION, code="c", redirect_uri="https://rp/cb", protocol_state=state)
    http.token_answer = {"id_token": _sign(_claims(auth_time=since + 1))}
    identity = service.redeem(INTEGRATION, code="c", redirect_uri="https://rp/cb", protocol_state=state)
    assert identity.authn_time == since + 1
    http.token_answer = {"id_token": _sign(_claims(auth_time=since - 3600))}  # without the request: not checked
    plain_state = {"nonce": "n-1", "code_verifier": "v-1"}
    assert service.redeem(INTEGRATION, code="c", redirect_uri="https://rp/cb", protocol_state=plain_state).subject
