"""Groups (SCIM): one item per group with its member ids, listed through the tenant's groups index."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.core.entities import Group
from chalicelib.core.errors import AlreadyExists, Conflict, NotFound
from chalicelib.core.ids import TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, save_or_raise, translate_errors
from chalicelib.storage.models import GroupItem, MainItem

GROUP = "GROUP"


def _to_group(item: GroupItem) -> Group:
    return Group(
        tenant_id=TenantId(item.tenant_id),
        group_id=item.group_id,
        display_name=item.display_name,
        members=tuple(UserId(m) for m in item.members or []),
        created_at=int(item.created_at),
        updated_at=int(item.updated_at),
        external_id=item.external_id,
    )


def _item(group: Group) -> GroupItem:
    return GroupItem(
        keys.group(group.tenant_id, group.group_id),
        GROUP,
        gsi1pk=keys.groups_index(group.tenant_id),
        gsi1sk=f"{group.created_at:012d}#{group.group_id}",
        tenant_id=group.tenant_id,
        group_id=group.group_id,
        display_name=group.display_name,
        external_id=group.external_id,
        members=list(group.members),
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


class DynamoGroupRepository:
    @translate_errors
    def create(self, group: Group) -> None:
        save_or_raise(_item(group), MainItem.pk.does_not_exist(), AlreadyExists("The group already exists."))

    @translate_errors
    def get(self, tenant_id: TenantId, group_id: str) -> Group | None:
        try:
            return _to_group(GroupItem.get(keys.group(tenant_id, group_id), GROUP))
        except DoesNotExist:
            return None

    @translate_errors
    def replace(self, group: Group) -> None:
        save_or_raise(_item(group), MainItem.pk.exists(), NotFound("Unknown group."))

    @translate_errors
    def delete(self, tenant_id: TenantId, group_id: str) -> bool:
        try:
            GroupItem(keys.group(tenant_id, group_id), GROUP).delete(condition=MainItem.pk.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @translate_errors
    def list(self, tenant_id: TenantId) -> list[Group]:
        return [
            _to_group(item)
            for item in MainItem.gsi1.query(keys.groups_index(tenant_id))
            if isinstance(item, GroupItem) and item.tenant_id == tenant_id
        ]

    @translate_errors
    def set_members(self, group: Group, *, previous: tuple[UserId, ...]) -> None:
        """Write the group's members only if they are still ``previous`` (no lost update); Conflict otherwise."""
        item = _item(group)
        save_or_raise(
            item,
            MainItem.pk.exists() & (GroupItem.members == list(previous)),
            Conflict("The group changed meanwhile; try again."),
        )
