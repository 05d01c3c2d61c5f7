"""Consent receipts (Kantara Initiative Consent Receipt Specification v1.1) for every consent given or withdrawn,
and the user's view of the applications they granted access to.

A receipt records who is the controller (the tenant), the PII principal (the user's subject id), the service (the
client), the purpose, the PII categories (the granted scopes) and when. v1.1 has no field for a withdrawal, so a
withdrawal receipt repeats the consent with ``termination`` saying when and how it ended, and names the
action in the extension member ``gatehouse:action`` (``granted`` or ``revoked``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any, Literal

from chalicelib.core import clock
from chalicelib.core.entities import Client, Consent, ConsentReceipt
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.ports import AccountDataRepository
from chalicelib.services.tokens import issuer_url

VERSION = "KI-CR-v1.1.0"
SCOPE_CATEGORIES = {
    "openid": "Identifier (subject)",
    "profile": "Name and profile",
    "email": "Email address",
    "phone": "Phone number",
    "address": "Postal address",
    "offline_access": "Access while signed out",
}


def receipt_document(
    *,
    receipt_id: str,
    action: Literal["granted", "revoked"],
    timestamp: int,
    controller: str,
    tenant_id: TenantId,
    user_id: UserId,
    client: Client,
    scopes: tuple[str, ...],
    method: str,
    language: str = "en",
) -> dict[str, Any]:
    third_party = not client.first_party
    return {
        "version": VERSION,
        "jurisdiction": "",
        "consentTimestamp": timestamp,
        "collectionMethod": method,
        "consentReceiptID": receipt_id,
        "language": language,
        "piiPrincipalId": user_id,
        "piiControllers": [
            {
                "piiController": controller,
                "onBehalf": False,
                "contact": controller,
                "address": "",
                "email": "",
                "phone": "",
                "piiControllerUrl": issuer_url(tenant_id),
            }
        ],
        "policyUrl": "",
        "services": [
            {
                "service": client.name,
                "purposes": [
                    {
                        "purpose": f"Sign in to {client.name} and share the listed information with it",
                        "purposeCategory": ["Core function"],
                        "consentType": "EXPLICIT",
                        "piiCategory": [SCOPE_CATEGORIES.get(s, s) for s in scopes],
                        "primaryPurpose": True,
                        "termination": (
                            f"Withdrawn by the PII principal at {timestamp}"
                            if action == "revoked"
                            else "Until withdrawn in the account portal"
                        ),
                        "thirdPartyDisclosure": third_party,
                        "thirdPartyName": client.name if third_party else "",
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "gatehouse:action": action,
        "gatehouse:clientId": client.client_id,
        "gatehouse:scopes": list(scopes),
    }


def time_ordered_uuid() -> str:
    """A UUID version 7 (RFC 9562 §5.7): unique, and receipts of the same second still sort in order."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    random = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((random >> 62) << 64) | (0b10 << 62) | (random & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class ConsentReceiptService:
    def __init__(self, data: AccountDataRepository, controller_name: Any) -> None:
        self._data = data
        self._controller_name = controller_name  # tenant id -> display name (lazy, from the tenant service)

    def issue(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        client: Client,
        scopes: tuple[str, ...],
        *,
        action: Literal["granted", "revoked"],
        method: str,
    ) -> ConsentReceipt:
        now = clock.now()
        receipt_id = time_ordered_uuid()
        receipt = ConsentReceipt(
            tenant_id=tenant_id,
            user_id=user_id,
            receipt_id=receipt_id,
            client_id=client.client_id,
            action=action,
            created_at=now,
            document=receipt_document(
                receipt_id=receipt_id,
                action=action,
                timestamp=now,
                controller=str(self._controller_name(tenant_id)),
                tenant_id=tenant_id,
                user_id=user_id,
                client=client,
                scopes=scopes,
                method=method,
            ),
        )
        self._data.add_receipt(receipt)
        return receipt

    def list(self, tenant_id: TenantId, user_id: UserId) -> list[ConsentReceipt]:
        return self._data.list_receipts(tenant_id, user_id)

    def get(self, tenant_id: TenantId, user_id: UserId, receipt_id: str) -> ConsentReceipt:
        found = next((r for r in self.list(tenant_id, user_id) if r.receipt_id == receipt_id), None)
        if found is None:
            raise NotFound("Unknown receipt.")
        return found


def consent_view(consent: Consent, client_name: str, receipts: list[ConsentReceipt]) -> dict[str, Any]:
    return {
        "client_id": consent.client_id,
        "application": client_name,
        "scopes": list(consent.scopes),
        "granted_at": consent.granted_at,
        "receipts": [r.receipt_id for r in receipts if r.client_id == consent.client_id],
    }
