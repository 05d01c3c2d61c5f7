"""Task handlers of the data export and account deletion workflows
(``infra/statemachines/data_export.asl.json``, ``infra/statemachines/account_deletion.asl.json``).

Each takes the ids the execution carries (never an email, link or token), makes one service call and returns a
small dict; Retry and Catch are in the definitions.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.ids import TenantId, UserId


def _text(event: dict[str, Any], name: str, limit: int = 128) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"event field {name!r} is missing or malformed")
    return value


def _ids(event: dict[str, Any]) -> tuple[TenantId, UserId]:
    return TenantId(_text(event, "tenant_id")), UserId(_text(event, "user_id"))


def build_data_export(event: dict[str, Any]) -> dict[str, Any]:
    tenant_id, user_id = _ids(event)
    size = container.data_exports().build(tenant_id, user_id, _text(event, "export_id"))
    return {"size": size}


def send_data_export_link(event: dict[str, Any]) -> dict[str, Any]:
    tenant_id, user_id = _ids(event)
    container.data_exports().send_link(tenant_id, user_id, _text(event, "export_id"))
    return {"sent": True}


def mark_data_export_failed(event: dict[str, Any]) -> dict[str, Any]:
    tenant_id, user_id = _ids(event)
    container.data_exports().mark_failed(tenant_id, user_id, _text(event, "export_id"))
    return {"failed": True}


def erase_account(event: dict[str, Any]) -> dict[str, Any]:
    tenant_id, user_id = _ids(event)
    scheduled_at = event.get("scheduled_at")
    if not isinstance(scheduled_at, int) or scheduled_at <= 0:
        raise ValueError("event field 'scheduled_at' must be a positive integer")
    return container.account_deletion().erase(tenant_id, user_id, scheduled_at)
