"""Tier nodes of customer tenants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import AlreadyExists, NotFound
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import is_condition_failure, save_or_raise, translate_errors
from chalicelib.storage.models import GuardItem, MainItem, TierNodeItem


def _to_node(item: TierNodeItem) -> TierNode:
    return TierNode(
        tenant_id=TenantId(item.tenant_id),
        node_id=NodeId(item.node_id),
        tier=item.tier,  # type: ignore[arg-type]
        slug=item.slug,
        name=item.name,
        parent_id=NodeId(item.parent_id) if item.parent_id else None,
        status=item.status,  # type: ignore[arg-type]
        settings=dict(item.settings or {}),
    )


def _to_item(node: TierNode) -> TierNodeItem:
    is_root = node.parent_id is None
    return TierNodeItem(
        keys.tenant_nodes(node.tenant_id),
        node.node_id,
        # Customer roots are listed in an operator-only index (the CLI resolves a parent slug through it).
        gsi1pk=keys.CUSTOMERS_INDEX if is_root else None,
        gsi1sk=node.tenant_id if is_root else None,
        tenant_id=node.tenant_id,
        node_id=node.node_id,
        tier=node.tier,
        slug=node.slug,
        name=node.name,
        parent_id=node.parent_id,
        status=node.status,
        settings=node.settings,
    )


WHOLE_TENANT = "*"


def _slug_guards(node: TierNode, slug: str) -> list[GuardItem]:
    """The slug's guards: unique under the parent (the rule) and in the whole tenant (what keeps slugs in URLs
    and ``--tier-node`` unambiguous, also when two creations race under different parents)."""
    return [
        GuardItem(keys.node_slug_guard(node.tenant_id, parent, slug), "GUARD", owner=node.node_id)
        for parent in (node.parent_id or "-", WHOLE_TENANT)
    ]


@contextmanager
def _claiming_slug(node: TierNode) -> Iterator[TransactWrite]:
    """A transaction that ends by writing ``node``'s slug guards (which must not exist yet); AlreadyExists if any
    condition in it fails."""
    try:
        with transaction() as tx:
            yield tx
            for guard in _slug_guards(node, node.slug):
                tx.save(guard, condition=MainItem.pk.does_not_exist())
    except TransactWriteError as error:
        if is_condition_failure(error):
            raise AlreadyExists(f"'{node.slug}' is already taken.") from error
        raise


class DynamoTenantRepository:
    @translate_errors
    def load_tree(self, tenant_id: TenantId) -> TenantTree | None:
        nodes = {NodeId(i.node_id): _to_node(i) for i in TierNodeItem.query(keys.tenant_nodes(tenant_id))}
        if not nodes:
            return None
        return TenantTree(tenant_id=tenant_id, nodes=nodes)

    @translate_errors
    def create_node(self, node: TierNode) -> None:
        with _claiming_slug(node) as tx:
            tx.save(_to_item(node), condition=MainItem.pk.does_not_exist())

    @translate_errors
    def update_node(self, node: TierNode) -> None:
        save_or_raise(_to_item(node), MainItem.pk.exists(), NotFound())

    @translate_errors
    def list_customers(self) -> list[TenantId]:
        return [TenantId(i.tenant_id) for i in MainItem.gsi1.query(keys.CUSTOMERS_INDEX) if isinstance(i, TierNodeItem)]

    @translate_errors
    def get_node(self, tenant_id: TenantId, node_id: NodeId) -> TierNode | None:
        try:
            return _to_node(TierNodeItem.get(keys.tenant_nodes(tenant_id), node_id))
        except DoesNotExist:
            return None

    @translate_errors
    def rename_node(self, node: TierNode, old_slug: str) -> None:
        """Write the node under its new slug, moving its slug guards, in one transaction."""
        with _claiming_slug(node) as tx:
            for guard in _slug_guards(node, old_slug):
                tx.delete(guard)
            tx.save(_to_item(node), condition=MainItem.pk.exists())

    @translate_errors
    def delete_node(self, node: TierNode) -> None:
        """Delete the node and its slug guards; NotFound if it is gone."""
        try:
            with transaction() as tx:
                tx.delete(TierNodeItem(keys.tenant_nodes(node.tenant_id), node.node_id), condition=MainItem.pk.exists())
                for guard in _slug_guards(node, node.slug):
                    tx.delete(guard)
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise NotFound("Unknown tier node.") from error
            raise
