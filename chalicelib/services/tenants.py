"""Customer tenants and their tier nodes (customer -> organization -> account) with inherited settings."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from chalicelib.config import settings as config
from chalicelib.core.entities import TenantTree, Tier, TierNode
from chalicelib.core.errors import Conflict, InvalidInput, NotFound, TenantUnavailable
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, new_id
from chalicelib.core.ports import TenantRepository
from chalicelib.core.settings import EffectiveSettings, effective_settings, validate_settings
from chalicelib.services.cache import TtlCache

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
CHILD_TIER: dict[str, Tier] = {"customer": "organization", "organization": "account"}


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise InvalidInput(
            "A slug is 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
            fields={"slug": "invalid"},
        )
    return slug


class TenantService:
    def __init__(self, repository: TenantRepository) -> None:
        self._repository = repository
        self._trees: TtlCache[TenantTree | None] = TtlCache(config().tenant_cache_seconds)
        # Effective settings per node, remembered with the tree object they were computed from.
        self._effective: dict[tuple[str, NodeId], tuple[TenantTree, EffectiveSettings]] = {}

    def tree(self, tenant_id: str) -> TenantTree:
        """The active tenant's tree; raises TenantUnavailable for unknown or disabled tenants."""
        if not isinstance(tenant_id, str) or not SLUG.match(tenant_id):
            raise TenantUnavailable()
        tree = self._trees.get_or_load(tenant_id, lambda: self._repository.load_tree(TenantId(tenant_id)))
        if tree is None or tree.root.status != "active":
            raise TenantUnavailable()
        return tree

    def effective(self, tenant_id: TenantId, node_id: NodeId = ROOT_NODE) -> EffectiveSettings:
        tree = self.tree(tenant_id)
        key = (tree.tenant_id, node_id)
        cached = self._effective.get(key)
        if cached is not None and cached[0] is tree:
            return cached[1]
        if node_id not in tree.nodes:
            raise NotFound("Unknown tier node.")
        if len(self._effective) > 256:
            self._effective.clear()
        result = effective_settings([(n.node_id, n.settings) for n in tree.chain(node_id)])
        self._effective[key] = (tree, result)
        return result

    def create_customer(
        self, slug: str, name: str | None = None, node_settings: dict[str, Any] | None = None
    ) -> TierNode:
        root = TierNode(
            tenant_id=TenantId(check_slug(slug)),
            node_id=ROOT_NODE,
            tier="customer",
            slug=slug,
            name=name or slug,
            parent_id=None,
            settings=validate_settings(node_settings or {}),
        )
        self._repository.create_node(root)
        self._trees.invalidate(slug)
        return root

    def create_child(
        self, tenant_id: TenantId, parent_slug: str | None, slug: str, tier: Tier | None = None, name: str | None = None
    ) -> TierNode:
        tree = self.tree(tenant_id)
        parent = tree.root if parent_slug in (None, "", tenant_id) else tree.find_by_slug(str(parent_slug))
        if parent is None:
            raise NotFound(f"Unknown parent '{parent_slug}'.")
        expected = CHILD_TIER.get(parent.tier)
        if expected is None or (tier is not None and tier != expected):
            raise InvalidInput(f"A {parent.tier} cannot have a child of tier '{tier}'.", fields={"tier": "invalid"})
        if tree.find_by_slug(slug) is not None or slug == tenant_id:
            # Slugs are unique within their parent (guard item); keeping them unique in the tenant keeps URLs
            # and ``--tier-node SLUG`` unambiguous.
            raise InvalidInput(f"'{slug}' is already used in this tenant.", fields={"slug": "taken"})
        node = TierNode(
            tenant_id=tenant_id,
            node_id=NodeId(f"n-{new_id(8)}"),
            tier=expected,
            slug=check_slug(slug),
            name=name or slug,
            parent_id=parent.node_id,
        )
        self._repository.create_node(node)
        self._trees.invalidate(tenant_id)
        return node

    def resolve_node(self, tenant_id: TenantId, slug: str | None) -> TierNode:
        tree = self.tree(tenant_id)
        if slug in (None, "", tenant_id):
            return tree.root
        node = tree.find_by_slug(str(slug))
        if node is None:
            raise NotFound(f"Unknown tier node '{slug}'.")
        return node

    def find_node_anywhere(self, slug: str) -> TierNode:
        """Operator use: the node with this slug in any customer tenant (customer slugs first)."""
        if self.exists(slug):
            return self.tree(slug).root
        matches = [
            node
            for tenant_id in self._repository.list_customers()
            for node in [self.tree(tenant_id).find_by_slug(slug)]
            if node is not None
        ]
        if len(matches) != 1:
            raise NotFound(
                f"Unknown tier node '{slug}'." if not matches else f"'{slug}' is ambiguous; name the tenant."
            )
        return matches[0]

    def exists(self, tenant_id: str) -> bool:
        try:
            self.tree(tenant_id)
        except TenantUnavailable:
            return False
        return True

    # --- managing tier nodes (admin API and CLI) ------------------------------------------------------------

    def update_node(
        self,
        tenant_id: TenantId,
        node_id: NodeId,
        *,
        name: str | None = None,
        slug: str | None = None,
        settings: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> TierNode:
        """Rename (display name or slug), replace the node's own settings or set its status. The customer root
        keeps its slug (it is the tenant id) and its status (operators disable tenants)."""
        tree = self.tree(tenant_id)
        node = tree.nodes.get(node_id)
        if node is None:
            raise NotFound("Unknown tier node.")
        changes: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise InvalidInput("A name is 1-200 characters.", fields={"name": "invalid"})
            changes["name"] = name.strip()
        if settings is not None:
            if not isinstance(settings, dict):
                raise InvalidInput("settings must be an object.", fields={"settings": "invalid"})
            try:
                changes["settings"] = validate_settings(settings)
            except ValueError as error:
                raise InvalidInput(str(error), fields={"settings": str(error)}) from error
        if status is not None:
            if status not in ("active", "disabled"):
                raise InvalidInput("status must be active or disabled.", fields={"status": "invalid"})
            if node.parent_id is None:
                raise InvalidInput("The customer tenant itself cannot be disabled here.", fields={"status": "root"})
            changes["status"] = status
        new_slug = node.slug if slug is None else check_slug(slug)
        if new_slug != node.slug:
            if node.parent_id is None:
                raise InvalidInput("The customer tenant's slug is its id and cannot change.", fields={"slug": "root"})
            if tree.find_by_slug(new_slug) is not None or new_slug == tenant_id:
                raise InvalidInput(f"'{new_slug}' is already used in this tenant.", fields={"slug": "taken"})
            changes["slug"] = new_slug
        updated = replace(node, **changes)
        if updated.slug != node.slug:
            self._repository.rename_node(updated, node.slug)
        elif updated != node:
            self._repository.update_node(updated)
        self._trees.invalidate(tenant_id)
        return updated

    def delete_node(self, tenant_id: TenantId, node_id: NodeId) -> TierNode:
        """Delete an organization or account without children (callers check that nothing else lives there)."""
        tree = self.tree(tenant_id)
        node = tree.nodes.get(node_id)
        if node is None:
            raise NotFound("Unknown tier node.")
        if node.parent_id is None:
            raise InvalidInput("The customer tenant itself cannot be deleted here.", fields={"node": "root"})
        if tree.children(node_id):
            raise Conflict(f"'{node.slug}' still has organizations or accounts below it.")
        self._repository.delete_node(node)
        self._trees.invalidate(tenant_id)
        return node
