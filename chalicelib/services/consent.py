"""Consent: which scopes a user granted to a third-party client, remembered per user and client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.entities import Client, Consent
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.ports import ConsentRepository

if TYPE_CHECKING:
    from chalicelib.services.consent_receipts import ConsentReceiptService


class ConsentService:
    def __init__(self, repository: ConsentRepository, receipts: ConsentReceiptService | None = None) -> None:
        self._repository = repository
        self._receipts = receipts

    def is_needed(
        self, tenant_id: TenantId, client: Client, user_id: UserId, scope: tuple[str, ...], *, forced: bool
    ) -> bool:
        if client.first_party and not forced:
            return False
        if forced:
            return True
        existing = self._repository.get(tenant_id, user_id, client.client_id)
        return existing is None or not set(scope) <= set(existing.scopes)

    def grant(self, tenant_id: TenantId, client: Client, user_id: UserId, scope: tuple[str, ...]) -> Consent:
        existing = self._repository.get(tenant_id, user_id, client.client_id)
        scopes = tuple(sorted(set(scope) | set(existing.scopes if existing else ())))
        consent = Consent(
            tenant_id=tenant_id, user_id=user_id, client_id=client.client_id, scopes=scopes, granted_at=clock.now()
        )
        self._repository.grant(consent)
        if self._receipts is not None:
            self._receipts.issue(tenant_id, user_id, client, scopes, action="granted", method="hosted consent page")
        return consent

    def revoke(self, tenant_id: TenantId, client: Client, user_id: UserId) -> None:
        existing = self._repository.get(tenant_id, user_id, client.client_id)
        self._repository.revoke(tenant_id, user_id, client.client_id)
        if self._receipts is not None and existing is not None:
            self._receipts.issue(
                tenant_id, user_id, client, existing.scopes, action="revoked", method="account self-service"
            )

    def list(self, tenant_id: TenantId, user_id: UserId) -> list[Consent]:
        return self._repository.list_for_user(tenant_id, user_id)
