"""The email verification workflow on the local Step Functions engine: expiry with a reminder and clean-up, task
retry, SES and Step Functions outages (nothing half-created, a retry succeeds), and concurrent registrations."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.registration.conftest import (
    Site,
    click,
    mails_to,
    strong_password,
    token_link,
    unique_email,
    wait_for_mail,
    wait_until,
)
from tests.support.oidc_client import Page

Outbox = Callable[[], list[dict[str, Any]]]


def _user(site: Site, email: str) -> Any:
    from chalicelib import container
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    try:
        return container.accounts().find_by_email(TenantId(site.slug), email)
    except NotFound:
        return None


def _execution(site: Site, user_id: str) -> dict[str, Any]:
    """The workflow execution of a registration, found by its deterministic name."""
    import os

    import boto3

    from chalicelib.services.links import verification_id_for

    name = f"{site.slug[:40]}-{verification_id_for('registration', user_id)}"
    machine = os.environ["GATEHOUSE_STATE_MACHINE_ARN_PREFIX"] + "email-verification"
    arn = machine.replace(":stateMachine:", ":execution:") + ":" + name
    sfn = boto3.client("stepfunctions")
    description = dict(sfn.describe_execution(executionArn=arn))
    description["events"] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return description


@pytest.fixture
def failing_mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fault in the SES adapter: the next ``failures`` sends to ``to`` raise (as SES being unreachable would).

    Scoped to one recipient: executions of other tests keep running (and mailing) in the background."""
    from chalicelib.core.errors import DependencyUnavailable
    from chalicelib.outbound.ses import SesEmailSender

    state: dict[str, Any] = {"to": None, "failures": 0, "failed": 0}
    original = SesEmailSender.send
    lock = threading.Lock()

    def send(self: SesEmailSender, **kwargs: Any) -> None:
        with lock:
            fail = kwargs.get("to") == state["to"] and state["failures"] > 0
            if fail:
                state["failures"] -= 1
                state["failed"] += 1
        if fail:
            raise DependencyUnavailable(detail="injected SES fault")
        original(self, **kwargs)

    monkeypatch.setattr(SesEmailSender, "send", send)
    yield state


