"""Fixtures of the registration end-to-end tests: a fresh tenant per test (with the settings the test needs), a
cookie-keeping browser, and the local outbox, where every email the service sends through SES shows up.

Everything checked goes over real HTTP to ``live_server`` and through the real email verification workflow (moto's
Step Functions engine runs the Chalice task handlers in this process); only set-up happens in-process.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.oidc_client import Page, query_params
from tests.support.tenants import HostedTenant, new_tenant, new_web_client

TIMEOUT = 30
MAIL_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Site(HostedTenant):
    """A tenant with a first-party web client whose redirect URI is the local stand-in relying party."""

    base: str
    slug: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def authorize_params(self, **extra: str) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid email profile offline_access",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            **extra,
        }

    def api(self, path: str, body: dict[str, Any], token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url(f"authn/{path}"), json=body, headers=headers, timeout=TIMEOUT)


def unique_email(prefix: str = "new") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


def strong_password() -> str:
    return f"Glacier-{secrets.token_hex(3)}-orbit-lantern"


@pytest.fixture(scope="session")
def make_site(live_server: str) -> Callable[..., Site]:
    def create(**settings: dict[str, Any]) -> Site:
        slug = new_tenant("reg", dict(settings), name="Shop")
        client = new_web_client(live_server, slug)
        return Site(live_server, slug, client.client_id, client.client_secret, client.redirect_uri)

    return create


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def mails_to(outbox: Callable[[], list[dict[str, Any]]], address: str, subject: str = "") -> list[dict[str, Any]]:
    """Messages sent to ``address`` (subject containing ``subject``), oldest first."""
    found = [m for m in outbox() if address in m["to"] and subject in (m["subject"] or "")]
    return list(reversed(found))


def wait_for_mail(
    outbox: Callable[[], list[dict[str, Any]]], address: str, subject: str = "", count: int = 1
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        found = mails_to(outbox, address, subject)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"no {count} mail(s) {subject!r} to {address}: {found}"
        time.sleep(0.1)


def token_link(mail: dict[str, Any]) -> str:
    links = [link for link in mail["links"] if "token=" in link]
    assert len(links) == 1, mail["links"]
    return str(links[0])


def register_link(page: Page) -> str:
    match = re.search(r'href="([^"]*/register\?flow=[^"]+)"', page.html)
    assert match, "the login page links to the registration page"
    return match.group(1).replace("&amp;", "&")


def click(browser: requests.Session, site: Site, link: str, values: dict[str, str] | None = None) -> requests.Response:
    """Open an email link and submit the page's form (the confirmation button, or the password form)."""
    opened = browser.get(link, allow_redirects=False, timeout=TIMEOUT)
    assert opened.status_code == 200, opened.text[:500]
    page = Page.parse(opened)
    path = link.split("?", 1)[0].removeprefix(site.issuer)
    return site.provider().submit(browser, page, path, values or {})


def wait_until(condition: Callable[[], bool], seconds: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def callback_params(response: requests.Response, site: Site) -> dict[str, str]:
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:500]}"
    location = response.headers["Location"]
    assert location.startswith(site.redirect_uri), location
    return query_params(location)
