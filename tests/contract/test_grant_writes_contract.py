"""The token paths' DynamoDB writes against DynamoDB Local: the refresh hot path (botocore UpdateItem with fixed
expressions) returns exactly the grant the PynamoDB model reads back, keeps every condition, and the code
exchange's grant and its audit event are one transaction."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def tenant(local_stack: Any) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"grants-{uuid.uuid4().hex[:8]}"
    container.tenants().create_customer(slug)
    return str(TenantId(slug))


def _grant(tenant: str, **changes: Any) -> Any:
    from chalicelib.core import clock
    from chalicelib.core.entities import Grant
    from chalicelib.core.ids import ClientId, TenantId, UserId, new_id
    from chalicelib.services.tokens import make_refresh_token

    grant_id = new_id()
    _, digest = make_refresh_token(grant_id, 0)
    now = clock.now()
    grant = Grant(
        tenant_id=TenantId(tenant),
        grant_id=grant_id,
        client_id=ClientId("client-a"),
        user_id=UserId("user-1"),
        scope=("openid", "offline_access"),
        session_id="session-1",
        auth_time=now - 5,
        acr="urn:acr:1",
        amr=("pwd", "otp"),
        claims={"email": "a@example.org", "email_verified": True},
        created_at=now,
        expires_at=now + 3600,
        current_digest=digest,
    )
    return dataclasses.replace(grant, **changes)


def _event(tenant: str, grant_id: str) -> Any:
    from chalicelib import container
    from chalicelib.core.ids import NodeId, TenantId

    return container.audit().user_event(
        TenantId(tenant),
        "",
        "token.issue",
        node_id=NodeId("root"),
        source_ip="203.0.113.1",
        user_agent="t",
        actor="client-a",
        target_id="user-1",
        details={"grant_type": "authorization_code", "grant_id": grant_id, "jti": "j"},
    )


def _rotate(repo: Any, grant: Any, presented: str, **changes: Any) -> Any:
    from chalicelib.core import clock

    arguments = {
        "generation": grant.generation,
        "presented_digest": presented,
        "new_digest": f"new-{uuid.uuid4().hex}",
        "client_id": grant.client_id,
        "now": clock.now(),
        "grace_seconds": 0,
        **changes,
    }
    return repo.rotate(grant.tenant_id, grant.grant_id, **arguments)


def test_the_rotated_grant_is_what_the_model_reads_back(tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.storage import grant_rotation
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    def no_second_read(*_args: Any) -> None:
        raise AssertionError("UPDATED_NEW did not return the attributes the rotation sets to themselves")

    monkeypatch.setattr(grant_rotation, "grant_after_rotation", no_second_read)

    repo = DynamoGrantRepository()
    grant = _grant(tenant)
    repo.create(grant)
    for generation in range(10):  # across every history slot and back to the first
        current = repo.get(grant.tenant_id, grant.grant_id)
        assert current is not None and current.generation == generation
        rotated = _rotate(repo, current, current.current_digest or "")
        assert rotated == repo.get(grant.tenant_id, grant.grant_id)
        assert rotated.generation == generation + 1 and rotated.previous_digest == current.current_digest
        assert (rotated.scope, rotated.amr, rotated.claims) == (grant.scope, grant.amr, grant.claims)


@pytest.mark.parametrize(
    "bad",
    [
        {"client_id": "client-b"},
        {"generation": 1},
        {"presented": "not-the-digest"},
    ],
)
def test_every_rotation_condition_holds(tenant: str, bad: dict[str, Any]) -> None:
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    grant = _grant(tenant)
    repo.create(grant)
    presented = bad.pop("presented", grant.current_digest)
    with pytest.raises(CodeInvalid):
        _rotate(repo, grant, presented, **bad)
    assert repo.get(grant.tenant_id, grant.grant_id) == dataclasses.replace(grant)


def test_expired_and_revoked_grants_do_not_rotate(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    expired = _grant(tenant, expires_at=clock.now() - 1)
    repo.create(expired)
    with pytest.raises(CodeInvalid):
        _rotate(repo, expired, expired.current_digest)
    revoked = _grant(tenant)
    repo.create(revoked)
    repo.revoke(revoked.tenant_id, revoked.grant_id, now=clock.now())
    with pytest.raises(CodeInvalid):
        _rotate(repo, revoked, revoked.current_digest)
    tombstone = _grant(tenant)  # revoked before it was created: an item without most attributes
    repo.revoke(tombstone.tenant_id, tombstone.grant_id, now=clock.now())
    with pytest.raises(CodeInvalid):
        _rotate(repo, tombstone, tombstone.current_digest)


def test_the_exchange_writes_its_grant_and_event_in_one_transaction(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.errors import AlreadyExists
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    grant = _grant(tenant)
    event = _event(tenant, grant.grant_id)
    repo.create(grant, (event,))
    assert repo.get(grant.tenant_id, grant.grant_id) == grant
    stored, _ = container.audit().list(TenantId(tenant), action="token.issue", limit=200)
    assert [e.event_id for e in stored if e.details.get("grant_id") == grant.grant_id] == [event.event_id]
    # A second exchange of the same grant fails as a whole: no second event either.
    again = _event(tenant, grant.grant_id)
    with pytest.raises(AlreadyExists):
        repo.create(grant, (again,))
    stored, _ = container.audit().list(TenantId(tenant), action="token.issue", limit=200)
    assert again.event_id not in {e.event_id for e in stored}


def test_the_token_state_read_sees_revocations_tombstones_and_users(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core import clock
    from chalicelib.core.ids import TenantId, UserId, new_id
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    user = container.accounts().create_user(
        TenantId(tenant),
        email=f"{uuid.uuid4().hex[:8]}@example.org",
        password="A-long-enough-passphrase-1",
        verified=True,
        settings=container.tenants().effective(TenantId(tenant)),
    )
    grant = _grant(tenant, user_id=user.user_id)
    repo.create(grant)
    jti = new_id()
    found, revoked, who = repo.get_token_state(grant.tenant_id, grant_id=grant.grant_id, jti=jti, user_id=user.user_id)
    assert (found, revoked, who) == (grant, False, user)
    repo.revoke_access_token(grant.tenant_id, jti, expires_at=clock.now() + 60)
    repo.revoke(grant.tenant_id, grant.grant_id, now=clock.now())
    found, revoked, who = repo.get_token_state(grant.tenant_id, grant_id=grant.grant_id, jti=jti, user_id=None)
    assert revoked and found is not None and found.revoked_at and who is None
    tombstone = new_id()
    repo.revoke(grant.tenant_id, tombstone, now=clock.now())  # revoked before it ever existed
    found, _, _ = repo.get_token_state(grant.tenant_id, grant_id=tombstone, jti=new_id(), user_id=None)
    assert found is not None and found.revoked_at and not found.client_id
    # Nothing of this tenant is visible through another tenant's keys.
    other = f"other-{uuid.uuid4().hex[:6]}"
    container.tenants().create_customer(other)
    found, revoked, who = repo.get_token_state(
        TenantId(other), grant_id=grant.grant_id, jti=jti, user_id=UserId(user.user_id)
    )
    assert (found, revoked, who) == (None, False, None)
