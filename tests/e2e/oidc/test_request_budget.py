"""DynamoDB requests per step of a password sign-in, counted over real HTTP (the live server runs in this process,
so a hook on botocore's ``Endpoint.make_request`` sees every call it makes; only calls on the server's request
threads count, not those of workflows that earlier tests left running).

The product budget is at most 5 requests for login + code exchange: the login POST reads twice (the login record
with both throttle counters; then the user with their risk history) and writes once (session, code, sign-in event
and the updated risk history in one transaction); the exchange consumes the code and creates the grant.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EClient, E2EUser, Page, Provider, pkce_pair, query_params

pytestmark = pytest.mark.stack

LOGIN_AND_EXCHANGE_BUDGET = 5
REQUEST_THREAD = "(process_request_thread)"  # how socketserver's ThreadingMixIn names a request's thread


class RequestCounter:
    """DynamoDB operations made while serving HTTP requests (botocore's funnel, once per API call)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @contextlib.contextmanager
    def installed(self) -> Iterator[RequestCounter]:
        from botocore.endpoint import Endpoint

        make_request = Endpoint.make_request
        calls = self.calls

        def counted(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            service = operation_model.service_model.endpoint_prefix
            if service == "dynamodb" and threading.current_thread().name.endswith(REQUEST_THREAD):
                calls[operation_model.name] += 1
            return make_request(endpoint, operation_model, request_dict)

        Endpoint.make_request = counted  # type: ignore[method-assign]
        try:
            yield self
        finally:
            Endpoint.make_request = make_request  # type: ignore[method-assign]

    @contextlib.contextmanager
    def window(self) -> Iterator[Counter[str]]:
        before = Counter(self.calls)
        delta: Counter[str] = Counter()
        yield delta
        delta.update(self.calls - before)


@pytest.fixture
def cold_caches() -> None:
    """Empty this process's tenant, client and key caches, so the warm-up below loads every entry afresh: an entry
    lives a fixed time from its load (an earlier test's), and one expiring during the counted sign-in adds a read."""
    from chalicelib.services.cache import clear_every_cache

    clear_every_cache()


def _params(callback: str) -> dict[str, str]:
    return {
        "client_id": "demo-web",
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
    }


def _sign_in_counted(
    op: Provider, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> tuple[dict[str, Counter[str]], dict[str, Any]]:
    """authorize GET -> login POST -> token POST with a fresh browser; DynamoDB operations per step, and tokens."""
    steps: dict[str, Counter[str]] = {}
    with RequestCounter().installed() as counter, requests.Session() as browser:
        with counter.window() as steps["authorize"]:
            page = op.authorize(browser, _params(callback))
        assert page.status_code == 200 and Page.parse(page).has_form("/login"), page.text[:300]
        with counter.window() as steps["login"]:
            response = op.login(browser, page, user.email, user.password)
        assert response.status_code == 303, response.text[:300]
        code = query_params(response.headers["Location"])["code"]
        with counter.window() as steps["exchange"]:
            exchanged = op.token(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": callback}, auth=web_auth
            )
        assert exchanged.status_code == 200, exchanged.text
    return steps, exchanged.json()


@pytest.mark.usefixtures("cold_caches")
def test_login_and_code_exchange_stay_within_five_requests(
    op: Provider, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    _sign_in_counted(op, callback, web_auth, user)  # warm: tenant, client and key caches of this process
    steps, tokens = _sign_in_counted(op, callback, web_auth, user)
    total = sum(sum(ops.values()) for ops in steps.values())
    assert total <= LOGIN_AND_EXCHANGE_BUDGET, steps
    assert steps["authorize"] == Counter(), steps
    # Two reads and one transaction: no separate read or write of the risk history.
    assert steps["login"] == Counter({"BatchGetItem": 2, "TransactWriteItems": 1}), steps
    assert tokens["id_token"] and tokens["access_token"]


def test_every_sign_in_updates_the_risk_history_in_its_transaction(
    op: Provider, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    from chalicelib.core.ids import TenantId, UserId
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    history = DynamoRiskRepository()
    before = history.get_profile(TenantId("demo"), UserId(user.user_id)).sign_ins
    for _ in range(2):
        _sign_in_counted(op, callback, web_auth, user)
    after = history.get_profile(TenantId("demo"), UserId(user.user_id))
    assert after.sign_ins == before + 2
    assert after.devices, "the browser's device is remembered"


@pytest.mark.usefixtures("cold_caches")
def test_a_native_password_sign_in_and_its_code_exchange_stay_within_five_requests(
    op: Provider, make_client: Callable[..., E2EClient], user: E2EUser
) -> None:
    """The native API's password step assesses and completes the sign-in in one request: the history it read with
    the user is written in the code's transaction, not read again."""
    app_redirect = "com.example.budget:/callback"
    client = make_client("public", redirect_uris=[app_redirect])
    flows_url = f"{op.issuer}/authn/flows"

    def sign_in() -> dict[str, Counter[str]]:
        verifier, challenge = pkce_pair()
        steps: dict[str, Counter[str]] = {}
        with RequestCounter().installed() as counter:
            with counter.window() as steps["start"]:
                started = requests.post(
                    flows_url,
                    json={
                        "client_id": client.client_id,
                        "redirect_uri": app_redirect,
                        "scope": "openid email",
                        "code_challenge": challenge,
                        "code_challenge_method": "S256",
                    },
                    timeout=15,
                )
            assert started.status_code == 200, started.text
            with counter.window() as steps["password"]:
                complete = requests.post(
                    f"{flows_url}/password",
                    json={"flow_token": started.json()["flow_token"], "email": user.email, "password": user.password},
                    timeout=15,
                )
            assert complete.status_code == 200 and complete.json()["status"] == "complete", complete.text
            form = {
                "grant_type": "authorization_code",
                "code": complete.json()["authorization_code"],
                "redirect_uri": app_redirect,
                "client_id": client.client_id,
                "code_verifier": verifier,
            }
            with counter.window() as steps["exchange"]:
                exchanged = op.token(form)
            assert exchanged.status_code == 200, exchanged.text
        return steps

    sign_in()  # warm: the new client in this process's cache
    steps = sign_in()
    assert sum(sum(ops.values()) for ops in steps.values()) <= LOGIN_AND_EXCHANGE_BUDGET, steps
    assert steps["password"] == Counter({"BatchGetItem": 2, "TransactWriteItems": 1}), steps
