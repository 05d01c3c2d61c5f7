"""Task handlers of the just-in-time provisioning workflow (``infra/statemachines/jit_provisioning.asl.json``).

Each takes the ids the execution carries (tenant and federated login; never attributes or tokens), makes one
service call and returns a small dict. Every step is idempotent (Step Functions retries them).
``WebhookDeliveryFailed`` is the error name the definition retries the notification on.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.ids import TenantId
from chalicelib.services.webhooks import WebhookDeliveryFailed

__all__ = ["WebhookDeliveryFailed", "fail_login", "notify_webhook", "record_identity", "resolve_account"]


def _ids(event: dict[str, Any]) -> tuple[TenantId, str]:
    tenant_id, login_id = event.get("tenant_id"), event.get("login_id")
    if not isinstance(tenant_id, str) or not tenant_id or len(tenant_id) > 63:
        raise ValueError("event field 'tenant_id' is missing or malformed")
    if not isinstance(login_id, str) or not login_id or len(login_id) > 64:
        raise ValueError("event field 'login_id' is missing or malformed")
    return TenantId(tenant_id), login_id


def resolve_account(event: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": container.federation().resolve(*_ids(event))}


def record_identity(event: dict[str, Any]) -> dict[str, Any]:
    return container.federation().record(*_ids(event))


def notify_webhook(event: dict[str, Any]) -> dict[str, Any]:
    return {"delivered": container.federation().notify(*_ids(event))}


def fail_login(event: dict[str, Any]) -> dict[str, Any]:
    container.federation().fail_provisioning(*_ids(event))
    return {"failed": True}
