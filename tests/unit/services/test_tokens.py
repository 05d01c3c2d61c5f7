"""Token signing and verification with in-memory key storage: every rejection rule of an access-token check."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from jose import jwk, jws

from chalicelib.core import clock
from chalicelib.core.entities import SigningKey
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.services.signing_keys import SigningKeyService
from chalicelib.services.tokens import TokenService, issuer_url, left_half_hash, make_refresh_token, parse_refresh_token

TENANT = TenantId("acme")
OTHER = TenantId("other")


class MemoryKeys:
    def __init__(self) -> None:
        self.keys: list[SigningKey] = []

    def list(self, tenant_id: TenantId) -> list[SigningKey]:
        return [k for k in self.keys if k.tenant_id == tenant_id]

    def add(self, key: SigningKey) -> None:
        self.keys.append(key)

    def retire(self, tenant_id: TenantId, kid: str, *, retired_at: int, publish_until: int) -> None:
        self.keys = [
            SigningKey(**{**k.__dict__, "status": "retired", "retired_at": retired_at, "publish_until": publish_until})
            if k.kid == kid and k.tenant_id == tenant_id
            else k
            for k in self.keys
        ]


class ContextBoundEncryption:
    """Stands in for KMS: refuses to decrypt under a different context."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        return json.dumps(context, sort_keys=True).encode() + b"\n" + plaintext

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        header, plaintext = blob.split(b"\n", 1)
        if header != json.dumps(context, sort_keys=True).encode():
            raise ValueError("context mismatch")
        return plaintext


@pytest.fixture
def service() -> TokenService:
    keys = SigningKeyService(MemoryKeys(), ContextBoundEncryption())
    keys.ensure_keys(TENANT)
    keys.ensure_keys(OTHER)
    return TokenService(keys)


def _access(service: TokenService, tenant: TenantId = TENANT, lifetime: int = 300) -> str:
    token, _ = service.access_token(
        tenant, client_id="c1", sub="u1", scope=("openid",), lifetime=lifetime, alg="ES256", grant_id="g1"
    )
    return token


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_round_trip(service: TokenService) -> None:
    claims = service.verify_access_token(TENANT, _access(service))
    assert claims["iss"] == issuer_url(TENANT)
    assert claims["aud"] == issuer_url(TENANT)
    assert claims["client_id"] == "c1" and claims["gid"] == "g1" and claims["jti"]
    header = jws.get_unverified_header(_access(service))
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"].startswith("es256-")


def test_alg_none_is_rejected(service: TokenService) -> None:
    token = _access(service)
    header = jws.get_unverified_header(token)
    forged = f"{_b64({**header, 'alg': 'none'})}.{token.split('.')[1]}."
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, forged)


def test_hmac_signed_with_the_public_key_is_rejected(service: TokenService) -> None:
    token = _access(service)
    header = jws.get_unverified_header(token)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    public = json.dumps(service._keys.jwks(TENANT)["keys"][0])
    forged = jws.sign(claims, public, headers={"kid": header["kid"], "typ": "at+jwt"}, algorithm="HS256")
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, forged)


@pytest.mark.parametrize(
    "extra", [{"jwk": {"kty": "EC"}}, {"jku": "https://evil"}, {"x5u": "https://evil"}, {"x5c": ["AA"]}]
)
def test_keys_supplied_in_headers_are_rejected(service: TokenService, extra: dict[str, Any]) -> None:
    kid, key = service._keys.signer(TENANT, "ES256")
    claims = service.verify_access_token(TENANT, _access(service))
    forged = jws.sign(claims, key, headers={"kid": kid, "typ": "at+jwt", **extra}, algorithm="ES256")
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, forged)


def test_unknown_kid_and_foreign_tenant_keys_are_rejected(service: TokenService) -> None:
    foreign = _access(service, OTHER)
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, foreign)
    attacker = jwk.construct(
        __import__("cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ec"]).generate_private_key(
            __import__("cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ec"]).SECP256R1()
        ),
        "ES256",
    )
    claims = service.verify_access_token(TENANT, _access(service))
    forged = jws.sign(claims, attacker, headers={"kid": "es256-unknown", "typ": "at+jwt"}, algorithm="ES256")
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, forged)


def test_expired_and_not_yet_valid_tokens_are_rejected(service: TokenService) -> None:
    token = _access(service, lifetime=1)
    clock.advance(120)
    try:
        with pytest.raises(TokenInvalid):
            service.verify_access_token(TENANT, token)
    finally:
        clock.reset()
    clock.advance(600)
    try:
        future = _access(service)
    finally:
        clock.reset()
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, future)


def test_id_token_is_not_an_access_token(service: TokenService) -> None:
    id_token = service.id_token(
        TENANT,
        client_id="c1",
        sub="u1",
        lifetime=300,
        alg="RS256",
        auth_time=int(time.time()),
        acr="1",
        amr=("pwd",),
        sid="s1",
        nonce="n",
        access_token=None,
        claims={},
    )
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, id_token)
    # ...but it verifies as what it is.
    assert service.verify(TENANT, id_token, typ=None, audience="c1")["nonce"] == "n"


def test_wrong_audience_is_rejected(service: TokenService) -> None:
    token, _ = service.access_token(
        TENANT, client_id="c1", sub="u1", scope=(), lifetime=300, alg="ES256", audience="https://api.example"
    )
    with pytest.raises(TokenInvalid):
        service.verify_access_token(TENANT, token)


def test_rotation_keeps_the_previous_key_published_until_it_expires(service: TokenService) -> None:
    old = _access(service)
    old_kids = {k["kid"] for k in service._keys.jwks(TENANT)["keys"]}
    service._keys.rotate(TENANT, publish_seconds=60)
    kids = {k["kid"] for k in service._keys.jwks(TENANT)["keys"]}
    assert old_kids < kids and len(kids) == 4
    assert service.verify_access_token(TENANT, old)["sub"] == "u1"
    assert jws.get_unverified_header(_access(service))["kid"] not in old_kids
    clock.advance(120)
    try:
        assert {k["kid"] for k in service._keys.jwks(TENANT)["keys"]}.isdisjoint(old_kids)
    finally:
        clock.reset()


def test_private_key_is_bound_to_its_tenant_and_kid(service: TokenService) -> None:
    key = next(k for k in service._keys.keyset(TENANT).keys if k.alg == "ES256")
    with pytest.raises(ValueError):
        ContextBoundEncryption().decrypt(
            key.encrypted_private_key, {"tenant": OTHER, "purpose": "jwt-signing-key", "kid": key.kid}
        )


def test_at_hash_and_refresh_token_format() -> None:
    assert len(left_half_hash("token")) == 22
    token, digest = make_refresh_token("grant-001", 3)
    assert parse_refresh_token(token) == ("grant-001", 3, digest)
    secret = token.rsplit(".", 1)[1]
    for bad in [
        "",
        "g1",
        "g1.x.secret",
        "a.b.c.d",
        "grant-001.1.short",
        f"grant-001.\u00b2.{secret}",
        f"grant-001.{'9' * 40}.{secret}",
        f"g#1.1.{secret}",
    ]:
        assert parse_refresh_token(bad) is None
