"""Remembered consent: which scopes a user granted to a client."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.entities import Consent
from chalicelib.core.ids import ClientId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.errors import translate_errors
from chalicelib.storage.models import ConsentItem


def _to_consent(item: ConsentItem) -> Consent:
    return Consent(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        client_id=ClientId(item.client_id),
        scopes=tuple(sorted(item.scopes or ())),
        granted_at=int(item.granted_at),
    )


class DynamoConsentRepository:
    @translate_errors
    def get(self, tenant_id: TenantId, user_id: UserId, client_id: ClientId) -> Consent | None:
        try:
            return _to_consent(ConsentItem.get(keys.user(tenant_id, user_id), keys.consent_sk(client_id)))
        except DoesNotExist:
            return None

    @translate_errors
    def grant(self, consent: Consent) -> None:
        ConsentItem(
            keys.user(consent.tenant_id, consent.user_id),
            keys.consent_sk(consent.client_id),
            tenant_id=consent.tenant_id,
            user_id=consent.user_id,
            client_id=consent.client_id,
            scopes=set(consent.scopes),
            granted_at=consent.granted_at,
        ).save()

    @translate_errors
    def revoke(self, tenant_id: TenantId, user_id: UserId, client_id: ClientId) -> None:
        ConsentItem(keys.user(tenant_id, user_id), keys.consent_sk(client_id)).delete()

    @translate_errors
    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[Consent]:
        return [
            _to_consent(i)
            for i in ConsentItem.query(keys.user(tenant_id, user_id), ConsentItem.sk.startswith("CONSENT#"))
        ]
