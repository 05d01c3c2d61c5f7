"""Fixtures of the OpenID Connect end-to-end tests: the seeded demo tenant on the live server, and factories for
per-test clients and users (created in-process, exactly as an operator would with the CLI).

Everything the tests *check* goes over real HTTP to ``live_server``; only set-up (and moving the shared clock, the
server runs in this process) happens in-process.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EClient, E2EUser, Provider
from tests.support.tenants import new_user


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from tests.support.demo import seeded_demo

    return seeded_demo(live_server)


@pytest.fixture(scope="session")
def op(demo: dict[str, Any], live_server: str) -> Provider:
    return Provider(live_server, "demo")


@pytest.fixture(scope="session")
def web_auth(demo: dict[str, Any]) -> tuple[str, str]:
    return (demo["web_client_id"], demo["web_client_secret"])


@pytest.fixture(scope="session")
def callback(live_server: str) -> str:
    return f"{live_server}/_local/callback"


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    """A cookie-keeping user agent that does not follow redirects by itself."""
    with requests.Session() as session:
        yield session


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def make_user(demo: dict[str, Any]) -> Callable[..., E2EUser]:
    def create(tenant: str = "demo", *, verified: bool = True, **profile: Any) -> E2EUser:
        return new_user(tenant, verified=verified, **profile)

    return create


@pytest.fixture(scope="session")
def make_client(demo: dict[str, Any], callback: str) -> Callable[..., E2EClient]:
    def create(
        client_type: str = "confidential",
        *,
        tenant: str = "demo",
        first_party: bool = True,
        redirect_uris: list[str] | None = None,
        **options: Any,
    ) -> E2EClient:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        uris = redirect_uris if redirect_uris is not None else ([] if client_type == "service" else [callback])
        client, secret = container.clients().create(
            TenantId(tenant),
            name=options.pop("name", unique(f"e2e {client_type}")),
            client_type=client_type,  # type: ignore[arg-type]
            redirect_uris=uris,
            post_logout_redirect_uris=options.pop("post_logout_redirect_uris", uris),
            first_party=first_party,
            client_id=options.pop("client_id", unique("e2e")),
            **options,
        )
        return E2EClient(str(client.client_id), secret, uris[0] if uris else "", client_type)

    return create


@pytest.fixture
def user(make_user: Callable[..., E2EUser]) -> E2EUser:
    return make_user(name="Test Person", given_name="Test", family_name="Person")
