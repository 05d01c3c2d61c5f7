"""Recording admin and SCIM writes as audit events, from the protocol adapters.

``audited`` wraps one write: exactly one event, ``success`` when the block completes and ``failure`` (with the
error's class name, never its message) when it raises. The block fills in what it learns on the way, such as the
id of a created resource. A failure to store the event is logged and does not undo or fail the write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from chalicelib import container
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.services.audit import Actor, Origin, Scalar
from chalicelib.web.http import HttpRequest

log = logging.getLogger(__name__)


def actor_of(request: HttpRequest, tenant_id: TenantId, subject: str, node_id: NodeId) -> Actor:
    return Actor(tenant_id, subject, node_id, request.source_ip, request.user_agent)


@dataclass
class Note:
    """What the write is about; the block may set ``target_id``, ``node_id`` and ``details`` once known."""

    target_id: str
    node_id: NodeId | None = None
    details: dict[str, Scalar] = field(default_factory=dict)


@contextmanager
def audited(actor: Actor, action: str, target_id: str = "", node_id: NodeId | None = None) -> Iterator[Note]:
    note = Note(target_id, node_id)
    try:
        yield note
    except Exception as error:
        _record(actor, action, note, {"error": type(error).__name__})
        raise
    _record(actor, action, note, None)


def _record(actor: Actor, action: str, note: Note, failure: dict[str, Scalar] | None) -> None:
    try:
        container.audit().record(
            actor,
            action,
            note.target_id,
            outcome="failure" if failure else "success",
            node_id=note.node_id,
            details={**note.details, **(failure or {})},
        )
    except Exception:  # the write itself is done: losing its event must not turn it into an error
        log.exception("audit event %s on %s could not be stored", action, note.target_id)


def origin_of(request: HttpRequest, client_id: str = "") -> Origin:
    """Where a self-service request came from, for the events the services record about it."""
    return Origin(request.source_ip, request.user_agent, client_id[:128])


def record_user_event(
    request: HttpRequest, tenant_id: TenantId, user_id: str, node_id: NodeId, action: str, details: dict[str, Scalar]
) -> None:
    """An event about an end user's own action, stored right after it (losing it is logged, never an error)."""
    audit = container.audit()
    event = audit.about_user(tenant_id, user_id, action, origin_of(request), node_id=node_id, details=details)
    audit.append_after(event)
