"""Per-tenant signing keys (private keys envelope-encrypted by the service layer before they get here)."""

from __future__ import annotations

from chalicelib.core.entities import SigningKey
from chalicelib.core.errors import AlreadyExists
from chalicelib.core.ids import TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import save_or_raise, translate_errors
from chalicelib.storage.models import MainItem, SigningKeyItem


def _to_key(item: SigningKeyItem) -> SigningKey:
    return SigningKey(
        tenant_id=TenantId(item.tenant_id),
        kid=item.kid,
        alg=item.alg,
        status=item.status,  # type: ignore[arg-type]
        public_jwk=dict(item.public_jwk),
        encrypted_private_key=bytes(item.encrypted_private_key),
        created_at=int(item.created_at),
        retired_at=int(item.retired_at or 0),
        publish_until=int(item.publish_until or 0),
    )


class DynamoSigningKeyRepository:
    @translate_errors
    def list(self, tenant_id: TenantId) -> list[SigningKey]:
        return [_to_key(i) for i in SigningKeyItem.query(keys.signing_keys(tenant_id))]

    @translate_errors
    def add(self, key: SigningKey) -> None:
        item = SigningKeyItem(
            keys.signing_keys(key.tenant_id),
            key.kid,
            tenant_id=key.tenant_id,
            kid=key.kid,
            alg=key.alg,
            status=key.status,
            public_jwk=key.public_jwk,
            encrypted_private_key=key.encrypted_private_key,
            created_at=key.created_at,
        )
        save_or_raise(item, MainItem.pk.does_not_exist(), AlreadyExists("Key id collision."))

    @translate_errors
    def retire(self, tenant_id: TenantId, kid: str, *, retired_at: int, publish_until: int) -> None:
        SigningKeyItem(keys.signing_keys(tenant_id), kid).update(
            actions=[
                SigningKeyItem.status.set("retired"),
                SigningKeyItem.retired_at.set(retired_at),
                SigningKeyItem.publish_until.set(publish_until),
            ],
            condition=MainItem.pk.exists(),
        )
