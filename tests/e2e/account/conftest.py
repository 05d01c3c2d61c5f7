"""Fixtures of the account portal and API tests: the OIDC fixtures (demo tenant, per-test users and clients), a
per-module tenant with short privacy timers, and helpers that sign a user in and get tokens over HTTP."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.oidc.conftest import (  # noqa: F401 - fixtures shared with the OIDC suite
    browser,
    callback,
    demo,
    make_client,
    make_user,
    op,
    user,
    web_auth,
)
from tests.support.oidc_client import E2EClient, E2EUser, Provider, pkce_pair

TIMEOUT = 30


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    browser: requests.Session


def sign_in_tokens(
    provider: Provider,
    client: E2EClient,
    person: E2EUser,
    *,
    scope: str = "openid profile email offline_access",
    consent: str | None = None,
    headers: dict[str, str] | None = None,
) -> Tokens:
    """A fresh browser signs in (password), the client exchanges the code: access and refresh token."""
    session = requests.Session()
    session.headers.update(headers or {})
    verifier, challenge = pkce_pair()
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    result = provider.sign_in(session, params, person.email, person.password, consent=consent)
    data = {
        "grant_type": "authorization_code",
        "code": result["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    if client.secret is None:
        data["client_id"] = client.client_id
    response = provider.token(data, auth=client.basic if client.secret else None)
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(body["access_token"], body.get("refresh_token", ""), session)


def refresh(provider: Provider, client: E2EClient, refresh_token: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if client.secret is None:
        data["client_id"] = client.client_id
    return provider.token(data, auth=client.basic if client.secret else None)


class AccountApi:
    """The account API over HTTP with one bearer token."""

    def __init__(self, provider: Provider, token: str) -> None:
        self.base = f"{provider.issuer}/account"
        self.token = token

    def call(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.base}{path}", headers=headers, allow_redirects=False, timeout=TIMEOUT, **kwargs
        )


@pytest.fixture(scope="session")
def first_party(make_client: Callable[..., E2EClient]) -> E2EClient:  # noqa: F811
    return make_client("confidential", first_party=True)


@pytest.fixture(scope="session")
def third_party(make_client: Callable[..., E2EClient]) -> E2EClient:  # noqa: F811
    return make_client("confidential", first_party=False, name="Partner app")


@pytest.fixture(scope="session")
def privacy_tenant(live_server: str) -> dict[str, Any]:
    """A tenant whose deletion grace period is 3 seconds (the workflow's Wait really sleeps locally)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"acct{uuid.uuid4().hex[:8]}"
    container.tenants().create_customer(slug, "Privacy Test", {"privacy": {"deletion_grace_seconds": 3}})
    tenant_id = TenantId(slug)
    container.signing_keys().ensure_keys(tenant_id)
    uri = f"{live_server}/_local/callback"
    _, secret = container.clients().create(
        tenant_id,
        name="Privacy web",
        client_type="confidential",
        client_id="web",
        redirect_uris=[uri],
        first_party=True,
    )
    _, partner_secret = container.clients().create(
        tenant_id, name="Privacy partner", client_type="confidential", client_id="partner", redirect_uris=[uri]
    )
    return {
        "tenant": slug,
        "provider": Provider(live_server, slug),
        "client": E2EClient("web", secret, uri, "confidential"),
        "partner": E2EClient("partner", partner_secret, uri, "confidential"),
    }


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
