"""OpenID Connect Discovery 1.0 §3/§4 and the JWKS (RFC 7517), over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.oidc_client import Provider

pytestmark = pytest.mark.stack

REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
RECOMMENDED = ("userinfo_endpoint", "scopes_supported", "claims_supported")
ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/.well-known/jwks.json",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "end_session_endpoint": "/logout",
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def document(live_server: str, demo: dict[str, Any]) -> requests.Response:
    return requests.get(f"{live_server}/t/demo/.well-known/openid-configuration", timeout=10)


@pytest.fixture(scope="module")
def meta(document: requests.Response) -> dict[str, Any]:
    return dict(document.json())


@pytest.fixture(scope="module")
def jwks(meta: dict[str, Any]) -> dict[str, Any]:
    response = requests.get(meta["jwks_uri"], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return dict(response.json())


def test_discovery_is_json_and_issuer_matches_the_url_it_was_fetched_from(
    document: requests.Response, meta: dict[str, Any], live_server: str
) -> None:
    assert document.status_code == 200
    assert document.headers["Content-Type"].startswith("application/json")
    # Discovery §4.3: the issuer is exactly the URL the document was fetched under, minus the well-known suffix.
    assert meta["issuer"] == f"{live_server}/t/demo"
    assert not meta["issuer"].endswith("/")
    assert "?" not in meta["issuer"] and "#" not in meta["issuer"]


@pytest.mark.parametrize("name", REQUIRED + RECOMMENDED)
def test_required_and_recommended_fields_are_present(meta: dict[str, Any], name: str) -> None:
    assert name in meta, f"{name} missing from discovery"
    assert meta[name] not in (None, "", [])


def test_endpoints_live_under_the_issuer(meta: dict[str, Any]) -> None:
    for name, suffix in ENDPOINTS.items():
        assert meta[name] == meta["issuer"] + suffix, name


def test_advertised_capabilities_match_the_product(meta: dict[str, Any]) -> None:
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    # The default for request_uri_parameter_supported is *true*, so it must be present and false.
    assert meta["request_uri_parameter_supported"] is False
    assert meta.get("request_parameter_supported", False) is False
    assert meta.get("claims_parameter_supported", False) is False
    assert meta["subject_types_supported"] == ["public"]
    assert "RS256" in meta["id_token_signing_alg_values_supported"]  # Discovery §3: MUST be included
    assert "none" not in meta["id_token_signing_alg_values_supported"]
    assert "openid" in meta["scopes_supported"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert "implicit" not in meta["grant_types_supported"]
    assert meta.get("response_modes_supported", ["query"]) == ["query"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    # Discovery §3: "none" MUST NOT be used in token_endpoint_auth_signing_alg_values_supported.
    assert meta["token_endpoint_auth_signing_alg_values_supported"]
    assert "none" not in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert not any(a.startswith("HS") for a in meta["token_endpoint_auth_signing_alg_values_supported"])
    assert "none" not in meta.get("introspection_endpoint_auth_methods_supported", [])
    assert meta["authorization_response_iss_parameter_supported"] is True
    for claim in ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "email"):
        assert claim in meta["claims_supported"], claim
    assert set(meta.get("prompt_values_supported", [])) >= {"none", "login", "consent"}
    assert "de" in meta.get("ui_locales_supported", [])


def test_discovery_is_cacheable_and_cors_readable(document: requests.Response) -> None:
    assert "no-store" not in document.headers.get("Cache-Control", "")
    assert document.headers.get("Access-Control-Allow-Origin") == "*"


def test_advertised_endpoints_exist(meta: dict[str, Any]) -> None:
    # A protocol error (never 404) from every endpoint proves the advertised URL is routed.
    assert requests.post(meta["token_endpoint"], data={}, timeout=10).status_code in (400, 401)
    assert requests.get(meta["userinfo_endpoint"], timeout=10).status_code == 401
    assert requests.post(meta["revocation_endpoint"], data={}, timeout=10).status_code in (400, 401)
    assert requests.post(meta["introspection_endpoint"], data={}, timeout=10).status_code in (400, 401)
    assert requests.get(meta["authorization_endpoint"], timeout=10, allow_redirects=False).status_code == 400
    assert requests.get(meta["end_session_endpoint"], timeout=10, allow_redirects=False).status_code == 200


def test_jwks_has_an_rs256_and_an_es256_signing_key(jwks: dict[str, Any]) -> None:
    keys = jwks["keys"]
    algs = {k["alg"] for k in keys}
    assert {"RS256", "ES256"} <= algs
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids)), "kids must be unique"
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        if key["alg"] == "RS256":
            assert key["kty"] == "RSA" and key["e"] and len(key["n"]) >= 342  # >= 2048-bit modulus
        elif key["alg"] == "ES256":
            assert key["kty"] == "EC" and key["crv"] == "P-256" and key["x"] and key["y"]


def test_jwks_carries_no_private_key_material(jwks: dict[str, Any]) -> None:
    for key in jwks["keys"]:
        assert not PRIVATE_MEMBERS & key.keys(), key["kid"]


def test_jwks_keys_import_into_an_independent_library(jwks: dict[str, Any]) -> None:
    from authlib.jose import JsonWebKey

    key_set = JsonWebKey.import_key_set(jwks)
    for key in jwks["keys"]:
        imported = key_set.find_by_kid(key["kid"])
        assert imported.as_dict(is_private=False)["kty"] == key["kty"]
        assert not imported.as_dict(is_private=False).keys() & PRIVATE_MEMBERS


def test_discovery_helper_sees_the_same_document(op: Provider, meta: dict[str, Any]) -> None:
    assert op.metadata == meta


@pytest.mark.parametrize("path", [".well-known/openid-configuration", ".well-known/jwks.json"])
@pytest.mark.parametrize("tenant", ["no-such-tenant", "Demo", "a" * 70])
def test_unknown_tenant_is_a_404_json_error(live_server: str, demo: dict[str, Any], tenant: str, path: str) -> None:
    response = requests.get(f"{live_server}/t/{tenant}/{path}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert "issuer" not in body and "keys" not in body
