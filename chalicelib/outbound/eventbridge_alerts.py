"""Security alerts as Amazon EventBridge events on the alerts bus, for rules to route per tenant.

Each event has ``source`` "gatehouse", ``detail-type`` "Gatehouse Security Alert" and ``detail``
``{"tenant", "kind", ...payload}``, so a rule selects one tenant's alerts with
``{"source": ["gatehouse"], "detail": {"tenant": ["<tenant>"]}}`` (add ``"kind": [...]`` to narrow it).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import TenantId
from chalicelib.outbound.aws import client

SOURCE = "gatehouse"
DETAIL_TYPE = "Gatehouse Security Alert"


def alert_entry(bus: str, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> dict[str, str]:
    """The ``PutEvents`` entry of one alert; ``tenant`` and ``kind`` always come from the arguments."""
    detail = {"tenant": tenant_id, "kind": kind, **payload}
    detail.update(tenant=tenant_id, kind=kind)
    return {
        "EventBusName": bus,
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail, separators=(",", ":"), default=str),
    }


class EventBridgeAlertPublisher:
    def __init__(self, event_bus: str | None = None) -> None:
        self._bus = event_bus or settings().alerts_event_bus

    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        try:
            answer = client("events").put_events(Entries=[alert_entry(self._bus, tenant_id, kind, payload)])
        except Exception as error:  # botocore errors: EventBridge unreachable, throttled, bus missing
            raise DependencyUnavailable(detail=f"eventbridge put_events: {error}") from error
        # PutEvents answers 200 even when an entry was refused: the failure is in the entry.
        if answer.get("FailedEntryCount", 0):
            failed: dict[str, str] = next((entry for entry in answer.get("Entries", []) if entry.get("ErrorCode")), {})
            code, message = failed.get("ErrorCode", "unknown"), failed.get("ErrorMessage", "")
            raise DependencyUnavailable(detail=f"eventbridge put_events refused the alert: {code} {message}".strip())
