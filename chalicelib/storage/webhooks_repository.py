"""A tenant's provisioning webhook (one item per tenant)."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.core.federation import Webhook
from chalicelib.core.ids import TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, translate_errors
from chalicelib.storage.models import MainItem, WebhookItem

SK = "PROVISIONING"


class DynamoWebhookRepository:
    @translate_errors
    def get(self, tenant_id: TenantId) -> Webhook | None:
        try:
            item = WebhookItem.get(keys.webhook(tenant_id), SK)
        except DoesNotExist:
            return None
        return Webhook(TenantId(item.tenant_id), item.url, bytes(item.secret_blob), int(item.created_at))

    @translate_errors
    def put(self, webhook: Webhook) -> None:
        WebhookItem(
            keys.webhook(webhook.tenant_id),
            SK,
            tenant_id=webhook.tenant_id,
            url=webhook.url,
            secret_blob=webhook.secret_blob,
            created_at=webhook.created_at,
        ).save()

    @translate_errors
    def delete(self, tenant_id: TenantId) -> bool:
        try:
            WebhookItem(keys.webhook(tenant_id), SK).delete(condition=MainItem.sk.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
