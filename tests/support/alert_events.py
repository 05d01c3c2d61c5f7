"""A consumer of the security alerts bus, as a tenant's operator would set one up: an EventBridge rule with an event
pattern on the local alerts bus, targeting an SQS queue the test reads the matched events from."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3

from infra.local.stack import ALERTS_EVENT_BUS, REGION


class AlertQueue:
    def __init__(self, pattern: dict[str, Any], bus: str = ALERTS_EVENT_BUS) -> None:
        self.pattern, self.bus = pattern, bus
        self.name = f"alerts-{uuid.uuid4().hex[:12]}"
        session = boto3.session.Session()
        self._events = session.client("events", region_name=REGION)
        self._sqs = session.client("sqs", region_name=REGION)
        self._queue_url = ""

    def create(self) -> AlertQueue:
        self._queue_url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        self._events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(self.pattern))
        self._events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
        return self

    def delete(self) -> None:
        with contextlib.suppress(Exception):  # moto may have been reset (mock_aws) in between
            self._events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["queue"])
            self._events.delete_rule(Name=self.name, EventBusName=self.bus)
        with contextlib.suppress(Exception):
            self._sqs.delete_queue(QueueUrl=self._queue_url)

    def events(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """The events delivered so far (each received once), waiting up to ``wait_seconds`` for the first."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if found else wait_seconds
            )
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


@contextlib.contextmanager
def alert_queue(pattern: dict[str, Any], bus: str = ALERTS_EVENT_BUS) -> Iterator[AlertQueue]:
    queue = AlertQueue(pattern, bus).create()
    try:
        yield queue
    finally:
        queue.delete()


def tenant_pattern(tenant: str, **detail: list[str]) -> dict[str, Any]:
    """The pattern of a rule receiving one tenant's alerts (``detail`` narrows it, e.g. ``kind=[...]``)."""
    detail_pattern = {"tenant": [tenant], **detail}
    return {"source": ["gatehouse"], "detail-type": ["Gatehouse Security Alert"], "detail": detail_pattern}
