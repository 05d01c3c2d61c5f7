"""Fixtures of the adaptive-authentication end-to-end tests: a fresh tenant per test (IP-based rules and blocks
must never leak into the shared demo tenant; each test's requests come from its own loopback address, the
``client_address`` fixture), with a
web client, a user, an admin token and a browser that sends CloudFront viewer headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EUser, Page, Provider, query_params
from tests.support.tenants import new_tenant, new_user, new_web_client

BERLIN = {
    "CloudFront-Viewer-Latitude": "52.52",
    "CloudFront-Viewer-Longitude": "13.40",
    "CloudFront-Viewer-Country": "DE",
}
SYDNEY = {
    "CloudFront-Viewer-Latitude": "-33.87",
    "CloudFront-Viewer-Longitude": "151.21",
    "CloudFront-Viewer-Country": "AU",
}


@dataclass
class RiskTenant:
    slug: str
    op: Provider
    client_id: str
    secret: str
    redirect_uri: str
    user: E2EUser
    admin_secret: str
    base: str

    @property
    def admin_token(self) -> str:
        """A fresh admin token (tests move the server clock past a token's lifetime)."""
        response = requests.post(
            f"{self.base}/t/{self.slug}/token",
            data={"grant_type": "client_credentials", "scope": "admin"},
            auth=("risk-admin", self.admin_secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def new_user(self) -> E2EUser:
        return new_user(self.slug)

    def set_risk(self, risk: dict[str, Any]) -> None:
        """Replace the tenant root's risk settings (as an operator would), effective at once."""
        from dataclasses import replace

        from chalicelib import container
        from chalicelib.core.ids import TenantId
        from chalicelib.core.settings import validate_settings

        root = container.tenants().tree(TenantId(self.slug)).root
        container._tenant_repository().update_node(replace(root, settings=validate_settings({"risk": risk})))
        container.tenants()._trees.invalidate(self.slug)

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid offline_access",
            "state": "s",
            **extra,
        }

    def login(
        self, browser: requests.Session, user: E2EUser | None = None, password: str | None = None
    ) -> requests.Response:
        """Open the authorization endpoint and post the credentials; the login response (not followed)."""
        user = user or self.user
        page = self.op.authorize(browser, self.params())
        return self.op.login(browser, page, user.email, password or user.password)

    def code_of(self, response: requests.Response) -> str:
        assert response.status_code == 303, f"{response.status_code}: {error_text(response)}"
        return query_params(response.headers["Location"])["code"]

    def tokens(self, code: str) -> dict[str, Any]:
        response = self.op.token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri},
            auth=(self.client_id, self.secret),
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def audit(self, **query: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.base}/t/{self.slug}/admin/audit",
            params=query,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])


def error_text(response: requests.Response) -> str:
    if "text/html" in response.headers.get("Content-Type", ""):
        return Page.parse(response).text
    return response.text


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from tests.support.demo import seeded_demo

    return seeded_demo(live_server)


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def risk_tenant(live_server: str, demo: dict[str, Any]) -> Callable[..., RiskTenant]:
    def create(risk: dict[str, Any] | None = None) -> RiskTenant:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        slug = new_tenant("risk", {"risk": risk} if risk else {})
        scopes = ["openid", "email", "profile", "offline_access"]
        web = new_web_client(live_server, slug, name="Risk app", scopes=scopes, client_id="risk-web")
        admin, admin_secret = container.clients().create(
            TenantId(slug), name="Admin", client_type="service", scopes=["admin"], client_id="risk-admin"
        )
        assert admin_secret is not None and admin.client_id == "risk-admin"
        op, user = Provider(live_server, slug), new_user(slug)
        return RiskTenant(slug, op, web.client_id, web.client_secret, web.redirect_uri, user, admin_secret, live_server)

    return create
