"""``token.issue`` and ``token.revoke`` audit events: what was issued or revoked, to which client and subject,
from where; the grant id and access-token ``jti`` identify the tokens, never the tokens themselves.

Where to: an event is built here and either written inside the request's one DynamoDB write (code exchange,
anonymous sign-in: the grant and its event in one transaction) or published on the audit log channel (client
credentials, refresh, revocations: no DynamoDB request on the hot path; the ingest function stores it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chalicelib.core.entities import AuditEvent, AuditOutcome, Client
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.core.ports import AuditEventChannel
from chalicelib.services.audit import SYSTEM, AuditService, Origin, Scalar

log = logging.getLogger(__name__)

ISSUE = "token.issue"
REVOKE = "token.revoke"


NO_ORIGIN = SYSTEM


class TokenEvents:
    def __init__(self, audit: AuditService, channel: AuditEventChannel) -> None:
        self._audit = audit
        self._channel = channel

    def event(
        self,
        tenant_id: TenantId,
        client_id: str,
        node_id: NodeId,
        action: str,
        *,
        subject: str,
        origin: Origin | None,
        outcome: AuditOutcome = "success",
        details: Mapping[str, Scalar],
    ) -> AuditEvent:
        """An event by client ``client_id`` (of tier node ``node_id``) about ``subject`` (a user id, or the client
        itself for client credentials)."""
        origin = origin or NO_ORIGIN
        return self._audit.user_event(
            tenant_id,
            "",  # not indexed per user: refreshes every few minutes would crowd the user's own activity list
            action,
            node_id=node_id,
            source_ip=origin.source_ip,
            user_agent=origin.user_agent,
            outcome=outcome,
            actor=client_id,
            target_id=subject,
            details={"client_id": client_id, **details},
        )

    def publish(self, event: AuditEvent) -> None:
        """Hand the event to the log channel; a failure is logged, never fails the request that caused it."""
        try:
            self._channel.publish(event)
        except Exception:
            log.exception("%s event of %s could not be published", event.action, event.tenant_id)

    def issued(
        self,
        tenant_id: TenantId,
        client: Client,
        *,
        grant_type: str,
        subject: str,
        origin: Origin | None,
        jti: str,
        scope: tuple[str, ...],
        grant_id: str = "",
    ) -> AuditEvent:
        return self.event(
            tenant_id,
            client.client_id,
            client.tier_node_id,
            ISSUE,
            subject=subject,
            origin=origin,
            details={"grant_type": grant_type, "grant_id": grant_id, "jti": jti, "scope": " ".join(scope)},
        )

    def refused(
        self, tenant_id: TenantId, client: Client, *, grant_type: str, reason: str, origin: Origin | None
    ) -> None:
        """A token request the endpoint refused after authenticating the client (``reason``: the error kind)."""
        self.publish(
            self.event(
                tenant_id,
                client.client_id,
                client.tier_node_id,
                ISSUE,
                subject=client.client_id,
                origin=origin,
                outcome="failure",
                details={"grant_type": grant_type, "reason": reason},
            )
        )

    def revoked(
        self,
        tenant_id: TenantId,
        client_id: str,
        node_id: NodeId,
        *,
        subject: str,
        origin: Origin | None,
        reason: str,
        grant_id: str = "",
        jti: str = "",
    ) -> None:
        details: dict[str, Scalar] = {"reason": reason}
        if grant_id:
            details["grant_id"] = grant_id
        if jti:
            details["jti"] = jti
        self.publish(self.event(tenant_id, client_id, node_id, REVOKE, subject=subject, origin=origin, details=details))