def test_unverified_registration_gets_one_reminder_then_is_deleted_and_the_email_freed(
    make_site: Callable[..., Site], outbox: Outbox
) -> None:
    site = make_site(registration={"verification_seconds": 2, "reminder_seconds": 2})
    email = unique_email()
    assert site.api("register", {"email": email, "password": strong_password()}).status_code == 202
    first = wait_for_mail(outbox, email, "Verify your email")[0]
    user = _user(site, email)
    assert user is not None and user.status == "pending"

    reminder = wait_for_mail(outbox, email, "Reminder: verify")[0]
    assert token_link(reminder) != token_link(first)
    wait_until(lambda: _user(site, email) is None, what="the pending account to be deleted")
    # The account is gone inside the last task; the execution succeeds a moment later.
    wait_until(lambda: _execution(site, user.user_id)["status"] != "RUNNING", what="the workflow to finish")
    execution = _execution(site, user.user_id)
    assert execution["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in execution["events"] if "stateEnteredEventDetails" in e]
    assert entered == ["SendVerificationEmail", "SendVerificationReminder", "DeletePendingAccount", "Expired"]
    # Ids and durations only in the execution input: no email, link or token.
    payload = json.loads(execution["input"])
    assert set(payload) == {"tenant_id", "user_id", "verification_id", "kind", "wait_seconds", "reminder_seconds"}
    assert email not in execution["input"]

    with requests.Session() as browser:
        expired = browser.get(token_link(reminder))
        assert expired.status_code == 400
    assert site.api("register", {"email": email, "password": strong_password()}).status_code == 202
    assert len(wait_for_mail(outbox, email, "Verify your email", count=2)) == 2


def test_a_failing_send_task_is_retried_by_the_workflow(
    site: Site, outbox: Outbox, failing_mail: dict[str, Any]
) -> None:
    email = unique_email()
    failing_mail.update(to=email, failures=1)
    response = site.api("register", {"email": email, "password": strong_password()})
    assert response.status_code == 202, response.text
    assert failing_mail["failed"] == 1
    link = token_link(wait_for_mail(outbox, email, "Verify your email")[0])
    user = _user(site, email)
    history = _execution(site, user.user_id)["events"]
    failures = [e for e in history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    assert failures and "DependencyUnavailable" in json.dumps(failures[0], default=str)

    with requests.Session() as browser:
        assert Page.parse(click(browser, site, link)).h1 == "You're all set"
    wait_until(lambda: _execution(site, user.user_id)["status"] == "SUCCEEDED", what="the workflow to finish")


def test_an_ses_outage_gives_a_retry_message_and_leaves_nothing_behind(
    site: Site, outbox: Outbox, failing_mail: dict[str, Any]
) -> None:
    email, password = unique_email(), strong_password()
    failing_mail.update(to=email, failures=3)  # the first attempt and both retries of the workflow's send task
    response = site.api("register", {"email": email, "password": password})
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert "try again" in response.json()["error_description"]
    assert response.headers["Retry-After"]
    assert _user(site, email) is None, "the pending account was removed"
    assert mails_to(outbox, email) == []

    retried = site.api("register", {"email": email, "password": password})
    assert retried.status_code == 202, retried.text
    wait_for_mail(outbox, email, "Verify your email")


def test_a_step_functions_outage_on_the_hosted_page_leaves_nothing_behind(
    site: Site, browser: requests.Session, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.errors import DependencyUnavailable
    from chalicelib.outbound.stepfunctions import StepFunctionsEngine

    def unavailable(self: StepFunctionsEngine, *args: Any, **kwargs: Any) -> None:
        raise DependencyUnavailable(detail="injected Step Functions fault")

    form = Page.parse(browser.get(site.url("register")))
    email, password = unique_email(), strong_password()
    with monkeypatch.context() as patch:
        patch.setattr(StepFunctionsEngine, "start", unavailable)
        failed = site.provider().submit(browser, form, "/register", {"email": email, "password": password})
    assert failed.status_code == 503
    page = Page.parse(failed)
    assert "Nothing was saved; please try again" in page.text
    assert page.form("/register").fields["email"] == email, "the form keeps what was typed"
    assert _user(site, email) is None

    retried = site.provider().submit(browser, page, "/register", {"email": email, "password": password})
    assert retried.status_code == 200 and "Check your inbox" in Page.parse(retried).text
    wait_for_mail(outbox, email, "Verify your email")


def _users_of(site: Site) -> list[Any]:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage import keys
    from chalicelib.storage.models import MainItem, UserItem

    return [i for i in MainItem.gsi1.query(keys.users_index(TenantId(site.slug))) if isinstance(i, UserItem)]


def test_twenty_concurrent_registrations_of_one_email_create_one_account(site: Site, outbox: Outbox) -> None:
    email = unique_email("race")
    barrier = threading.Barrier(20)

    def register(i: int) -> requests.Response:
        barrier.wait()
        for attempt in range(20):
            try:
                return site.api("register", {"email": email, "password": strong_password()})
            except requests.ConnectionError:
                # A refused connection never reached the app (the local server's listen backlog is 128, but a
                # loaded machine may still refuse one); registering again is what a client would do.
                time.sleep(min(0.05 * (attempt + 1), 0.5))
        raise AssertionError("the server did not accept the connection")

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(register, range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.text for r in responses}) == 1, "every caller gets the same answer"
    users = _users_of(site)
    assert len(users) == 1 and users[0].email == email
    assert len(wait_for_mail(outbox, email, "Verify your email")) == 1
    time.sleep(0.5)
    assert len(mails_to(outbox, email)) == 1, "the other 19 requests sent nothing"
