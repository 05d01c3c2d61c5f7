"""The account portal driven over plain HTTP like a browser without JavaScript: sign in through the tenant's login
form, post portal forms with the CSRF token, follow redirects one at a time (stopping where a test wants to look),
and fill an upstream Gatehouse tenant's login form on the way (federation test bed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from tests.support.oidc_client import Page

TIMEOUT = 30
CSRF_COOKIE = "gh_csrf"


class PortalAgent:
    def __init__(self, base_url: str, tenant: str) -> None:
        self.base = base_url
        self.tenant = tenant
        self.issuer = f"{base_url}/t/{tenant}"
        self.session = requests.Session()
        self.trail: list[str] = []

    def get(self, url: str) -> requests.Response:
        self.trail.append(url)
        return self.session.get(url, allow_redirects=False, timeout=TIMEOUT)

    def follow(
        self, response: requests.Response, *, stop: Callable[[str], bool] | None = None, max_hops: int = 20
    ) -> requests.Response:
        """Follow redirects (and the provisioning interstitial's refresh) until ``stop(next_url)`` or a page."""
        for _ in range(max_hops):
            if response.status_code == 202 and "refresh" in response.text:
                response = self.get(response.url)
                continue
            if response.status_code not in (302, 303):
                return response
            location = urljoin(response.url, response.headers["Location"])
            if stop is not None and stop(location):
                return response
            response = self.get(location)
        raise AssertionError(f"too many redirects: {self.trail[-5:]}")

    def login_form(self, response: requests.Response, email: str, password: str) -> requests.Response:
        """Fill the hosted login page (``response``) of whichever tenant it belongs to."""
        page = Page.parse(response)
        form = page.form("/login")
        action = urljoin(response.url, form.action)
        return self.session.post(
            action, data={**form.fields, "email": email, "password": password}, allow_redirects=False, timeout=TIMEOUT
        )

    def sign_in(self, email: str, password: str, path: str = "") -> requests.Response:
        """Open the portal and sign in with a password; the portal page it lands on (200)."""
        response = self.follow(self.get(f"{self.issuer}/account{path}"))
        assert response.status_code == 200 and Page.parse(response).has_form("/login"), response.text[:300]
        landed = self.follow(self.login_form(response, email, password))
        assert landed.status_code == 200 and urlsplit(landed.url).path.startswith(f"/t/{self.tenant}/account"), (
            landed.status_code,
            landed.url,
            landed.text[:300],
        )
        return landed

    def cookie(self, name: str) -> str:
        return next((str(c.value) for c in self.session.cookies if c.name == name), "")

    @property
    def csrf(self) -> str:
        return self.cookie(CSRF_COOKIE)

    def post(self, path: str, data: dict[str, Any]) -> requests.Response:
        url = f"{self.issuer}/account{path}"
        self.trail.append(url)
        return self.session.post(url, data={"csrf": self.csrf, **data}, allow_redirects=False, timeout=TIMEOUT)

    def forget_portal_session(self) -> list[Any]:
        """Drop the portal's session cookie (the SSO session stays); the cookies removed, for ``restore``."""
        removed = [c for c in self.session.cookies if c.name == "gh_account"]
        for cookie in removed:
            self.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
        return removed

    def restore(self, cookies: list[Any]) -> None:
        for cookie in cookies:
            self.session.cookies.set_cookie(cookie)
