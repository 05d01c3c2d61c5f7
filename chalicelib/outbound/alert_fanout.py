"""Security alerts to every configured channel (the SNS topic, the EventBridge bus): one failing does not stop the
others; only when all fail does the publish fail (callers log it and carry on)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import AlertPublisher

log = logging.getLogger(__name__)


class FanOutAlertPublisher:
    def __init__(self, sinks: Sequence[tuple[str, AlertPublisher]]) -> None:
        if not sinks:
            raise ValueError("at least one alert channel is needed")
        self._sinks = tuple(sinks)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._sinks)

    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        failures = []
        for name, sink in self._sinks:
            try:
                sink.publish(tenant_id, kind, payload)
            except Exception as error:  # any failure of one channel: the others still get the alert
                failures.append(f"{name}: {error}")
                log.exception("security alert %s not published to %s", kind, name)
        if len(failures) == len(self._sinks):
            raise DependencyUnavailable(detail="; ".join(failures))
