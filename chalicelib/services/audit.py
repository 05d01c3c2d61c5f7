"""Audit trail of security-relevant actions (admin and provisioning writes, sign-ins, self-service, MFA, consent,
federation): one immutable event each, kept 400 days, never with secrets.

Details are a small flat map of names and values describing the change; keys that could carry a credential
(password, secret, token, hash, key, code, OTP, cookie) are dropped here, whatever a caller passes, so no event
can hold one. Events about end users carry the request's ``Origin`` (IP, user agent, client).
"""

from __future__ import annotations

import builtins
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, AuditOutcome, User
from chalicelib.core.errors import InvalidInput
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.core.ports import AuditRepository

log = logging.getLogger(__name__)

RETENTION_SECONDS = 400 * 24 * 3600
MAX_PAGE = 200
SECRET_KEYS = re.compile(r"pass|secret|token|hash|credential|key|code|otp|cookie", re.IGNORECASE)
ACTION = re.compile(r"^[a-z][a-z_.]{0,63}$")
EVENT_ID = re.compile(r"^\d{13}-[0-9a-f]{16}$")
SUBJECT = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
Scalar = str | int | bool | None


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: the token's client id (or subject), the node its rights come from, the request."""

    tenant_id: TenantId
    subject: str
    node_id: NodeId
    source_ip: str
    user_agent: str


@dataclass(frozen=True)
class Origin:
    """Where a self-service request came from, for the events it records (empty for the system's own steps)."""

    source_ip: str = ""
    user_agent: str = ""
    client_id: str = ""


SYSTEM = Origin()
WORKFLOW_ACTOR = "gatehouse:workflow"


def _safe_details(details: Mapping[str, Scalar]) -> dict[str, Scalar]:
    return {
        str(k)[:64]: (v[:256] if isinstance(v, str) else v)
        for k, v in details.items()
        if not SECRET_KEYS.search(str(k)) and isinstance(v, str | int | bool | None)
    }


