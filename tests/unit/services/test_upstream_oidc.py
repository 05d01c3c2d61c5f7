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

    def get_json(self, url: str) -> dict[str, Any]:
        if url.endswith("/.well-known/openid-configuration"):
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        self.jwks_fetches += 1
        return {"keys": [PUBLIC]}

    def post_form(self, url: str, form: dict[str, str], *, basic_auth: tuple[str, str] | None = None) -> dict[str, Any]:
        raise AssertionError("not used")

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
        def get_json(self, url: str) -> dict[str, Any]:
            return {**super().get_json(url), "issuer": "https://evil.example.com"}

    with pytest.raises(DependencyUnavailable):
        UpstreamOidcService(Lying(), None).discover(ISSUER)  # type: ignore[arg-type]
