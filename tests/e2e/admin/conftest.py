"""Fixtures of the admin-API and SCIM end-to-end tests: the seeded demo tenant and a second tenant on the live
server, service clients created in-process, and their access tokens obtained over HTTP from the real token
endpoint (client_credentials)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

OTHER_TENANT = "other"


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import ROOT_NODE, TenantId
    from tests.support.demo import seeded_demo

    seeded = seeded_demo(live_server)
    # The SCIM suites (compliance checker, filters, pagination) create many users: the demo tenant trusts its
    # provisioners here; the default ("verify") is covered on its own tenant in test_scim_enterprise.py.
    root = container.tenants().tree("demo").root
    settings = {**root.settings, "provisioning": {"email_verification": "trust"}}
    container.tenants().update_node(TenantId("demo"), ROOT_NODE, settings=settings)
    return seeded


@pytest.fixture(scope="session")
def other_tenant(demo: dict[str, Any]) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    if not container.tenants().exists(OTHER_TENANT):
        container.tenants().create_customer(OTHER_TENANT)
    container.signing_keys().ensure_keys(TenantId(OTHER_TENANT))
    return OTHER_TENANT


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def service_token(live_server: str, demo: dict[str, Any]) -> Callable[..., str]:
    """``service_token(tenant, scopes)``: a new service client with those scopes, and a client_credentials token."""

    def issue(tenant: str = "demo", scopes: tuple[str, ...] = ("scim",)) -> str:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        client, secret = container.clients().create(
            TenantId(tenant),
            name=unique("scim client"),
            client_type="service",
            scopes=list(scopes),
            client_id=unique("svc"),
        )
        assert secret is not None
        response = requests.post(
            f"{live_server}/t/{tenant}/token",
            data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
            auth=(client.client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    return issue


class Scim:
    """A minimal SCIM HTTP client for one tenant and one token."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.token = token

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            headers.setdefault("Content-Type", "application/scim+json")
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any) -> requests.Response:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)


@pytest.fixture(scope="session")
def scim_for(live_server: str, service_token: Callable[..., str]) -> Callable[..., Scim]:
    def make(tenant: str = "demo", scopes: tuple[str, ...] = ("scim",)) -> Scim:
        return Scim(f"{live_server}/t/{tenant}/scim/v2", service_token(tenant, scopes))

    return make


@pytest.fixture(scope="session")
def scim(scim_for: Callable[..., Scim]) -> Scim:
    return scim_for("demo")
