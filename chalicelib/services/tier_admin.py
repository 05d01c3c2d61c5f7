"""Managing a tenant's tier nodes beyond creation: disable (and sign out everyone below), enable, delete.

Disabling a node disables its whole subtree: its clients fail client authentication and the authorization
endpoint, its users cannot get codes (``TenantTree.is_active``), and every session and grant of its users is
revoked at once, so nobody stays signed in. A node is deleted only when empty: no organizations or accounts
below it, no users, no clients, nobody holding a role there and no custom role scoped to it (no cascade: a
deletion never takes users or clients with it; move or delete them first).
"""

from __future__ import annotations

from chalicelib.core.entities import TierNode
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.core.ports import ProvisioningRepository
from chalicelib.services.clients import ClientService
from chalicelib.services.roles import RoleService
from chalicelib.services.tenants import TenantService
from chalicelib.services.user_admin import UserAdminService


class NodeAdminService:
    def __init__(
        self,
        tenants: TenantService,
        users: ProvisioningRepository,
        user_admin: UserAdminService,
        clients: ClientService,
        roles: RoleService,
    ) -> None:
        self._tenants = tenants
        self._users = users
        self._user_admin = user_admin
        self._clients = clients
        self._roles = roles

    def set_disabled(self, tenant_id: TenantId, node_id: NodeId, disabled: bool) -> tuple[TierNode, dict[str, int]]:
        """The updated node and, when disabling, how many sessions and grants of its users were revoked."""
        node = self._tenants.update_node(tenant_id, node_id, status="disabled" if disabled else "active")
        revoked = {"users": 0, "sessions": 0, "grants": 0}
        if disabled:
            tree = self._tenants.tree(tenant_id)
            subtree = frozenset(n for n in tree.nodes if tree.is_within(n, node_id))
            for user in self._users.list_users(tenant_id):
                if user.tier_node_id in subtree:
                    counts = self._user_admin.revoke_sessions(tenant_id, subtree, user.user_id)
                    revoked["users"] += 1
                    revoked["sessions"] += counts["sessions"]
                    revoked["grants"] += counts["grants"]
        return node, revoked

    def delete(self, tenant_id: TenantId, node_id: NodeId) -> TierNode:
        """Raises Conflict naming what still lives at the node."""
        left = self.contents(tenant_id, node_id)
        if any(left.values()):
            what = ", ".join(f"{count} {kind}" for kind, count in left.items() if count)
            raise Conflict(f"The node is not empty ({what}); move or delete them first.")
        return self._tenants.delete_node(tenant_id, node_id)

    def contents(self, tenant_id: TenantId, node_id: NodeId) -> dict[str, int]:
        tree = self._tenants.tree(tenant_id)
        roles = self._roles.list_roles(tenant_id)
        return {
            "nodes": len(tree.children(node_id)),
            "users": sum(1 for u in self._users.list_users(tenant_id) if u.tier_node_id == node_id),
            "clients": sum(1 for c in self._clients.list(tenant_id) if c.tier_node_id == node_id),
            "role assignments": sum(
                1 for r in roles for a in self._roles.holders(tenant_id, r.name) if a.node_id == node_id
            ),
            "scoped roles": sum(1 for r in roles if r.node_id == node_id),
        }
