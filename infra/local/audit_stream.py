"""Local delivery of the audit table's stream: polls DynamoDB Local's Streams API and hands each batch of records
to the same Chalice handler AWS Lambda would call (``app.audit_stream_consumer``).

``serve`` runs ``AuditStreamPoller.run`` in a background thread; tests call ``poll_once`` to deliver whatever the
stream holds at that moment, deterministically.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], None]


def app_handler() -> Deliver:
    """The deployed handler, called the way Lambda calls it (event, context)."""
    import app as chalice_app

    def deliver(event: dict[str, Any]) -> None:
        chalice_app.audit_stream_consumer(event, None)

    return deliver


class AuditStreamPoller:
    def __init__(self, deliver: Deliver | None = None) -> None:
        self._deliver = deliver
        self._positions: dict[str, str] = {}  # shard id -> sequence number of the last record delivered
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session().client(service, endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))

    def _stream_arn(self) -> str | None:
        from chalicelib.config import settings

        table = self._client("dynamodb").describe_table(TableName=settings().audit_table)["Table"]
        arn = table.get("LatestStreamArn")
        return str(arn) if arn else None

    def poll_once(self) -> int:
        """Deliver every record written since the last poll; returns how many records were delivered."""
        with self._lock:
            arn = self._stream_arn()
            if arn is None:
                return 0
            streams = self._client("dynamodbstreams")
            deliver = self._deliver or app_handler()
            delivered = 0
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", []):
                shard_id = shard["ShardId"]
                # A fresh iterator per poll, after the last record delivered: DynamoDB Local's iterators that have
                # read an empty page do not see later records, so none is kept between polls.
                last = self._positions.get(shard_id)
                position: dict[str, str] = (
                    {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                    if last
                    else {"ShardIteratorType": "TRIM_HORIZON"}
                )
                iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)["ShardIterator"]
                while iterator:
                    try:
                        page = streams.get_records(ShardIterator=iterator, Limit=1000)
                    except streams.exceptions.TrimmedDataAccessException:
                        break  # DynamoDB Local's answer for a shard that holds no record yet
                    records = page.get("Records", [])
                    if not records:
                        break
                    deliver({"Records": [_lambda_shape(r, arn) for r in records]})
                    delivered += len(records)
                    self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                    iterator = page.get("NextShardIterator")
            return delivered

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.wait(interval):
            try:
                self.poll_once()
            except Exception:  # keep polling: a failed batch is retried on the next round, as Lambda would
                log.exception("audit stream poll failed")


def _lambda_shape(record: dict[str, Any], arn: str) -> dict[str, Any]:
    """A Streams API record as Lambda delivers it (epoch seconds, the source ARN)."""
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": arn}
