"""Linked identities in the account API: the password and the upstream identities federation recorded; unlinking
one, never the last way in; the erasure of an account removes its links."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.e2e.account.conftest import AccountApi, sign_in_tokens
from tests.support.oidc_client import E2EClient, E2EUser, Provider

pytestmark = pytest.mark.stack


def link(tenant: str, user_id: str, integration: str) -> str:
    """What federation records after a JIT sign-in or an account link (set up in-process)."""
    from chalicelib.core import clock
    from chalicelib.core.federation import FederatedIdentity
    from chalicelib.core.ids import TenantId, UserId
    from chalicelib.storage.federation_repository import DynamoFederatedIdentityRepository

    subject = f"upstream-{uuid.uuid4().hex[:12]}"
    DynamoFederatedIdentityRepository().save(
        FederatedIdentity(TenantId(tenant), integration, subject, UserId(user_id), clock.now(), clock.now()),
        create=True,
    )
    return subject


def test_list_and_unlink_but_never_the_last_way_in(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage import keys
    from chalicelib.storage.models import EmailLoginItem

    user = make_user()
    google = link("demo", user.user_id, "google")
    link("demo", user.user_id, "contoso")
    api = AccountApi(op, sign_in_tokens(op, first_party, user).access_token)
    ways = api.call("GET", "/identities").json()["identities"]
    assert [w["type"] for w in ways] == ["password", "federated", "federated"]
    assert {w.get("integration") for w in ways} == {None, "google", "contoso"}
    assert next(w for w in ways if w.get("integration") == "google")["subject"] == google

    assert api.call("DELETE", "/identities/google").status_code == 200
    assert api.call("DELETE", "/identities/google").status_code == 404
    # Without a password (like an account created through an identity provider), the remaining link is the last
    # way in.
    tenant_id = TenantId("demo")
    EmailLoginItem(keys.email_login(tenant_id, user.email), "LOGIN").update(
        actions=[EmailLoginItem.password_hash.remove()]
    )
    last = api.call("DELETE", "/identities/contoso")
    assert last.status_code == 409 and last.json()["error"] == "conflict"
    assert [w["integration"] for w in api.call("GET", "/identities").json()["identities"]] == ["contoso"]


def test_another_users_identity_cannot_be_unlinked(
    op: Provider, first_party: E2EClient, make_user: Callable[..., E2EUser]
) -> None:
    owner, other = make_user(), make_user()
    link("demo", owner.user_id, "github")
    api = AccountApi(op, sign_in_tokens(op, first_party, other).access_token)
    assert api.call("DELETE", "/identities/github").status_code == 404
    owner_api = AccountApi(op, sign_in_tokens(op, first_party, owner).access_token)
    assert [w.get("integration") for w in owner_api.call("GET", "/identities").json()["identities"]] == [
        None,
        "github",
    ]