class AuditService:
    def __init__(self, repository: AuditRepository) -> None:
        self._repository = repository

    def record(
        self,
        actor: Actor,
        action: str,
        target_id: str,
        *,
        outcome: AuditOutcome = "success",
        node_id: NodeId | None = None,
        details: Mapping[str, Scalar] | None = None,
    ) -> AuditEvent:
        """Append one event; ``node_id`` is the node acted on (default: the actor's node)."""
        # Milliseconds order events within a second (one reading: the second and its milliseconds always agree);
        # the random suffix makes ids unique.
        millis = clock.now_millis()
        now = millis // 1000
        event = AuditEvent(
            tenant_id=actor.tenant_id,
            event_id=f"{millis:013d}-{secrets.token_hex(8)}",
            action=action,
            actor=actor.subject,
            target_id=target_id[:256],
            node_id=node_id or actor.node_id,
            occurred_at=now,
            source_ip=actor.source_ip[:64],
            user_agent=actor.user_agent[:512],
            outcome=outcome,
            details=_safe_details(details or {}),
        )
        self._repository.append(event, expires_at=now + RETENTION_SECONDS)
        return event

    def list(
        self,
        tenant_id: TenantId,
        *,
        limit: int = 50,
        before: str | None = None,
        action: str | None = None,
        node_ids: frozenset[NodeId] | None = None,
        subject: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first; ``before`` is the cursor a previous page returned; ``subject`` a user (or client) the
        events are by or about; ``since``/``until`` epoch seconds, both included."""
        if subject is not None and not SUBJECT.match(subject):
            raise InvalidInput("Unknown user.", fields={"user": "invalid"})
        for name, value in (("since", since), ("until", until)):
            if value is not None and not 0 <= value < 10**11:
                raise InvalidInput(f"{name} must be a time in epoch seconds.", fields={name: "invalid"})
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1-{MAX_PAGE}.", fields={"limit": "invalid"})
        if before is not None and not EVENT_ID.match(before):
            raise InvalidInput("Unknown cursor.", fields={"cursor": "invalid"})
        if action is not None and not ACTION.match(action):
            raise InvalidInput("Unknown event type.", fields={"type": "invalid"})
        if until is not None:
            upper = f"{(until + 1) * 1000:013d}"
            before = min(before, upper) if before is not None else upper
        lower = f"{since * 1000:013d}" if since is not None else None
        return self._repository.list_events(
            tenant_id, limit=limit, before=before, action=action, node_ids=node_ids, subject=subject, since=lower
        )

    # --- events about end users (sign-ins, self-service): indexed per user ------------------------------------

    def user_event(
        self,
        tenant_id: TenantId,
        user_id: str,
        action: str,
        *,
        node_id: NodeId,
        source_ip: str,
        user_agent: str,
        outcome: AuditOutcome = "success",
        actor: str | None = None,
        target_id: str | None = None,
        details: Mapping[str, Scalar] | None = None,
    ) -> AuditEvent:
        """An event about end user ``user_id`` ("" when unknown, e.g. a failed sign-in for an unknown address),
        not yet stored: ``append`` it, or write it inside another transaction."""
        millis = clock.now_millis()
        now = millis // 1000
        return AuditEvent(
            tenant_id=tenant_id,
            event_id=f"{millis:013d}-{secrets.token_hex(8)}",
            action=action,
            actor=actor if actor is not None else (user_id or "anonymous"),
            target_id=(target_id if target_id is not None else user_id)[:256],
            node_id=node_id,
            occurred_at=now,
            source_ip=source_ip[:64],
            user_agent=user_agent[:512],
            outcome=outcome,
            details=_safe_details(details or {}),
            user_id=user_id,
        )

    def append(self, event: AuditEvent) -> None:
        self._repository.append(event, expires_at=event.occurred_at + RETENTION_SECONDS)

    def list_for_user(
        self, tenant_id: TenantId, user_id: str, *, days: int, limit: int = 500
    ) -> builtins.list[AuditEvent]:
        """The user's events of the last ``days`` days, newest first."""
        since = (clock.now() - days * 86400) * 1000
        return self._repository.list_for_user(tenant_id, user_id, since_event_id=f"{since:013d}", limit=limit)

    def pseudonymize_user(self, tenant_id: TenantId, user_id: str) -> tuple[str, int]:
        """At erasure: the user's events keep happening to one random pseudonym; returns (pseudonym, count)."""
        pseudonym = f"erased-{secrets.token_hex(8)}"
        return pseudonym, self._repository.pseudonymize_user(tenant_id, user_id, pseudonym)

    def about_user(
        self,
        tenant_id: TenantId,
        user_id: str,
        action: str,
        origin: Origin,
        *,
        node_id: NodeId,
        outcome: AuditOutcome = "success",
        actor: str | None = None,
        details: Mapping[str, Scalar] | None = None,
    ) -> AuditEvent:
        """``user_event`` from a request's origin (its client id joins the details), not yet stored."""
        merged: dict[str, Scalar] = {"client_id": origin.client_id} if origin.client_id else {}
        merged.update(details or {})
        return self.user_event(
            tenant_id,
            user_id,
            action,
            node_id=node_id,
            source_ip=origin.source_ip,
            user_agent=origin.user_agent,
            outcome=outcome,
            actor=actor,
            details=merged,
        )

    def record_about(
        self,
        tenant_id: TenantId,
        user: User,
        action: str,
        origin: Origin,
        *,
        outcome: AuditOutcome,
        details: Mapping[str, Scalar],
    ) -> None:
        """``about_user`` for ``user`` in its tier node, stored with ``append_after`` (the change is already done)."""
        event = self.about_user(
            tenant_id, user.user_id, action, origin, node_id=user.tier_node_id, outcome=outcome, details=details
        )
        self.append_after(event)

    def append_after(self, event: AuditEvent) -> None:
        """Store an event right after the state change it describes; the change is done, so losing the event
        is logged and never turns the request into an error."""
        try:
            self.append(event)
        except Exception:
            log.exception("%s event could not be stored", event.action)

    def store_delivered(self, events: builtins.list[AuditEvent]) -> int:
        """Events delivered by the log channel's ingest function (already built, ids included): stored as they are,
        again if delivered again (idempotent); returns how many were stored."""
        return self._repository.append_batch(events)
