"""Fixtures of the audit-trail end-to-end tests: a fresh tenant per test with a first-party web client, a
third-party client that asks for consent, one active user and the tenant administrator's view of its trail."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.audit_trail import AuditTrail
from tests.support.oidc_client import E2EUser, Page, query_params
from tests.support.tenants import HostedTenant, new_tenant, new_user, new_web_client

TIMEOUT = 15


@dataclass
class Shop(HostedTenant):
    base: str
    slug: str
    client_id: str
    secret: str
    partner_id: str
    partner_secret: str
    redirect_uri: str
    user: E2EUser
    trail: AuditTrail
    client_address: str  # the address this test's requests come from (tests/e2e/conftest.py)

    def params(self, client_id: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "client_id": client_id or self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid email offline_access",
            "state": secrets.token_urlsafe(8),
            **extra,
        }

    def new_user(self) -> E2EUser:
        return new_user(self.slug)

    def exchange(self, response: requests.Response) -> dict[str, Any]:
        assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:500]}"
        code = query_params(response.headers["Location"])["code"]
        tokens = self.provider().token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri},
            auth=(self.client_id, self.secret),
        )
        assert tokens.status_code == 200, tokens.text
        return dict(tokens.json())

    def api(self, path: str, body: dict[str, Any], token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url(path), json=body, headers=headers, timeout=TIMEOUT)

    def account(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, self.url(f"account{path}"), headers=headers, timeout=TIMEOUT, **kwargs)


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from tests.support.demo import seeded_demo

    return seeded_demo(live_server)


@pytest.fixture
def make_shop(live_server: str, demo: dict[str, Any], client_address: str) -> Callable[..., Shop]:
    def create(**settings: Any) -> Shop:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        slug = new_tenant("audit", dict(settings), name="Shop")
        scopes = ["openid", "email", "profile", "offline_access"]
        web = new_web_client(live_server, slug, scopes=scopes)
        partner, partner_secret = container.clients().create(
            TenantId(slug), name="Partner", client_type="confidential", redirect_uris=[web.redirect_uri], scopes=scopes
        )
        assert partner_secret is not None
        trail = AuditTrail.for_tenant(live_server, slug)
        return Shop(
            live_server,
            slug,
            web.client_id,
            web.client_secret,
            partner.client_id,
            partner_secret,
            web.redirect_uri,
            new_user(slug),
            trail,
            client_address,
        )

    return create


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()


def login(shop: Shop, browser: requests.Session, user: E2EUser, *, client_id: str | None = None) -> requests.Response:
    provider = shop.provider()
    page = provider.authorize(browser, shop.params(client_id))
    assert page.status_code == 200, page.text[:300]
    return provider.login(browser, page, user.email, user.password)


def page_of(response: requests.Response) -> Page:
    return Page.parse(response)
