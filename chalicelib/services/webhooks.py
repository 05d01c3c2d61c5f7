"""Outbound provisioning webhooks: one per tenant, every delivery signed with HMAC-SHA256.

Headers of a delivery: ``Gatehouse-Event-Id`` (stable across retries, so a receiver can deduplicate) and
``Gatehouse-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the webhook secret>``. A
receiver recomputes the HMAC, compares in constant time and rejects old timestamps. The secret is shown once when
the webhook is set and stored only envelope-encrypted (KMS). Retries are the workflow's (Step Functions ``Retry``);
a delivery that does not get a 2xx raises ``WebhookDeliveryFailed``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import DependencyUnavailable, InvalidInput, NotFound
from chalicelib.core.federation import Webhook
from chalicelib.core.ids import TenantId, new_secret
from chalicelib.core.ports import HttpClient, KeyEncryption, WebhookRepository
from chalicelib.services.idp_documents import check_issuer

SIGNATURE_HEADER = "Gatehouse-Signature"
EVENT_HEADER = "Gatehouse-Event-Id"


class WebhookDeliveryFailed(Exception):
    """The receiver did not accept the delivery (the workflow retries it)."""


def _context(tenant_id: TenantId) -> dict[str, str]:
    return {"tenant": tenant_id, "purpose": "webhook-secret", "id": "provisioning"}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookService:
    def __init__(self, repository: WebhookRepository, encryption: KeyEncryption, http: HttpClient) -> None:
        self._repository = repository
        self._encryption = encryption
        self._http = http

    def set(self, tenant_id: TenantId, url: str) -> tuple[Webhook, str]:
        """Set (or replace) the tenant's webhook with a fresh secret; returns it with the secret (shown once)."""
        try:
            checked = check_issuer(url)  # https (http only on loopback), no query or fragment
        except InvalidInput as error:
            raise InvalidInput("The webhook URL must be https.", fields={"url": "invalid"}) from error
        secret = new_secret()
        webhook = Webhook(
            tenant_id, checked, self._encryption.encrypt(secret.encode(), _context(tenant_id)), clock.now()
        )
        self._repository.put(webhook)
        return webhook, secret

    def get(self, tenant_id: TenantId) -> Webhook | None:
        return self._repository.get(tenant_id)

    def delete(self, tenant_id: TenantId) -> None:
        if not self._repository.delete(tenant_id):
            raise NotFound("This tenant has no webhook.")

    def deliver(self, tenant_id: TenantId, event_id: str, event: dict[str, Any]) -> bool:
        """Send one event; False if the tenant has no webhook. Raises WebhookDeliveryFailed on a non-2xx."""
        webhook = self._repository.get(tenant_id)
        if webhook is None:
            return False
        secret = self._encryption.decrypt(webhook.secret_blob, _context(tenant_id)).decode()
        body = json.dumps({"id": event_id, **event}, sort_keys=True, separators=(",", ":")).encode()
        headers = {SIGNATURE_HEADER: signature(secret, clock.now(), body), EVENT_HEADER: event_id}
        try:
            status = self._http.post_json(webhook.url, body, headers)
        except DependencyUnavailable as error:
            raise WebhookDeliveryFailed(f"webhook unreachable: {error.detail}") from error
        if not 200 <= status < 300:
            raise WebhookDeliveryFailed(f"webhook answered HTTP {status}")
        return True
