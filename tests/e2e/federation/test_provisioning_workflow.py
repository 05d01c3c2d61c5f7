"""The just-in-time provisioning workflow on the local Step Functions engine: ids-only execution input, the
interstitial, a failing task ending on an error page whose retry succeeds, and the tenant webhook (signed with
HMAC-SHA256, retried by the state machine with the same event id, verifiable by the receiver)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from jose import jwt

from tests.support.federation import Bed, Walker, code_of, make_bed, upstream_user
from tests.support.oidc_client import Page


@pytest.fixture
def bed(live_server: str) -> Bed:
    return make_bed(live_server)


def _execution(bed: Bed, login_id: str, attempt: str = "a") -> dict[str, Any]:
    import boto3

    machine = os.environ["GATEHOUSE_STATE_MACHINE_ARN_PREFIX"] + "jit-provisioning"
    arn = machine.replace(":stateMachine:", ":execution:") + f":{bed.tenant[:40]}-{login_id}-{attempt}"
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + 30
    while True:
        description = dict(sfn.describe_execution(executionArn=arn))
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    description["events"] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return description


def _login_id(walker: Walker) -> str:
    ids = {url.split("/federation/logins/")[1].split("?")[0] for url in walker.trail if "/federation/logins/" in url}
    assert len(ids) == 1, walker.trail
    return ids.pop()


def _entered(execution: dict[str, Any]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in execution["events"] if "stateEnteredEventDetails" in e]


def test_the_workflow_provisions_with_ids_only_input(bed: Bed) -> None:
    email, password = upstream_user(bed, given_name="Lin")
    walker = Walker(bed)
    response = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    claims = jwt.get_unverified_claims(bed.exchange(code_of(bed, response))["id_token"])
    execution = _execution(bed, _login_id(walker))
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["input"]) == {"tenant_id": bed.tenant, "login_id": _login_id(walker)}
    assert email not in execution["input"]
    assert _entered(execution) == [
        "ResolveFederatedAccount",
        "AccountResolved",
        "RecordFederatedIdentity",
        "NotifyProvisioningWebhook",
    ]
    from chalicelib import container

    events = container.audit().list(bed.tenant, action="federation.")[0]  # type: ignore[arg-type]
    assert [(e.action, e.target_id) for e in events] == [("federation.user.create", claims["sub"])]


def test_the_interstitial_works_without_javascript(bed: Bed) -> None:
    from chalicelib.services.federation import FederationService

    email, password = upstream_user(bed)
    walker = Walker(bed)
    original = FederationService.resolve

    def slow(self: FederationService, tenant_id: Any, login_id: str) -> str:
        time.sleep(1.5)
        return original(self, tenant_id, login_id)

    pytest.MonkeyPatch.setattr(monkeypatch := pytest.MonkeyPatch(), FederationService, "resolve", slow)
    try:
        first = walker.get(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params(idp="up")))
        back = walker.upstream_login(walker.follow(first), email, password)
        continue_page = walker.get(walker.get(back.headers["Location"]).headers["Location"])
        assert continue_page.status_code == 202
        page = Page.parse(continue_page)
        assert "Signing you in" in page.h1 and 'http-equiv="refresh"' in continue_page.text
        assert continue_page.headers["Retry-After"] == "1"
        done = walker.follow(continue_page)
    finally:
        monkeypatch.undo()
    assert code_of(bed, done)


def test_a_failing_task_ends_on_an_error_page_whose_retry_succeeds(bed: Bed, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services.federation import FederationService

    email, password = upstream_user(bed)

    def broken(self: FederationService, tenant_id: Any, login_id: str) -> dict[str, Any]:
        raise RuntimeError("injected task fault")

    monkeypatch.setattr(FederationService, "record", broken)
    walker = Walker(bed)
    failed = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    page = Page.parse(failed)
    assert failed.status_code == 400 and "Setting up your account failed" in page.text
    execution = _execution(bed, _login_id(walker))
    assert execution["status"] == "FAILED"
    assert _entered(execution)[-2:] == ["FailFederatedLogin", "ProvisioningFailed"]
    retry = next(a.replace("&amp;", "&") for a in failed.text.split('"') if "/authorize?" in a and "idp=up" in a)

    monkeypatch.undo()
    walker.trail.clear()
    again = walker.follow(walker.get(retry))  # the upstream session is still there: straight back
    assert code_of(bed, again)


class Receiver:
    """A webhook receiver on a free local port: answers the first ``failures`` deliveries with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.deliveries: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 500 if receiver.failures > 0 else 204
                receiver.failures -= 1
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/gatehouse"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(failures=1)
    yield receiver
    receiver.server.shutdown()


def test_the_webhook_is_signed_retried_and_verifiable(
    bed: Bed, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.cli import main

    assert main(["webhook", "set", "--tenant", bed.tenant, "--url", receiver.url]) == 0
    secret = json.loads(capsys.readouterr().out)["secret"]
    email, password = upstream_user(bed, given_name="Ada")
    response = Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)
    sub = jwt.get_unverified_claims(bed.exchange(code_of(bed, response))["id_token"])["sub"]
    deadline = time.monotonic() + 20
    while len(receiver.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [status for _, _, status in receiver.deliveries] == [500, 204]  # retried by the state machine
    (first_headers, first_body, _), (headers, body, _) = receiver.deliveries
    assert first_headers["gatehouse-event-id"] == headers["gatehouse-event-id"] and first_body == body

    parts = dict(item.split("=", 1) for item in headers["gatehouse-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 60
    forged = hmac.new(b"wrong secret", f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(parts["v1"], forged)

    event = json.loads(body)
    assert event["type"] == "user.provisioned" and event["tenant"] == bed.tenant and event["integration"] == "up"
    assert event["user"]["id"] == sub and event["user"]["email"] == email and event["linked_by"] == "created"
    assert event["user"]["profile"] == {"given_name": "Ada"}
    assert main(["webhook", "show", "--tenant", bed.tenant]) == 0
    shown = capsys.readouterr().out
    assert receiver.url in shown and secret not in shown
    assert main(["webhook", "set", "--tenant", bed.tenant, "--url", "ftp://example.com/x"]) == 1
