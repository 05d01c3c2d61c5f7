"""Custom roles and role assignments.

An assignment lives in its user's partition (``SK = ROLE#<role>#<node>``), so a user's roles are one query, and in
the role's holders index (GSI1). Assigning is one transaction: the assignment (not there yet), a check that the
user exists and, for a custom role, an increment of the role's holder count (which fails if the role is gone);
a role is deleted only while that count is zero, so no assignment can outlive its role.
"""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError

from chalicelib.core.entities import Role, RoleAssignment
from chalicelib.core.errors import AlreadyExists, Conflict, NotFound
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import cancelled_indexes, is_condition_failure, save_or_raise, translate_errors
from chalicelib.storage.models import MainItem, RoleAssignmentItem, RoleItem, UserItem
from chalicelib.storage.users_repository import PROFILE

ROLE = "ROLE"


def _to_role(item: RoleItem) -> Role:
    return Role(
        tenant_id=TenantId(item.tenant_id),
        name=item.name,
        description=item.description or "",
        node_id=NodeId(item.node_id) if item.node_id else None,
        created_at=int(item.created_at),
    )


def _to_assignment(item: RoleAssignmentItem) -> RoleAssignment:
    return RoleAssignment(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        role=item.role,
        node_id=NodeId(item.node_id),
        assigned_at=int(item.assigned_at),
        assigned_by=item.assigned_by or "",
    )


def _assignment_item(assignment: RoleAssignment) -> RoleAssignmentItem:
    return RoleAssignmentItem(
        keys.user(assignment.tenant_id, assignment.user_id),
        keys.role_assignment_sk(assignment.role, assignment.node_id),
        gsi1pk=keys.role_holders_index(assignment.tenant_id, assignment.role),
        gsi1sk=f"{assignment.node_id}#{assignment.user_id}",
        tenant_id=assignment.tenant_id,
        user_id=assignment.user_id,
        role=assignment.role,
        node_id=assignment.node_id,
        assigned_at=assignment.assigned_at,
        assigned_by=assignment.assigned_by,
    )


class DynamoRoleRepository:
    @translate_errors
    def create_role(self, role: Role) -> None:
        item = RoleItem(
            keys.role(role.tenant_id, role.name),
            ROLE,
            gsi1pk=keys.roles_index(role.tenant_id),
            gsi1sk=role.name,
            tenant_id=role.tenant_id,
            name=role.name,
            description=role.description,
            node_id=role.node_id,
            created_at=role.created_at,
            holders=0,
        )
        save_or_raise(item, MainItem.pk.does_not_exist(), AlreadyExists(f"The role '{role.name}' already exists."))

    @translate_errors
    def get_role(self, tenant_id: TenantId, name: str) -> Role | None:
        try:
            return _to_role(RoleItem.get(keys.role(tenant_id, name), ROLE))
        except DoesNotExist:
            return None

    @translate_errors
    def list_roles(self, tenant_id: TenantId) -> list[Role]:
        return [
            _to_role(item)
            for item in MainItem.gsi1.query(keys.roles_index(tenant_id))
            if isinstance(item, RoleItem) and item.tenant_id == tenant_id
        ]

    @translate_errors
    def delete_role(self, tenant_id: TenantId, name: str) -> bool:
        if self.get_role(tenant_id, name) is None:
            return False
        try:
            RoleItem(keys.role(tenant_id, name), ROLE).delete(condition=MainItem.pk.exists() & (RoleItem.holders == 0))
        except DeleteError as error:
            if is_condition_failure(error):
                if self.get_role(tenant_id, name) is None:
                    return False
                raise Conflict(f"The role '{name}' is still assigned; remove its assignments first.") from error
            raise
        return True

    @translate_errors
    def assign(self, assignment: RoleAssignment, *, custom_role: bool) -> None:
        try:
            with transaction() as tx:
                tx.save(_assignment_item(assignment), condition=MainItem.pk.does_not_exist())
                tx.condition_check(
                    UserItem,
                    keys.user(assignment.tenant_id, assignment.user_id),
                    PROFILE,
                    condition=UserItem.pk.exists(),
                )
                if custom_role:
                    tx.update(
                        RoleItem(keys.role(assignment.tenant_id, assignment.role), ROLE),
                        actions=[RoleItem.holders.add(1)],
                        condition=MainItem.pk.exists(),
                    )
        except TransactWriteError as error:
            failed = cancelled_indexes(error)  # PynamoDB sends condition checks first, then puts, then updates
            if 0 in failed:
                raise NotFound("Unknown user.") from error
            if 1 in failed:
                raise AlreadyExists("The user already holds this role there.") from error
            if 2 in failed:
                raise NotFound(f"Unknown role '{assignment.role}'.") from error
            raise

    @translate_errors
    def unassign(self, tenant_id: TenantId, user_id: UserId, role: str, node_id: NodeId) -> bool:
        item = RoleAssignmentItem(keys.user(tenant_id, user_id), keys.role_assignment_sk(role, node_id))
        custom = self.get_role(tenant_id, role) is not None
        try:
            with transaction() as tx:
                tx.delete(item, condition=MainItem.pk.exists())
                if custom:
                    tx.update(
                        RoleItem(keys.role(tenant_id, role), ROLE),
                        actions=[RoleItem.holders.add(-1)],
                        condition=MainItem.pk.exists(),
                    )
        except TransactWriteError as error:
            if 0 in cancelled_indexes(error):
                return False
            raise
        return True

    @translate_errors
    def assignments_of(self, tenant_id: TenantId, user_id: UserId) -> list[RoleAssignment]:
        return [
            _to_assignment(item)
            for item in RoleAssignmentItem.query(
                keys.user(tenant_id, user_id), RoleAssignmentItem.sk.startswith(keys.ROLE_ASSIGNMENT_PREFIX)
            )
            if item.tenant_id == tenant_id
        ]

    @translate_errors
    def holders(self, tenant_id: TenantId, role: str) -> list[RoleAssignment]:
        return [
            _to_assignment(item)
            for item in MainItem.gsi1.query(keys.role_holders_index(tenant_id, role))
            if isinstance(item, RoleAssignmentItem) and item.tenant_id == tenant_id
        ]
