"""Audit repository on DynamoDB Local: tenant-scoped partitions, newest first, cursor pages, filters, TTL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.stack


def _event(tenant: str, n: int, action: str, node: str = "root") -> Any:
    from chalicelib.core.entities import AuditEvent
    from chalicelib.core.ids import NodeId, TenantId

    return AuditEvent(
        tenant_id=TenantId(tenant),
        event_id=f"{1700000000000 + n:013d}-{uuid.uuid4().hex[:16]}",
        action=action,
        actor="svc",
        target_id=f"target-{n}",
        node_id=NodeId(node),
        occurred_at=1700000000 + n,
        source_ip="203.0.113.9",
        user_agent="ua",
        outcome="success",
        details={"n": n},
    )


def test_events_are_tenant_scoped_newest_first_paged_and_filtered(local_stack: Any) -> None:
    from chalicelib.core.ids import NodeId, TenantId
    from chalicelib.storage import keys
    from chalicelib.storage.audit_repository import DynamoAuditRepository
    from chalicelib.storage.models import AuditItem

    repository = DynamoAuditRepository()
    a, b = f"aud-{uuid.uuid4().hex[:8]}", f"aud-{uuid.uuid4().hex[:8]}"
    for n in range(5):
        repository.append(
            _event(a, n, "x.create" if n % 2 else "y.delete", "n-1" if n < 2 else "root"), expires_at=2000000000
        )
    repository.append(_event(b, 9, "x.create"), expires_at=2000000000)

    everything, end = repository.list_events(TenantId(a), limit=50)
    assert [e.target_id for e in everything] == [f"target-{n}" for n in (4, 3, 2, 1, 0)] and end is None
    assert everything[0].details == {"n": 4} and everything[0].source_ip == "203.0.113.9"

    first, cursor = repository.list_events(TenantId(a), limit=2)
    assert [e.target_id for e in first] == ["target-4", "target-3"] and cursor == first[-1].event_id
    second, _ = repository.list_events(TenantId(a), limit=2, before=cursor)
    assert [e.target_id for e in second] == ["target-2", "target-1"]

    creates, _ = repository.list_events(TenantId(a), limit=50, action="x.create")
    assert [e.target_id for e in creates] == ["target-3", "target-1"]
    prefixed, _ = repository.list_events(TenantId(a), limit=50, action="y.")
    assert [e.target_id for e in prefixed] == ["target-4", "target-2", "target-0"]
    scoped, _ = repository.list_events(TenantId(a), limit=50, node_ids=frozenset({NodeId("n-1")}))
    assert [e.target_id for e in scoped] == ["target-1", "target-0"]

    only_b, _ = repository.list_events(TenantId(b), limit=50)
    assert [e.target_id for e in only_b] == ["target-9"]
    item = next(iter(AuditItem.query(keys.audit_events(TenantId(a)), limit=1)))
    assert item.pk == f"T#{a}#AUDIT" and item.ttl is not None and int(item.ttl.timestamp()) == 2000000000


def test_a_flood_of_one_kind_never_buries_another_kind(local_stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing by type reads that kind's index partition: an older sign-in failure under more token events than one
    call examines is still found in the first call, with nothing further to page."""
    from chalicelib.core.ids import TenantId
    from chalicelib.storage import audit_repository
    from chalicelib.storage.audit_repository import DynamoAuditRepository

    monkeypatch.setattr(audit_repository, "MAX_EXAMINED", 100)
    repository = DynamoAuditRepository()
    tenant = f"aud-{uuid.uuid4().hex[:8]}"
    repository.append_batch([_event(tenant, 0, "signin.failure"), _event(tenant, 1, "signin.success")])
    repository.append_batch([_event(tenant, n, "token.issue") for n in range(2, 302)])

    failures, cursor = repository.list_events(TenantId(tenant), limit=10, action="signin.failure")
    assert [e.target_id for e in failures] == ["target-0"] and cursor is None
    signins, _ = repository.list_events(TenantId(tenant), limit=10, action="signin.")
    assert [e.target_id for e in signins] == ["target-1", "target-0"]
    tokens, cursor = repository.list_events(TenantId(tenant), limit=250, action="token.issue")
    assert len(tokens) == 100 and cursor == tokens[-1].event_id  # the examined bound still returns a cursor
    rest, _ = repository.list_events(TenantId(tenant), limit=250, action="token.issue", before=cursor)
    assert len(rest) == 100 and rest[0].target_id == "target-201"
    everything, _ = repository.list_events(TenantId(tenant), limit=5)
    assert [e.target_id for e in everything] == [f"target-{n}" for n in (301, 300, 299, 298, 297)]
