"""Brute-force throttling of the hosted login over HTTP: per-email lockout that grows, without user enumeration.

Each test's requests come from its own loopback address (the ``client_address`` fixture in tests/e2e/conftest.py),
so the per-IP counter one test fills never reaches another test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EUser, Page, Provider, query_params

pytestmark = pytest.mark.stack

LOCK_SECONDS = 300
WINDOW_SECONDS = 900


class LoginForm:
    """One browser on the hosted login page of demo-web, submitting credentials over and over."""

    def __init__(self, op: Provider, callback: str) -> None:
        self.op = op
        self.browser = requests.Session()
        self.page: requests.Response | Page = op.authorize(
            self.browser,
            {
                "client_id": "demo-web",
                "redirect_uri": callback,
                "response_type": "code",
                "scope": "openid",
                "state": "bf",
            },
        )

    def attempt(self, email: str, password: str) -> requests.Response:
        response = self.op.login(self.browser, self.page, email, password)
        if response.status_code != 303:
            self.page = Page.parse(response)
        return response


def error_text(response: requests.Response) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', response.text, re.S)
    assert match, f"no error summary on a {response.status_code} page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def assert_refused(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.status_code
    assert "Location" not in response.headers
    assert "gh_session" not in response.headers.get("Set-Cookie", "")
    assert Page.parse(response).has_form("/login")  # the user can try again later


def retry_after(response: requests.Response) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value
    return int(value)


def test_lockout_grows_and_never_reveals_whether_an_account_exists(
    op: Provider, callback: str, make_user: Callable[..., E2EUser], clock: Any
) -> None:
    victim = make_user()
    ghost = f"ghost-{uuid.uuid4().hex[:10]}@example.org"  # no account
    form = LoginForm(op, callback)

    # Five wrong passwords for an existing account (in any letter case: the counter is per address).
    victim_failures = []
    for i in range(5):
        email = victim.email if i % 2 == 0 else victim.email.upper()
        response = form.attempt(email, f"wrong password {i}")
        assert_refused(response, 401)
        victim_failures.append(error_text(response))
    assert len(set(victim_failures)) == 1 and "incorrect" in victim_failures[0]

    # Now even the right password is refused, with 429 and Retry-After.
    locked = form.attempt(victim.email, victim.password)
    assert_refused(locked, 429)
    assert 0 < retry_after(locked) <= LOCK_SECONDS
    assert "Too many" in error_text(locked)

    # An address without an account behaves exactly the same: same statuses, same messages, same lock.
    ghost_failures = []
    for i in range(5):
        response = form.attempt(ghost, f"wrong password {i}")
        assert_refused(response, 401)
        ghost_failures.append(error_text(response))
    assert ghost_failures == victim_failures
    ghost_locked = form.attempt(ghost, "any password at all")
    assert_refused(ghost_locked, 429)
    assert error_text(ghost_locked) == error_text(locked)
    assert 0 < retry_after(ghost_locked) <= LOCK_SECONDS
    assert Page.parse(ghost_locked).text.replace(ghost, "") == Page.parse(locked).text.replace(victim.email, "")

    # The lock is per address: other users are not affected.
    other = make_user()
    assert LoginForm(op, callback).attempt(other.email, other.password).status_code == 303

    # After the lock (and, for the shared per-IP counter, the whole window) has passed, five more failures
    # lock the address again, for twice as long.
    clock.advance(WINDOW_SECONDS + 1)
    for i in range(5):
        assert_refused(form.attempt(victim.email, f"still wrong {i}"), 401)
    relocked = form.attempt(victim.email, victim.password)
    assert_refused(relocked, 429)
    assert LOCK_SECONDS < retry_after(relocked) <= 2 * LOCK_SECONDS

    # Once that lock has passed too, the right password works again.
    clock.advance(2 * LOCK_SECONDS + 1)
    success = form.attempt(victim.email, victim.password)
    assert success.status_code == 303
    assert query_params(success.headers["Location"])["code"]


def test_email_is_case_insensitive_at_login(op: Provider, callback: str, user: E2EUser) -> None:
    response = LoginForm(op, callback).attempt(f"  {user.email.upper()} ", user.password)
    assert response.status_code == 303
    assert query_params(response.headers["Location"])["code"]


def test_unverified_account_with_a_wrong_password_looks_like_any_other(
    op: Provider, callback: str, make_user: Callable[..., E2EUser]
) -> None:
    pending = make_user(verified=False)
    form = LoginForm(op, callback)
    wrong = form.attempt(pending.email, "not the password")
    assert_refused(wrong, 401)
    assert "incorrect" in error_text(wrong)
