"""Role rules without I/O: built-in admin roles are held at a node of their tier, scoped roles only inside their
node, names are validated, and the admin scope is granted only to admin-role holders."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.core.entities import Role, RoleAssignment, TenantTree, TierNode
from chalicelib.core.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, UserId
from chalicelib.services.roles import RoleService
from chalicelib.services.tenants import TenantService

T = TenantId("acme-corp")
ORG, ACCOUNT, OTHER = NodeId("n-org"), NodeId("n-acc"), NodeId("n-other")


class MemoryTenants:
    def __init__(self) -> None:
        nodes = [
            TierNode(T, ROOT_NODE, "customer", "acme-corp", "Acme", None),
            TierNode(T, ORG, "organization", "org", "Org", ROOT_NODE),
            TierNode(T, ACCOUNT, "account", "acc", "Acc", ORG),
            TierNode(T, OTHER, "organization", "other", "Other", ROOT_NODE),
        ]
        self.tree = TenantTree(T, {n.node_id: n for n in nodes})

    def load_tree(self, tenant_id: TenantId) -> TenantTree | None:
        return self.tree if tenant_id == T else None

    def create_node(self, node: TierNode) -> None: ...

    def update_node(self, node: TierNode) -> None: ...

    def list_customers(self) -> list[TenantId]:
        return [T]


class MemoryRoles:
    def __init__(self) -> None:
        self.roles: dict[str, Role] = {}
        self.assignments: dict[tuple[str, str, str], RoleAssignment] = {}

    def create_role(self, role: Role) -> None:
        if role.name in self.roles:
            raise AlreadyExists()
        self.roles[role.name] = role

    def get_role(self, tenant_id: TenantId, name: str) -> Role | None:
        return self.roles.get(name)

    def list_roles(self, tenant_id: TenantId) -> list[Role]:
        return list(self.roles.values())

    def delete_role(self, tenant_id: TenantId, name: str) -> bool:
        return self.roles.pop(name, None) is not None

    def assign(self, assignment: RoleAssignment, *, custom_role: bool) -> None:
        key = (assignment.user_id, assignment.role, assignment.node_id)
        if key in self.assignments:
            raise AlreadyExists()
        self.assignments[key] = assignment

    def unassign(self, tenant_id: TenantId, user_id: UserId, role: str, node_id: NodeId) -> bool:
        return self.assignments.pop((user_id, role, node_id), None) is not None

    def assignments_of(self, tenant_id: TenantId, user_id: UserId) -> list[RoleAssignment]:
        return [a for a in self.assignments.values() if a.user_id == user_id]

    def holders(self, tenant_id: TenantId, role: str) -> list[RoleAssignment]:
        return [a for a in self.assignments.values() if a.role == role]


@pytest.fixture
def roles() -> RoleService:
    return RoleService(MemoryRoles(), TenantService(MemoryTenants()))


U = UserId("u1")


@pytest.mark.parametrize(
    ("role", "node", "ok"),
    [
        ("tenant-admin", ROOT_NODE, True),
        ("tenant-admin", ORG, False),
        ("organization-admin", ORG, True),
        ("organization-admin", ROOT_NODE, False),
        ("organization-admin", ACCOUNT, False),
        ("account-admin", ACCOUNT, True),
        ("account-admin", ORG, False),
    ],
)
def test_admin_roles_are_held_at_a_node_of_their_tier(roles: RoleService, role: str, node: NodeId, ok: bool) -> None:
    if ok:
        assert roles.assign(T, U, role, node).node_id == node
        assert roles.admin_nodes(T, U) == {node}
    else:
        with pytest.raises(InvalidInput) as raised:
            roles.assign(T, U, role, node)
        assert raised.value.fields == {"node": "wrong_tier"}


def test_a_scoped_role_is_held_only_inside_its_node(roles: RoleService) -> None:
    roles.define(T, "editor", "Edits", ORG)
    roles.assign(T, U, "editor", ACCOUNT)
    roles.assign(T, U, "editor", ORG)
    for outside in (ROOT_NODE, OTHER):
        with pytest.raises(InvalidInput):
            roles.assign(T, U, "editor", outside)
    assert roles.admin_nodes(T, U) == frozenset()  # custom roles carry no admin rights


def test_names_and_builtins(roles: RoleService) -> None:
    for bad in ("", "A", "has space", "-x", "x" * 65):
        with pytest.raises(InvalidInput):
            roles.define(T, bad)
    with pytest.raises(InvalidInput):
        roles.define(T, "tenant-admin")
    with pytest.raises(InvalidInput):
        roles.delete(T, "account-admin")
    with pytest.raises(NotFound):
        roles.assign(T, U, "never-defined")
    with pytest.raises(NotFound):
        roles.define(T, "scoped", node_id=NodeId("n-missing"))
    with pytest.raises(NotFound):
        roles.unassign(T, U, "tenant-admin")
    assert [r.name for r in roles.list_roles(T)][:3] == ["tenant-admin", "organization-admin", "account-admin"]


def test_the_admin_scope_is_granted_only_to_admin_role_holders(roles: RoleService) -> None:
    asked = ("openid", "admin", "email")
    assert roles.grantable_scope(T, U, asked) == ("openid", "email")
    assert roles.grantable_scope(T, U, ("openid",)) == ("openid",)
    roles.define(T, "viewer")
    roles.assign(T, U, "viewer")
    assert roles.grantable_scope(T, U, asked) == ("openid", "email")
    roles.assign(T, U, "account-admin", ACCOUNT)
    assert roles.grantable_scope(T, U, asked) == asked
    roles.unassign(T, U, "account-admin", ACCOUNT)
    assert roles.grantable_scope(T, U, asked) == ("openid", "email")


def test_remove_user_drops_every_assignment(roles: RoleService) -> None:
    roles.assign(T, U, "tenant-admin")
    roles.assign(T, U, "organization-admin", ORG)
    roles.assign(T, replace(roles.assign(T, UserId("u2"), "tenant-admin")).user_id, "account-admin", ACCOUNT)
    assert roles.remove_user(T, U) == 2
    assert roles.roles_of(T, U) == []
    assert {a.user_id for a in roles.holders(T, "tenant-admin")} == {"u2"}
