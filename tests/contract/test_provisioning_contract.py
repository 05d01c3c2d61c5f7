"""Provisioning repository on DynamoDB Local: tenant-scoped listing, email-guard moves and deletes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def tenants(local_stack: Any) -> tuple[str, str]:
    from chalicelib import container

    for slug in ("prov-a", "prov-b"):
        if not container.tenants().exists(slug):
            container.tenants().create_customer(slug)
    return "prov-a", "prov-b"


def _create(tenant: str, email: str) -> Any:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tid = TenantId(tenant)
    return container.accounts().create_user(
        tid, email=email, password=None, verified=True, settings=container.tenants().effective(tid)
    )


def test_listing_is_tenant_scoped(tenants: tuple[str, str]) -> None:
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository

    a, b = tenants
    email = f"same-{uuid.uuid4().hex[:8]}@example.org"
    in_a, in_b = _create(a, email), _create(b, email)
    repo = DynamoProvisioningRepository()
    listed_a = repo.list_users(TenantId(a))
    assert in_a in listed_a and all(u.tenant_id == a for u in listed_a)
    assert in_b.user_id not in {u.user_id for u in listed_a}
    assert repo.delete_user(TenantId(a), in_b.user_id) is False  # another tenant's id is unknown here
    assert in_b in repo.list_users(TenantId(b))


def test_replace_moves_the_email_guard_with_the_password(tenants: tuple[str, str]) -> None:
    from chalicelib import container
    from chalicelib.core.errors import AlreadyExists
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository
    from chalicelib.storage.users_repository import DynamoCredentialRepository

    a, _ = tenants
    tid = TenantId(a)
    old, new = f"old-{uuid.uuid4().hex[:8]}@example.org", f"new-{uuid.uuid4().hex[:8]}@example.org"
    user = _create(a, old)
    DynamoCredentialRepository().set_password_hash(tid, old, "hash-1")
    taken = _create(a, f"taken-{uuid.uuid4().hex[:8]}@example.org")
    repo = DynamoProvisioningRepository()
    with pytest.raises(AlreadyExists):
        repo.replace_user(replace(user, email=taken.email), previous_email=old)
    assert container.accounts().get(tid, user.user_id).email == old  # nothing written
    repo.replace_user(replace(user, email=new, external_id="x-1"), previous_email=old)
    assert container.accounts().get(tid, user.user_id).external_id == "x-1"
    assert DynamoCredentialRepository().get_password_login(tid, old) is None
    moved = DynamoCredentialRepository().get_password_login(tid, new)
    assert moved is not None and moved.user_id == user.user_id and moved.password_hash == "hash-1"


def test_delete_removes_the_user_and_its_guard(tenants: tuple[str, str]) -> None:
    from chalicelib import container
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository

    a, _ = tenants
    tid = TenantId(a)
    email = f"gone-{uuid.uuid4().hex[:8]}@example.org"
    user = _create(a, email)
    assert DynamoProvisioningRepository().delete_user(tid, user.user_id) is True
    with pytest.raises(NotFound):
        container.accounts().get(tid, user.user_id)
    assert _create(a, email).user_id != user.user_id  # the address is free again


@pytest.mark.parametrize("email_changes", [False, True])
def test_replace_keeps_what_other_services_wrote_meanwhile(tenants: tuple[str, str], email_changes: bool) -> None:
    """An admin edit that read the user before an MFA enrolment, a deletion request or a "forget devices" must
    not undo them: provisioning writes only the attributes it owns."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.models import UserItem
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository
    from chalicelib.storage.users_repository import user_key

    a, _ = tenants
    tid = TenantId(a)
    email = f"race-{uuid.uuid4().hex[:8]}@example.org"
    read_by_admin = _create(a, email)
    UserItem(*user_key(tid, read_by_admin.user_id)).update(
        actions=[
            UserItem.mfa_factors.add({"totp:enrolled-meanwhile"}),
            UserItem.deletion_scheduled_at.set(1234),
            UserItem.devices_forgotten_at.set(5678),
        ]
    )
    new_email = f"renamed-{uuid.uuid4().hex[:8]}@example.org" if email_changes else email
    edited = replace(read_by_admin, email=new_email, profile={"given_name": "Edited"}, phone_number=None)
    DynamoProvisioningRepository().replace_user(edited, previous_email=email)
    stored = container.accounts().get(tid, read_by_admin.user_id)
    assert stored.profile == {"given_name": "Edited"} and stored.email == new_email
    assert stored.mfa_factors == ("totp:enrolled-meanwhile",)
    assert (stored.deletion_scheduled_at, stored.devices_forgotten_at) == (1234, 5678)
