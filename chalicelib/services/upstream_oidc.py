"""Upstream OpenID Connect (we are the relying party): discovery, the authorization request, the code exchange
and ID token validation (OIDC Core §3.1.3.7).

The authorization request uses the code flow with PKCE S256 (RFC 7636), a ``state`` that names the pending
login (128 random bits, single use, bound to the browser) and a ``nonce`` kept with the login. The ID token is
accepted only if: its ``alg`` is in our allow-list (asymmetric only) and advertised by the provider; it carries
no key-bearing headers (``jwk``, ``jku``, ``x5u``, ``x5c``); its ``kid`` names a key of the provider's JWKS
(fetched from the discovered ``jwks_uri``; refetched once for an unknown kid); the signature verifies; ``iss``
equals the configured issuer exactly; ``aud`` contains our client id (and ``azp`` is us when there are several);
``exp``/``nbf``/``iat`` hold (60 s skew); and ``nonce`` equals the one we sent (constant-time compare).
Claims a mapping names but the ID token lacks are taken from the userinfo endpoint when its ``sub`` matches.
Discovery documents are cached for an hour and JWKS for ten minutes, per process.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, s256
from chalicelib.core.errors import DependencyUnavailable, DomainError
from chalicelib.core.federation import IdentityProvider, UpstreamIdentity
from chalicelib.core.ids import new_secret
from chalicelib.core.ports import HttpClient
from chalicelib.services.identity_providers import IdentityProviderService
from chalicelib.services.idp_documents import LOOPBACK_HOSTS

ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit")
SKEW_SECONDS = 60
DISCOVERY_SECONDS = 3600
JWKS_SECONDS = 600


class UpstreamTokenInvalid(DomainError):
    """The upstream provider's answer (token response or ID token) failed validation."""

    public = "The identity provider's answer could not be verified."


def _secure_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return bool(parts.netloc) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
    )


