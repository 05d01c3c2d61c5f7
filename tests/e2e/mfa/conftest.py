"""Fixtures of the MFA end-to-end tests: a fresh tenant per test with the MFA settings it needs, its web client and
a verified user; helpers that walk the hosted MFA pages like a browser without JavaScript.

Everything checked goes over real HTTP; set-up and moving the server's clock (it runs in this process) do not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.demo import totp as totp_now
from tests.support.oidc_client import Page, query_params, strip_query
from tests.support.server_time import clear_of_boundary
from tests.support.tenants import HostedTenant, new_tenant, new_user, new_web_client

TIMEOUT = 15
TOTP_STEP_SECONDS = 30  # RFC 6238 time step
TOTP_STEP_NEEDED = 25  # seconds of the step a test may use after enrolling


@dataclass(frozen=True)
class MfaSite(HostedTenant):
    base: str
    slug: str
    client_id: str
    client_secret: str
    redirect_uri: str
    email: str
    password: str
    user_id: str

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            **extra,
        }


@pytest.fixture(scope="session")
def make_mfa_site(live_server: str) -> Callable[..., MfaSite]:
    def create(**mfa: Any) -> MfaSite:
        slug = new_tenant("mfa", {"mfa": mfa} if mfa else {}, name="Shop")
        client, user = new_web_client(live_server, slug), new_user(slug)
        return MfaSite(
            live_server,
            slug,
            client.client_id,
            client.client_secret,
            client.redirect_uri,
            user.email,
            user.password,
            user.user_id,
        )

    return create


@pytest.fixture
def site(make_mfa_site: Callable[..., MfaSite]) -> MfaSite:
    return make_mfa_site()


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from tests.support.demo import seeded_demo

    return seeded_demo(live_server)


def post_form(
    browser: requests.Session,
    site: MfaSite,
    page: Page,
    suffix: str,
    values: dict[str, str],
    button: tuple[str, str] | None = None,
) -> requests.Response:
    return site.provider().submit(browser, page, suffix, values, button)


def password_step(browser: requests.Session, site: MfaSite, **extra: str) -> requests.Response:
    provider = site.provider()
    response = provider.authorize(browser, site.params(**extra))
    assert response.status_code == 200, response.text[:300]
    return provider.login(browser, response, site.email, site.password)


def enroll_totp(
    browser: requests.Session, site: MfaSite, clock: Any, page: Page | None = None
) -> tuple[str, list[str], requests.Response]:
    """Open the TOTP enrollment page (or use ``page``), confirm with a real code; (secret, recovery codes, last
    response: the recovery codes page's continue/done result is not followed)."""
    if page is None:
        opened = browser.get(site.url("mfa/enroll/totp"), timeout=TIMEOUT)
        assert opened.status_code == 200, opened.text[:500]
        page = Page.parse(opened)
    match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.html)
    assert match, page.html[:2000]
    secret = match.group(1).replace(" ", "")
    assert f"secret={secret}" in page.html
    assert "<svg" in page.html
    # Most of a TOTP step ahead: a code computed at 29.9 s and checked at 30.1 s would be the next step's, no replay.
    clear_of_boundary(clock, TOTP_STEP_SECONDS, TOTP_STEP_NEEDED)
    response = post_form(
        browser, site, page, "/mfa/enroll/totp", {"code": totp_now(secret, clock)}, button=("step", "confirm")
    )
    assert response.status_code == 200, response.text[:500]
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.text)
    return secret, codes, response


def signed_in_with_totp(site: MfaSite, clock: Any) -> tuple[str, list[str]]:
    """Sign in with the password only (no factor yet) and enroll TOTP; returns (secret, recovery codes)."""
    with requests.Session() as browser:
        callback(password_step(browser, site), site)
        secret, codes, _ = enroll_totp(browser, site, clock)
    return secret, codes


def callback(response: requests.Response, site: MfaSite) -> dict[str, str]:
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:800]}"
    location = response.headers["Location"]
    assert strip_query(location) == strip_query(site.redirect_uri), location
    return query_params(location)


def exchange(site: MfaSite, code: str) -> dict[str, Any]:
    response = site.provider().token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": site.redirect_uri},
        auth=(site.client_id, site.client_secret),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def outbox_code(outbox: Callable[[], list[dict[str, Any]]], to: str) -> str:
    messages = [m for m in outbox() if to in m["to"]]
    assert messages, f"no message to {to}"
    match = re.search(r"\b(\d{6})\b", messages[0]["text"])
    assert match, messages[0]
    return match.group(1)
