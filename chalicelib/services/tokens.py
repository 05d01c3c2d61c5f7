"""JWT issuance and verification: RFC 9068 access tokens, OpenID Connect ID tokens, opaque refresh tokens.

Verification accepts only our own keys, by ``kid``, with an explicit algorithm allow-list; it never takes keys
from the token (``jwk``, ``jku``, ``x5u``, ``x5c``), never ``none`` or HMAC, and checks ``typ`` so an ID token
cannot be used as an access token.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalicelib.config import settings as config
from chalicelib.core import clock
from chalicelib.core.digests import b64url, secret_digest
from chalicelib.core.entities import Grant
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId, new_id, new_secret
from chalicelib.services.signing_keys import SUPPORTED_ALGS, SigningKeyService

ACCESS_TOKEN_TYP = "at+jwt"
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit"})
LEEWAY_SECONDS = 30
GRANT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
GENERATION = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only: str.isdigit() accepts "²"


def issuer_url(tenant_id: TenantId) -> str:
    return f"{config().public_base_url}/t/{tenant_id}"


def left_half_hash(value: str) -> str:
    """``at_hash``: base64url of the left half of SHA-256 (OIDC Core §3.1.3.6; RS256 and ES256 both use SHA-256)."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


def make_refresh_token(grant_id: str, generation: int) -> tuple[str, str]:
    """(token, digest). Opaque to clients; only the digest is stored."""
    secret = new_secret()
    return f"{grant_id}.{generation}.{secret}", secret_digest(secret)


def parse_refresh_token(token: str) -> tuple[str, int, str] | None:
    """(grant_id, generation, digest of the secret) or None if malformed."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 512 else []
    if len(parts) != 3 or not GRANT_ID.match(parts[0]) or not GENERATION.match(parts[1]) or len(parts[2]) < 32:
        return None
    return parts[0], int(parts[1]), secret_digest(parts[2])


def check_times(claims: dict[str, Any], *, verify_exp: bool) -> None:
    """RFC 7519 §4.1.4-4.1.6 with a small leeway for clock skew."""
    now = clock.now()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or (nbf is not None and not isinstance(nbf, int)):
        raise TokenInvalid(detail="exp, iat and nbf must be integers")
    if verify_exp and exp + LEEWAY_SECONDS < now:
        raise TokenInvalid(detail="expired")
    if nbf is not None and nbf - LEEWAY_SECONDS > now:
        raise TokenInvalid(detail="not yet valid")
    if iat - LEEWAY_SECONDS > now:
        raise TokenInvalid(detail="issued in the future")


class TokenService:
    def __init__(self, keys: SigningKeyService) -> None:
        self._keys = keys

    def sign(self, tenant_id: TenantId, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        from jose import jws

        kid, key = self._keys.signer(tenant_id, alg)
        return str(jws.sign(claims, key, headers={"kid": kid, "typ": typ}, algorithm=alg))

    def grant_response(
        self, tenant_id: TenantId, grant: Grant, *, alg: str, lifetime: int, refresh_token: str | None, jti: str
    ) -> dict[str, Any]:
        """RFC 6749 §5.1: the access token of ``grant`` (its client, user, scope and authentication, ``jti`` as
        recorded in its ``token.issue`` event) with the response fields; the caller adds an ID token."""
        access_token, _ = self.access_token(
            tenant_id,
            client_id=grant.client_id,
            sub=grant.user_id,
            scope=grant.scope,
            lifetime=lifetime,
            alg=alg,
            grant_id=grant.grant_id,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=grant.amr,
            jti=jti,
        )
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(grant.scope),
        }
        if refresh_token:
            response["refresh_token"] = refresh_token
        return response

    def access_token(
        self,
        tenant_id: TenantId,
        *,
        client_id: str,
        sub: str,
        scope: tuple[str, ...],
        lifetime: int,
        alg: str,
        grant_id: str | None = None,
        auth_time: int | None = None,
        acr: str | None = None,
        amr: tuple[str, ...] | None = None,
        audience: str | None = None,
        jti: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """A signed RFC 9068 access token and its claims; ``jti`` when the caller recorded it already."""
        now = clock.now()
        claims: dict[str, Any] = {
            "iss": issuer_url(tenant_id),
            "sub": sub,
            "aud": audience or issuer_url(tenant_id),
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": jti or new_id(),
            "scope": " ".join(scope),
        }
        if grant_id:
            claims["gid"] = grant_id
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if acr:
            claims["acr"] = acr
        if amr:
            claims["amr"] = list(amr)
        return self.sign(tenant_id, claims, alg=alg, typ=ACCESS_TOKEN_TYP), claims

    def id_token(
        self,
        tenant_id: TenantId,
        *,
        client_id: str,
        sub: str,
        lifetime: int,
        alg: str,
        auth_time: int,
        acr: str,
        amr: tuple[str, ...],
        sid: str,
        nonce: str | None,
        access_token: str | None,
        claims: dict[str, Any],
    ) -> str:
        now = clock.now()
        body: dict[str, Any] = dict(claims)
        body.update(
            {
                "iss": issuer_url(tenant_id),
                "sub": sub,
                "aud": client_id,
                "azp": client_id,
                "iat": now,
                "exp": now + lifetime,
                "auth_time": auth_time,
                "acr": acr,
                "amr": list(amr),
                "sid": sid,
            }
        )
        if nonce:
            body["nonce"] = nonce
        if access_token:
            body["at_hash"] = left_half_hash(access_token)
        return self.sign(tenant_id, body, alg=alg, typ="JWT")

    def verify(
        self, tenant_id: TenantId, token: str, *, typ: str | None, audience: str | None, verify_exp: bool = True
    ) -> dict[str, Any]:
        """Verify signature and registered claims; raises TokenInvalid with the reason in ``detail``."""
        from jose import jws, jwt
        from jose.exceptions import JOSEError

        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
            raise TokenInvalid(detail="not a compact JWS")
        try:
            header = jws.get_unverified_header(token)
        except JOSEError as error:
            raise TokenInvalid(detail="malformed header") from error
        if not isinstance(header, dict) or FORBIDDEN_HEADERS & header.keys():
            raise TokenInvalid(detail="header carries key material or crit")
        alg = header.get("alg")
        if alg not in SUPPORTED_ALGS:
            raise TokenInvalid(detail=f"algorithm {alg!r} not allowed")
        if typ is not None and str(header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
            raise TokenInvalid(detail="wrong token type")
        found = self._keys.verifier(tenant_id, str(header.get("kid", "")))
        if found is None or found[0] != alg:
            raise TokenInvalid(detail="unknown kid or algorithm mismatch")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                found[1],
                algorithms=[alg],
                audience=audience,
                issuer=issuer_url(tenant_id),
                options={
                    "verify_aud": audience is not None,
                    # Time claims are checked below against the service clock (one source of time).
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    # exp and iat presence is checked by check_times (jose would turn require_exp into
                    # verify_exp, which logout must be able to switch off).
                    "require_aud": audience is not None,
                    "require_iss": True,
                    "require_sub": True,
                    "verify_at_hash": False,
                    "leeway": LEEWAY_SECONDS,
                },
            )
        except JOSEError as error:
            raise TokenInvalid(detail=f"claims: {error}") from error
        check_times(claims, verify_exp=verify_exp)
        return claims

    def verify_access_token(self, tenant_id: TenantId, token: str) -> dict[str, Any]:
        claims = self.verify(tenant_id, token, typ=ACCESS_TOKEN_TYP, audience=issuer_url(tenant_id))
        if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("client_id"), str):
            raise TokenInvalid(detail="missing jti or client_id")
        return claims


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
