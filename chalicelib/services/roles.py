"""Roles of a customer tenant and who holds them where.

A role is held at a tier node. Custom roles are defined per tenant, optionally scoped to a node (then they can be
held only at that node or below it); they carry no rights inside Gatehouse and are for the tenant's applications.
Admin rights are three built-in roles, each held at a node of its tier and reaching that node and everything below:

| role | held at | administers |
|---|---|---|
| ``tenant-admin`` | the customer root | the whole tenant |
| ``organization-admin`` | an organization | that organization and its accounts |
| ``account-admin`` | an account | that account |

The ``admin`` scope is granted to a user only while they hold one of them (``grantable_scope``), and the admin
API re-reads the user's roles on every call (``admin_nodes``), so removing a role takes effect at once.
"""

from __future__ import annotations

import re

from chalicelib.core import clock
from chalicelib.core.entities import Role, RoleAssignment, TenantTree, Tier
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, UserId
from chalicelib.core.ports import RoleRepository
from chalicelib.services.tenants import TenantService

ADMIN_SCOPE = "admin"
ROLE_NAME = re.compile(r"^[a-z][a-z0-9._:-]{0,62}[a-z0-9]$")
MAX_DESCRIPTION = 256
ADMIN_ROLES: dict[str, tuple[Tier, str]] = {
    "tenant-admin": ("customer", "Administers the whole customer tenant."),
    "organization-admin": ("organization", "Administers one organization and its accounts."),
    "account-admin": ("account", "Administers one account."),
}


def check_role_name(name: object) -> str:
    if not isinstance(name, str) or not ROLE_NAME.match(name):
        raise InvalidInput(
            "A role name is 2-64 lowercase letters, digits or . _ : -, starting with a letter.",
            fields={"role": "invalid"},
        )
    return name


def builtin_role(tenant_id: TenantId, name: str) -> Role | None:
    if name not in ADMIN_ROLES:
        return None
    tier, description = ADMIN_ROLES[name]
    return Role(tenant_id, name, description, None, 0, builtin=True, admin_tier=tier)


class RoleService:
    def __init__(self, repository: RoleRepository, tenants: TenantService) -> None:
        self._repository = repository
        self._tenants = tenants

    # --- definitions -------------------------------------------------------------------------------------------

    def define(self, tenant_id: TenantId, name: str, description: str = "", node_id: NodeId | None = None) -> Role:
        """A custom role, usable in the whole tenant or (``node_id``) only at that node and below it."""
        check_role_name(name)
        if name in ADMIN_ROLES:
            raise InvalidInput(f"'{name}' is a built-in role.", fields={"role": "taken"})
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise InvalidInput("description must be at most 256 characters.", fields={"description": "invalid"})
        tree = self._tenants.tree(tenant_id)
        if node_id is not None and node_id not in tree.nodes:
            raise NotFound("Unknown tier node.")
        role = Role(tenant_id, name, description, None if node_id == ROOT_NODE else node_id, clock.now())
        self._repository.create_role(role)
        return role

    def get(self, tenant_id: TenantId, name: str) -> Role:
        role = builtin_role(tenant_id, name) or (
            self._repository.get_role(tenant_id, name) if isinstance(name, str) and ROLE_NAME.match(name) else None
        )
        if role is None:
            raise NotFound(f"Unknown role '{str(name)[:64]}'.")
        return role

    def list_roles(self, tenant_id: TenantId) -> list[Role]:
        """Built-in roles first, then the tenant's own by name."""
        builtin = [r for r in (builtin_role(tenant_id, n) for n in ADMIN_ROLES) if r is not None]
        return builtin + sorted(self._repository.list_roles(tenant_id), key=lambda r: r.name)

    def delete(self, tenant_id: TenantId, name: str) -> None:
        """Raises Conflict while the role is held by anyone."""
        if name in ADMIN_ROLES:
            raise InvalidInput("Built-in roles cannot be deleted.", fields={"role": "builtin"})
        if not self._repository.delete_role(tenant_id, check_role_name(name)):
            raise NotFound(f"Unknown role '{name}'.")

    # --- assignments -------------------------------------------------------------------------------------------

    def assign(
        self, tenant_id: TenantId, user_id: UserId, role_name: str, node_id: NodeId | None = None, *, by: str = ""
    ) -> RoleAssignment:
        """Let the user hold the role at the node (default: the customer root). AlreadyExists if held already."""
        tree = self._tenants.tree(tenant_id)
        node_id = node_id or ROOT_NODE
        role = self.get(tenant_id, check_role_name(role_name))
        self.check_placement(tree, role, node_id)
        assignment = RoleAssignment(tenant_id, user_id, role.name, node_id, clock.now(), by[:128])
        self._repository.assign(assignment, custom_role=not role.builtin)
        return assignment

    @staticmethod
    def check_placement(tree: TenantTree, role: Role, node_id: NodeId) -> None:
        node = tree.nodes.get(node_id)
        if node is None:
            raise NotFound("Unknown tier node.")
        if role.admin_tier is not None and node.tier != role.admin_tier:
            raise InvalidInput(
                f"'{role.name}' is held at a node of tier {role.admin_tier}, not at the {node.tier} '{node.slug}'.",
                fields={"node": "wrong_tier"},
            )
        if role.node_id is not None and not tree.is_within(node_id, role.node_id):
            raise InvalidInput(f"'{role.name}' cannot be held outside its node.", fields={"node": "out_of_scope"})

    def unassign(self, tenant_id: TenantId, user_id: UserId, role_name: str, node_id: NodeId | None = None) -> None:
        if not isinstance(role_name, str) or not ROLE_NAME.match(role_name):
            raise NotFound("The user does not hold this role there.")
        if not self._repository.unassign(tenant_id, user_id, role_name, node_id or ROOT_NODE):
            raise NotFound("The user does not hold this role there.")

    def roles_of(self, tenant_id: TenantId, user_id: UserId) -> list[RoleAssignment]:
        return sorted(self._repository.assignments_of(tenant_id, user_id), key=lambda a: (a.role, a.node_id))

    def holders(self, tenant_id: TenantId, role_name: str) -> list[RoleAssignment]:
        return self._repository.holders(tenant_id, self.get(tenant_id, role_name).name)

    def remove_user(self, tenant_id: TenantId, user_id: UserId) -> int:
        """Drop every assignment of a user (the user is being deleted)."""
        held = self._repository.assignments_of(tenant_id, user_id)
        for assignment in held:
            self._repository.unassign(tenant_id, user_id, assignment.role, assignment.node_id)
        return len(held)

    # --- admin rights ------------------------------------------------------------------------------------------

    def admin_nodes(self, tenant_id: TenantId, user_id: UserId) -> frozenset[NodeId]:
        """The nodes at which the user holds an admin role (each reaching everything below it)."""
        tree = self._tenants.tree(tenant_id)
        return frozenset(
            a.node_id
            for a in self._repository.assignments_of(tenant_id, user_id)
            if a.role in ADMIN_ROLES and a.node_id in tree.nodes
        )

    def grantable_scope(self, tenant_id: TenantId, user_id: UserId, scope: tuple[str, ...]) -> tuple[str, ...]:
        """The requested scope without ``admin`` unless the user holds an admin role (RFC 6749 §3.3 lets the
        server grant less than asked; the token response names what was granted)."""
        if ADMIN_SCOPE not in scope or self.admin_nodes(tenant_id, user_id):
            return scope
        return tuple(s for s in scope if s != ADMIN_SCOPE)