class UpstreamOidcService:
    def __init__(self, http: HttpClient, integrations: IdentityProviderService) -> None:
        self._http = http
        self._integrations = integrations
        self._discovery: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}

    # --- provider metadata --------------------------------------------------------------------------------------

    def discover(self, issuer: str) -> dict[str, Any]:
        cached = self._discovery.get(issuer)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        document = self._http.get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
        # OIDC Discovery §4.3: the issuer in the document must be exactly the one we asked for.
        if document.get("issuer") != issuer:
            raise DependencyUnavailable(detail="discovery issuer mismatch")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not _secure_url(document.get(name)):
                raise DependencyUnavailable(detail=f"discovery {name} missing or not https")
        self._discovery[issuer] = (time.monotonic() + DISCOVERY_SECONDS, document)
        return document

    def _keys(self, jwks_uri: str, *, refresh: bool) -> list[dict[str, Any]]:
        cached = self._jwks.get(jwks_uri)
        if cached and cached[0] > time.monotonic() and not refresh:
            return list(cached[1].get("keys") or [])
        jwks = self._http.get_json(jwks_uri)
        self._jwks[jwks_uri] = (time.monotonic() + JWKS_SECONDS, jwks)
        return list(jwks.get("keys") or [])

    # --- front channel ------------------------------------------------------------------------------------------

    def authorization_url(
        self,
        integration: IdentityProvider,
        *,
        state: str,
        redirect_uri: str,
        login_hint: str | None,
        fresh: bool = False,
    ) -> tuple[str, dict[str, str]]:
        """(URL to send the browser to, what the login keeps: nonce and PKCE verifier). ``fresh`` asks for a new
        authentication (``prompt=login``, ``max_age=0``) and keeps when (``fresh_since``) for ``redeem`` to check."""
        oidc = integration.oidc
        if oidc is None:
            raise DependencyUnavailable(detail="not an OIDC integration")
        document = self.discover(oidc.issuer)
        nonce, verifier = new_secret(), new_secret()
        params = {
            "response_type": "code",
            "client_id": oidc.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(oidc.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        kept = {"nonce": nonce, "code_verifier": verifier}
        if fresh:
            params.update(prompt="login", max_age="0")
            kept["fresh_since"] = str(clock.now())
        endpoint = str(document["authorization_endpoint"])
        url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
        return url, kept

    # --- back channel -------------------------------------------------------------------------------------------

    def redeem(
        self, integration: IdentityProvider, *, code: str, redirect_uri: str, protocol_state: dict[str, str]
    ) -> UpstreamIdentity:
        """Exchange the code (PKCE, client_secret_basic) and validate the ID token; the upstream identity."""
        oidc = integration.oidc
        if oidc is None:
            raise UpstreamTokenInvalid(detail="not an OIDC integration")
        document = self.discover(oidc.issuer)
        answer = self._http.post_form(
            str(document["token_endpoint"]),
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": protocol_state.get("code_verifier", ""),
            },
            basic_auth=(oidc.client_id, self._integrations.client_secret(integration)),
        )
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamTokenInvalid(detail=f"token response without id_token: {str(answer.get('error'))[:64]}")
        access_token = answer.get("access_token") if isinstance(answer.get("access_token"), str) else None
        claims = self.validate_id_token(
            integration, document, id_token, nonce=protocol_state.get("nonce", ""), access_token=access_token
        )
        fresh_since = protocol_state.get("fresh_since")
        if fresh_since is not None:  # OIDC Core §3.1.2.1 max_age: auth_time is REQUIRED and must be this sign-in's
            auth_time = claims.get("auth_time")
            if not isinstance(auth_time, int) or auth_time < int(fresh_since) - SKEW_SECONDS:
                raise UpstreamTokenInvalid(detail="a fresh sign-in was requested; auth_time is missing or older")
        attributes = {k: v for k, v in claims.items() if k not in ("aud", "nonce", "at_hash", "c_hash")}
        if access_token and any(source not in claims for source in integration.mapping().values()):
            attributes = {**self._userinfo(document, access_token, str(claims["sub"])), **attributes}
        return UpstreamIdentity(
            integration=integration.name,
            subject=str(claims["sub"]),
            attributes=attributes,
            authn_time=int(claims["auth_time"]) if isinstance(claims.get("auth_time"), int) else clock.now(),
            amr=tuple(str(a) for a in claims.get("amr", []) if isinstance(a, str))[:8],
            email_verified=attributes.get("email_verified") is True,
        )

    def _userinfo(self, document: dict[str, Any], access_token: str, sub: str) -> dict[str, Any]:
        """Claims the ID token lacks (some providers release email or groups only here; OIDC Core §5.3.2: used
        only when its ``sub`` is the ID token's). Best effort: unavailable means the ID token's claims only."""
        endpoint = document.get("userinfo_endpoint")
        if not _secure_url(endpoint):
            return {}
        try:
            claims = self._http.get_json(str(endpoint), bearer=access_token)
        except DependencyUnavailable:
            return {}
        if claims.get("sub") != sub:
            return {}
        return {k: v for k, v in claims.items() if k not in ("iss", "aud", "exp", "iat", "nbf", "nonce")}

    def validate_id_token(
        self,
        integration: IdentityProvider,
        document: dict[str, Any],
        token: str,
        *,
        nonce: str,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        from jose import jwt
        from jose.exceptions import JOSEError

        oidc = integration.oidc
        if oidc is None:
            raise UpstreamTokenInvalid(detail="not an OIDC integration")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as error:
            raise UpstreamTokenInvalid(detail="malformed ID token") from error
        advertised = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS or alg not in advertised:
            raise UpstreamTokenInvalid(detail=f"ID token alg {str(alg)[:16]} not allowed")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise UpstreamTokenInvalid(detail="ID token carries a key-bearing or critical header")
        key = self._key_for(str(document["jwks_uri"]), header.get("kid"), alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=oidc.client_id,
                issuer=oidc.issuer,
                access_token=access_token,  # checks at_hash when present
                options={"require_exp": True, "require_iat": True, "require_sub": True, "leeway": SKEW_SECONDS},
            )
        except JOSEError as error:
            raise UpstreamTokenInvalid(detail=f"ID token rejected: {error}") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != oidc.client_id:
            raise UpstreamTokenInvalid(detail="ID token azp is not us")
        if not nonce or not constant_time_equals(str(claims.get("nonce", "")), nonce):
            raise UpstreamTokenInvalid(detail="ID token nonce mismatch")
        if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
            raise UpstreamTokenInvalid(detail="ID token sub malformed")
        return claims

    def _key_for(self, jwks_uri: str, kid: object, alg: str) -> dict[str, Any]:
        for refresh in (False, True):
            keys = self._keys(jwks_uri, refresh=refresh)
            candidates = [
                k
                for k in keys
                if isinstance(k, dict)
                and (kid is None or k.get("kid") == kid)
                and k.get("use", "sig") == "sig"
                and k.get("alg", alg) == alg
            ]
            if len(candidates) == 1 or (candidates and kid is not None):
                return candidates[0]
        raise UpstreamTokenInvalid(detail="no upstream key for this ID token")
