"""Security alerts on an SNS topic for tenants to consume (subscribe a queue, a Lambda or an HTTPS endpoint).

Each message is JSON ``{"tenant", "kind", ...payload}`` with the message attributes ``tenant`` and ``kind``, so a
subscription filter policy can deliver one tenant's alerts only.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import TenantId
from chalicelib.outbound.aws import client


class SnsAlertPublisher:
    def __init__(self, topic_arn: str | None = None) -> None:
        self._topic_arn = topic_arn or settings().alerts_topic_arn

    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        message = json.dumps({"tenant": tenant_id, "kind": kind, **payload}, separators=(",", ":"), default=str)
        try:
            client("sns").publish(
                TopicArn=self._topic_arn,
                Subject=f"Gatehouse security alert: {kind}"[:99],
                Message=message,
                MessageAttributes={
                    "tenant": {"DataType": "String", "StringValue": tenant_id},
                    "kind": {"DataType": "String", "StringValue": kind},
                },
            )
        except Exception as error:  # botocore errors: SNS unreachable, throttled, topic missing
            raise DependencyUnavailable(detail=f"sns publish: {error}") from error
