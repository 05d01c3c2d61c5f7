"""Browser-based public clients (SPAs) can call the token, userinfo, revocation, discovery and JWKS endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import requests

ENDPOINTS = ["token", "userinfo", "revoke", ".well-known/openid-configuration", ".well-known/jwks.json"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_preflight_allows_any_origin_without_credentials(live_server: str, demo: dict[str, Any], path: str) -> None:
    response = requests.options(
        f"{live_server}/t/demo/{path}",
        headers={
            "Origin": "https://spa.example",
            "Access-Control-Request-Method": "POST" if path in ("token", "revoke") else "GET",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_token_errors_carry_cors_headers(live_server: str, demo: dict[str, Any]) -> None:
    response = requests.post(
        f"{live_server}/t/demo/token",
        data={"grant_type": "authorization_code"},
        headers={"Origin": "https://spa.example"},
        timeout=10,
    )
    assert response.status_code in (400, 401)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"


def test_hosted_pages_are_not_cross_origin(live_server: str, demo: dict[str, Any]) -> None:
    response = requests.get(f"{live_server}/t/demo/authorize", headers={"Origin": "https://spa.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in response.headers
