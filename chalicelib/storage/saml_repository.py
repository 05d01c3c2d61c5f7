"""SAML SP state in the main table: SP keys, issued AuthnRequests and the assertion replay cache."""

from __future__ import annotations

import datetime as dt

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.digests import secret_digest
from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.ids import TenantId
from chalicelib.core.saml import SamlRequest, SamlSpKey
from chalicelib.storage import keys
from chalicelib.storage.errors import save_or_raise, translate_errors, update_or_raise
from chalicelib.storage.models import MainItem, SamlAssertionItem, SamlRequestItem, SamlSpKeyItem

SK_KEY = "KEY"
SK_REQUEST = "REQUEST"
SK_ASSERTION = "ASSERTION"
KEEP_AFTER_EXPIRY = 3600


def _ttl(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch + KEEP_AFTER_EXPIRY, tz=dt.UTC)


def _request_key(tenant_id: TenantId, integration: str, request_id: str) -> str:
    # Request IDs come back from the network (InResponseTo): only their digest is used to build a key.
    return keys.saml_request(tenant_id, integration, secret_digest(request_id))


class DynamoSamlRepository:
    @translate_errors
    def get_sp_key(self, tenant_id: TenantId, integration: str) -> SamlSpKey | None:
        try:
            item = SamlSpKeyItem.get(keys.saml_sp_key(tenant_id, integration), SK_KEY)
        except DoesNotExist:
            return None
        if item.tenant_id != tenant_id or item.integration != integration:
            return None
        return SamlSpKey(
            tenant_id=TenantId(item.tenant_id),
            integration=item.integration,
            certificate_pem=item.certificate_pem,
            encrypted_private_key=bytes(item.encrypted_private_key),
            created_at=int(item.created_at),
        )

    @translate_errors
    def add_sp_key(self, key: SamlSpKey) -> None:
        item = SamlSpKeyItem(
            keys.saml_sp_key(key.tenant_id, key.integration),
            SK_KEY,
            tenant_id=key.tenant_id,
            integration=key.integration,
            certificate_pem=key.certificate_pem,
            encrypted_private_key=key.encrypted_private_key,
            created_at=key.created_at,
        )
        save_or_raise(item, MainItem.pk.does_not_exist(), AlreadyExists("This integration already has an SP key."))

    @translate_errors
    def save_request(self, request: SamlRequest) -> None:
        SamlRequestItem(
            _request_key(request.tenant_id, request.integration, request.request_id),
            SK_REQUEST,
            tenant_id=request.tenant_id,
            integration=request.integration,
            request_id=request.request_id,
            flow=request.flow,
            expires_at=request.expires_at,
            ttl=_ttl(request.expires_at),
        ).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def consume_request(self, tenant_id: TenantId, integration: str, request_id: str, *, now: int) -> SamlRequest:
        item = SamlRequestItem(_request_key(tenant_id, integration, request_id), SK_REQUEST)
        update_or_raise(
            item,
            [SamlRequestItem.consumed_at.set(now)],
            (
                MainItem.pk.exists()
                & (SamlRequestItem.tenant_id == tenant_id)
                & (SamlRequestItem.integration == integration)
                & (SamlRequestItem.request_id == request_id)
                & (SamlRequestItem.consumed_at == 0)
                & (SamlRequestItem.expires_at > now)
            ),
            CodeInvalid(detail="SAML request unknown, expired or already answered"),
        )
        return SamlRequest(
            tenant_id=TenantId(item.tenant_id),
            integration=item.integration,
            request_id=item.request_id,
            flow=dict(item.flow),
            expires_at=int(item.expires_at),
        )

    @translate_errors
    def remember_assertion(self, tenant_id: TenantId, issuer: str, assertion_id: str, *, expires_at: int) -> None:
        item = SamlAssertionItem(
            keys.saml_assertion(tenant_id, secret_digest(issuer), secret_digest(assertion_id)),
            SK_ASSERTION,
            expires_at=expires_at,
            ttl=_ttl(expires_at),
        )
        save_or_raise(item, MainItem.pk.does_not_exist(), CodeInvalid(detail="SAML assertion replayed"))
