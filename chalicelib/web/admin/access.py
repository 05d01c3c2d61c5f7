"""Who may call the admin API, and over which tier nodes (``authorize``, run first by every admin endpoint).

A bearer access token of this tenant (per-tenant issuer and audience) with the ``admin`` scope, from a client that
still exists and is active, and either

- a client_credentials token of a service client: it administers the client's tier node and everything below
  it (operators' and integrations' tokens, ``./gatehouse token admin``), or
- a user's token from the authorization code flow: the user must be active and, read on every call, hold an
  admin role (``services/roles.py``); the user administers the nodes of those roles and everything below them,
  limited to the client's tier node (an organization's own admin console cannot reach above the organization).

Anything outside that reach is refused: 403 for a node named in the request, 404 for resources (users, clients)
that the caller cannot see at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from chalicelib import container
from chalicelib.core.entities import Client, TenantTree, TierNode
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound, TokenInvalid
from chalicelib.core.ids import ROOT_NODE, ClientId, NodeId, UserId
from chalicelib.services.audit import Actor
from chalicelib.services.roles import ADMIN_SCOPE
from chalicelib.web.audit import actor_of
from chalicelib.web.errors import InsufficientScope
from chalicelib.web.http import HttpRequest
from chalicelib.web.oidc.resources import bearer_token

NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class AdminAccess:
    """The authorized caller: the tenant's tree, the nodes it administers (``roots``) and itself as an actor."""

    tree: TenantTree
    actor: Actor
    roots: tuple[TierNode, ...]
    via: Literal["client", "user"]
    reach: frozenset[NodeId] = field(default=frozenset())

    @classmethod
    def of(cls, tree: TenantTree, actor: Actor, roots: list[TierNode], via: Literal["client", "user"]) -> AdminAccess:
        ordered = tuple(sorted(roots, key=lambda n: (len(tree.chain(n.node_id)), n.slug)))
        reach = frozenset(n for n in tree.nodes if any(tree.is_within(n, r.node_id) for r in ordered))
        return cls(tree, actor, ordered, via, reach)

    @property
    def whole_tenant(self) -> bool:
        return ROOT_NODE in self.reach

    def covers(self, node_id: NodeId) -> bool:
        return node_id in self.reach

    def node(self, slug: object) -> TierNode:
        """The named node, if the caller administers it (NotFound, else Forbidden)."""
        node = self.tree.find_by_slug(slug) if isinstance(slug, str) else None
        if node is None:
            raise NotFound(f"Unknown tier node '{str(slug)[:64]}'.")
        if not self.covers(node.node_id):
            raise Forbidden(f"You do not administer '{node.slug}'.")
        return node

    def node_or_home(self, slug: object, field_name: str = "node") -> TierNode:
        """The named node, or the caller's own node when none is named (which must then be unambiguous)."""
        if slug is not None:
            if not isinstance(slug, str):
                raise InvalidInput(f"{field_name} must be a slug.", fields={field_name: "invalid"})
            return self.node(slug)
        if len(self.roots) != 1:
            raise InvalidInput(f"You administer several nodes: name the {field_name}.", fields={field_name: "required"})
        return self.roots[0]


def authorize(request: HttpRequest, tenant: str) -> AdminAccess:
    tree = container.tenants().tree(tenant)
    claims, _ = container.authorization().validate_access_token(tree.tenant_id, bearer_token(request), need_user=False)
    if ADMIN_SCOPE not in str(claims.get("scope", "")).split():
        raise InsufficientScope("An access token with the 'admin' scope is required.")
    client = container.clients().get(tree.tenant_id, ClientId(str(claims["client_id"])))
    if client is None or client.status != "active" or not tree.is_active(client.tier_node_id):
        raise Forbidden(detail="client gone or disabled")
    if claims.get("gid") is None:
        if client.client_type != "service":
            raise Forbidden(detail="client_credentials token of a non-service client")
        actor = actor_of(request, tree.tenant_id, client.client_id, client.tier_node_id)
        return AdminAccess.of(tree, actor, [tree.nodes[client.tier_node_id]], "client")
    return _user_access(request, tree, client, UserId(str(claims["sub"])))


def _user_access(request: HttpRequest, tree: TenantTree, client: Client, user_id: UserId) -> AdminAccess:
    try:
        user = container.accounts().get(tree.tenant_id, user_id)
    except NotFound as error:
        raise TokenInvalid(detail="user gone") from error
    if user.status != "active":
        raise TokenInvalid(detail="user not active")
    roots = []
    for node_id in container.roles().admin_nodes(tree.tenant_id, user_id):
        if tree.is_within(node_id, client.tier_node_id):
            roots.append(tree.nodes[node_id])
        elif tree.is_within(client.tier_node_id, node_id):
            roots.append(tree.nodes[client.tier_node_id])
    if not roots:
        raise Forbidden("You hold no admin role here.")
    unique = list({n.node_id: n for n in roots}.values())
    top = min(unique, key=lambda n: (len(tree.chain(n.node_id)), n.slug))
    actor = actor_of(request, tree.tenant_id, f"user:{user_id}", top.node_id)
    return AdminAccess.of(tree, actor, unique, "user")
