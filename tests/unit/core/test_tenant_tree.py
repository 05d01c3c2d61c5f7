"""TenantTree.is_within: the reach of a tier-scoped admin."""

from __future__ import annotations

from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.ids import NodeId, TenantId


def node(node_id: str, parent: str | None, tier: str) -> TierNode:
    return TierNode(TenantId("t"), NodeId(node_id), tier, node_id, node_id, NodeId(parent) if parent else None)  # type: ignore[arg-type]


TREE = TenantTree(
    TenantId("t"),
    {
        n.node_id: n
        for n in (
            node("root", None, "customer"),
            node("org", "root", "organization"),
            node("org2", "root", "organization"),
            node("east", "org", "account"),
            node("west", "org", "account"),
        )
    },
)


def test_a_node_reaches_itself_and_everything_below() -> None:
    assert TREE.is_within(NodeId("org"), NodeId("org"))
    assert TREE.is_within(NodeId("east"), NodeId("org"))
    assert TREE.is_within(NodeId("east"), NodeId("root"))


def test_a_node_does_not_reach_its_parent_siblings_or_unknown_nodes() -> None:
    assert not TREE.is_within(NodeId("org"), NodeId("east"))
    assert not TREE.is_within(NodeId("west"), NodeId("east"))
    assert not TREE.is_within(NodeId("org2"), NodeId("org"))
    assert not TREE.is_within(NodeId("root"), NodeId("org"))
    assert not TREE.is_within(NodeId("nowhere"), NodeId("root"))
