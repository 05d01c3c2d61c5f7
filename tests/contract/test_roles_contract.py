"""Role storage on DynamoDB Local: an assignment needs its user and its role, a role cannot be deleted while
held (even when the two race), assignments are per tenant, and deleting a user drops them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def tenants(local_stack: Any) -> tuple[str, str]:
    from chalicelib import container

    made = []
    for _ in range(2):
        slug = f"rolec-{uuid.uuid4().hex[:8]}"
        container.tenants().create_customer(slug)
        made.append(slug)
    return made[0], made[1]


def _user(tenant: str) -> Any:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    return container.accounts().create_user(
        TenantId(tenant),
        email=f"r-{uuid.uuid4().hex[:8]}@example.org",
        password=None,
        settings=container.tenants().effective(TenantId(tenant)),
        verified=True,
    )


def test_an_assignment_needs_an_existing_user_and_role(tenants: tuple[str, str]) -> None:
    from chalicelib import container
    from chalicelib.core.errors import AlreadyExists, NotFound
    from chalicelib.core.ids import TenantId, UserId

    tenant = TenantId(tenants[0])
    roles = container.roles()
    with pytest.raises(NotFound):
        roles.assign(tenant, UserId("no-such-user"), "tenant-admin")
    user = _user(tenant)
    with pytest.raises(NotFound):
        roles.assign(tenant, user.user_id, "never-defined")
    roles.assign(tenant, user.user_id, "tenant-admin")
    with pytest.raises(AlreadyExists):
        roles.assign(tenant, user.user_id, "tenant-admin")
    assert [(a.role, a.node_id) for a in roles.roles_of(tenant, user.user_id)] == [("tenant-admin", "root")]
    assert roles.admin_nodes(tenant, user.user_id) == {"root"}


def _assign_and_delete_at_once(tenant: Any, roles: Any) -> None:
    name = f"racer-{uuid.uuid4().hex[:6]}"
    roles.define(tenant, name)
    user = _user(tenant)
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def run(label: str, action: Any) -> None:
        barrier.wait()
        try:
            outcome[label] = action()
        except Exception as error:
            outcome[label] = error

    threads = [
        threading.Thread(target=run, args=("assign", lambda: roles.assign(tenant, user.user_id, name))),
        threading.Thread(target=run, args=("delete", lambda: roles.delete(tenant, name))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [a.role for a in roles.roles_of(tenant, user.user_id)]
    role_left = name in {r.name for r in roles.list_roles(tenant)}
    assert not held or role_left, outcome  # never an assignment of a deleted role
    assert isinstance(outcome["assign"], Exception) != bool(held)


def test_a_role_and_its_assignment_cannot_both_win_a_race(tenants: tuple[str, str]) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    for _ in range(5):
        _assign_and_delete_at_once(TenantId(tenants[0]), container.roles())


def test_assignments_stay_in_their_tenant_and_leave_with_their_user(tenants: tuple[str, str]) -> None:
    from chalicelib import container
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    first, second = TenantId(tenants[0]), TenantId(tenants[1])
    roles = container.roles()
    user = _user(first)
    roles.assign(first, user.user_id, "tenant-admin")
    assert roles.roles_of(second, user.user_id) == []
    assert roles.admin_nodes(second, user.user_id) == frozenset()
    with pytest.raises(NotFound):  # the user does not exist in the second tenant
        roles.assign(second, user.user_id, "tenant-admin")
    container.provisioning().delete(first, user.user_id)
    assert roles.roles_of(first, user.user_id) == []
    assert user.user_id not in {a.user_id for a in roles.holders(first, "tenant-admin")}
