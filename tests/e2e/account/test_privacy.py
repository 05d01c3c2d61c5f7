"""Data export and account deletion over HTTP, through the real Step Functions workflows (moto running our
Lambda handlers): the export holds everything of its user and nothing of another; after deletion no item of
any table holds the user's id, email or name, and only pseudonymized audit events remain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.account.conftest import AccountApi, refresh, sign_in_tokens, wait_for
from tests.support.oidc_client import E2EClient, E2EUser, Provider
from tests.support.tenants import new_user

pytestmark = pytest.mark.stack


def export_link(outbox: Callable[[], list[dict[str, Any]]], email: str) -> str:
    def find() -> str | None:
        for message in outbox():
            if email in message["to"] and "data export" in (message["subject"] or ""):
                return str(next(link for link in message["links"] if "/account/exports/" in link))
        return None

    return str(wait_for(find, timeout=60))


def scan_all_tables() -> list[dict[str, Any]]:
    """Every item of every table, as DynamoDB returns it (the test's own view, not the app's)."""
    import boto3

    from chalicelib.config import settings

    client = boto3.client("dynamodb", region_name=settings().region)
    items: list[dict[str, Any]] = []
    for table in (settings().main_table, settings().audit_table):
        for page in client.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
    return items


def test_data_export_contains_everything_of_the_user_and_nothing_of_others(
    op: Provider,
    first_party: E2EClient,
    third_party: E2EClient,
    make_user: Callable[..., E2EUser],
    outbox: Callable[[], list[dict[str, Any]]],
) -> None:
    user = make_user(given_name="Export", family_name="Owner")
    other = make_user(given_name="Someone", family_name="Else")
    with pytest.raises(AssertionError):
        sign_in_tokens(op, first_party, E2EUser(user.email, "wrong-password-2", user.user_id))
    sign_in_tokens(op, third_party, user, scope="openid email", consent="allow")
    sign_in_tokens(op, third_party, other, scope="openid email", consent="allow")
    other_tokens = sign_in_tokens(op, first_party, other)
    tokens = sign_in_tokens(op, first_party, user)
    api = AccountApi(op, tokens.access_token)

    requested = api.call("POST", "/exports")
    assert requested.status_code == 202, requested.text
    export_id = requested.json()["id"]
    again = api.call("POST", "/exports")
    assert again.status_code == 429 and again.headers["Retry-After"]
    link = export_link(outbox, user.email)
    assert urlsplit(link).path.endswith(f"/account/exports/{export_id}")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert wait_for(lambda: api.call("GET", "/exports").json()["exports"][0]["status"] == "ready")

    # Bound to the user: another user's token cannot use the link (and does not burn it).
    stolen = AccountApi(op, other_tokens.access_token).call("GET", f"/exports/{export_id}", params={"token": token})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_link"
    wrong = api.call("GET", f"/exports/{export_id}", params={"token": token[:-2] + "xx"})
    assert wrong.status_code == 400

    download = api.call("GET", f"/exports/{export_id}", params={"token": token})
    assert download.status_code == 200, download.text
    assert "attachment" in download.headers["Content-Disposition"]
    data = download.json()
    assert data["format"] == "gatehouse-personal-data-export/1"
    assert data["profile"]["sub"] == user.user_id and data["profile"]["email"] == user.email
    assert data["profile"]["attributes"]["given_name"] == "Export"
    assert data["identities"] == [{"type": "password", "identifier": user.email, "has_password": True}]
    assert [c["client_id"] for c in data["consents"]] == [third_party.client_id]
    assert data["consent_receipts"][0]["piiPrincipalId"] == user.user_id
    assert len(data["sessions"]) >= 2 and all(s["user_agent"] for s in data["sessions"])
    assert {g["client_id"] for g in data["grants"]} == {third_party.client_id, first_party.client_id}
    events = {e["event"] for e in data["activity"]}
    assert {"signin.success", "signin.failure", "account.export_requested"} <= events
    text = json.dumps(data)
    assert other.user_id not in text and other.email not in text and "Someone" not in text
    assert "password_hash" not in text and "$argon2" not in text

    # Single use.
    assert api.call("GET", f"/exports/{export_id}", params={"token": token}).status_code == 400


def test_deletion_needs_the_password_then_erases_every_trace(
    privacy_tenant: dict[str, Any], outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    provider: Provider = privacy_tenant["provider"]
    client, partner = privacy_tenant["client"], privacy_tenant["partner"]
    user = new_user(privacy_tenant["tenant"], name="Erased Person", given_name="Erasmus")
    bystander = new_user(privacy_tenant["tenant"], name="Still Here")
    with pytest.raises(AssertionError):
        sign_in_tokens(provider, client, E2EUser(user.email, "wrong-password-3", user.user_id))
    sign_in_tokens(provider, partner, user, scope="openid email", consent="allow")
    from tests.e2e.account.test_linked_identities import link

    upstream_subject = link(privacy_tenant["tenant"], user.user_id, "google")
    tokens = sign_in_tokens(provider, client, user)
    api = AccountApi(provider, tokens.access_token)
    assert api.call("PATCH", "/profile", json={"attributes": {"nickname": "Rasmus"}}).status_code == 200
    assert api.call("POST", "/email", json={"new_email": f"next-{user.email}"}).status_code == 202
    assert api.call("POST", "/exports").status_code == 202
    export_link(outbox, user.email)
    sign_in_tokens(provider, client, bystander)

    wrong = api.call("POST", "/deletion", json={"password": "not-my-password"})
    assert wrong.status_code == 400 and wrong.json()["fields"] == {"password": "invalid"}
    scheduled = api.call("POST", "/deletion", json={"password": user.password})
    assert scheduled.status_code == 202 and scheduled.json()["scheduled"] is True
    assert refresh(provider, client, tokens.refresh_token).json()["error"] == "invalid_grant"  # signed out

    def notified() -> bool:  # the erasure's last step: the audit event and this notice come after the data is gone
        return any(user.email in m["to"] and "was deleted" in (m["subject"] or "") for m in outbox())

    wait_for(notified, timeout=60, interval=0.5)
    items = scan_all_tables()
    text = json.dumps(items, default=repr)
    for trace in (
        user.user_id,
        user.email,
        f"next-{user.email}",
        "Erased Person",
        "Erasmus",
        "Rasmus",
        upstream_subject,
    ):
        assert trace not in text, f"{trace!r} survived the erasure"
    # The bystander is untouched, the audit trail stays (pseudonymized).
    assert bystander.user_id in text and "Still Here" in text
    tenant_audit = [i for i in items if i["PK"]["S"] == f"T#{privacy_tenant['tenant']}#AUDIT"]
    assert any(i["event_type"]["S"] == "account.erased" for i in tenant_audit)
    pseudonymized = [i for i in tenant_audit if i.get("actor", {}).get("S", "").startswith("erased-")]
    assert pseudonymized and all(not i.get("source_ip", {}).get("S") for i in pseudonymized)
    with pytest.raises(AssertionError):
        sign_in_tokens(provider, client, user)


def deletion_workflow_ended(tenant: str, user_id: str) -> bool:
    """Whether the account deletion workflow of the user has ended (its execution named after tenant and user)."""
    import os

    import boto3

    from chalicelib.core.digests import secret_digest

    machine = os.environ["GATEHOUSE_STATE_MACHINE_ARN_PREFIX"] + "account-deletion"
    prefix = f"delete-{secret_digest(f'{tenant}:{user_id}')[:24]}-"
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    mine = [e for e in executions if e["name"].startswith(prefix)]
    assert len(mine) == 1, mine
    return mine[0]["status"] != "RUNNING"


def test_signing_in_during_the_grace_period_cancels_the_deletion(
    privacy_tenant: dict[str, Any], outbox: Callable[[], list[dict[str, Any]]]
) -> None:
    provider: Provider = privacy_tenant["provider"]
    client = privacy_tenant["client"]
    user = new_user(privacy_tenant["tenant"], name="Changed Mind")
    api = AccountApi(provider, sign_in_tokens(provider, client, user).access_token)
    assert api.call("POST", "/deletion", json={"password": user.password}).status_code == 202
    again = sign_in_tokens(provider, client, user)  # within the grace period
    # The workflow's erasure step has run (and found the deletion cancelled), however long it took to get there.
    wait_for(lambda: deletion_workflow_ended(privacy_tenant["tenant"], user.user_id), timeout=60, interval=0.5)
    profile = AccountApi(provider, again.access_token).call("GET", "/profile")
    assert profile.status_code == 200 and profile.json()["deletion_scheduled_at"] is None
    assert any(user.email in m["to"] and "will not be deleted" in (m["subject"] or "") for m in outbox())


def test_account_api_is_tenant_bound(privacy_tenant: dict[str, Any], op: Provider, first_party: E2EClient,
                                     make_user: Callable[..., E2EUser]) -> None:  # fmt: skip
    tokens = sign_in_tokens(op, first_party, make_user())
    foreign = requests.get(
        f"{privacy_tenant['provider'].issuer}/account/profile",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=30,
    )
    assert foreign.status_code == 401
