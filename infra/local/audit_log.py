"""Local delivery of the audit log channel: tails the file the app writes its audit event lines to (what Lambda's
stdout is in AWS) and hands them, shaped as a CloudWatch Logs subscription batch (gzip + base64, only the lines the
subscription filter selects), to the same handler AWS would call (``app.ingest_audit_log``).

``serve`` runs ``AuditLogShipper.run`` in a background thread; tests call ``ship_once`` to deliver what the file
holds at that moment, deterministically. The file is named per serving process (``audit_log_path``), so a CLI
command attached to ``serve`` writes where ``serve`` ships from.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUDIT_LOG_ENV = "GATEHOUSE_AUDIT_LOG_FILE"  # chalicelib.config.AUDIT_LOG_FILE_ENV
MARKER = '"gatehouse_audit":1'  # what the subscription filter's { $.gatehouse_audit = 1 } selects
BATCH_LINES = 500

Deliver = Callable[[dict[str, Any]], Any]


def audit_log_path(app_port: int, owner_pid: int) -> str:
    """The audit log file of the stack process ``owner_pid`` serving on ``app_port``."""
    return str(Path(tempfile.gettempdir()) / f"gatehouse-audit-{app_port}-{owner_pid}.jsonl")


def app_handler() -> Deliver:
    """The deployed handler, called the way Lambda calls it (event, context)."""
    import app as chalice_app

    def deliver(event: dict[str, Any]) -> Any:
        return chalice_app.ingest_audit_log(event, None)

    return deliver


def subscription_event(lines: list[str], log_group: str = "/aws/lambda/gatehouse-local") -> dict[str, Any]:
    """The event CloudWatch Logs sends a subscribed Lambda function for these log lines."""
    now = int(time.time() * 1000)
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "local",
        "subscriptionFilters": ["gatehouse-audit-log"],
        "logEvents": [{"id": f"{now}{i:06d}", "timestamp": now, "message": line} for i, line in enumerate(lines)],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}


class AuditLogShipper:
    def __init__(self, path: str | None = None, deliver: Deliver | None = None) -> None:
        self._path = path
        self._deliver = deliver
        self._offset = 0
        self._lock = threading.Lock()

    def ship_once(self) -> int:
        """Deliver every complete line appended since the last call; returns how many lines were delivered."""
        with self._lock:
            path = self._path or os.environ.get(AUDIT_LOG_ENV, "")
            try:
                with open(path, "rb") as file:
                    file.seek(self._offset)
                    chunk = file.read()
            except (FileNotFoundError, IsADirectoryError):
                return 0
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next round
            lines = [line for line in complete.decode().splitlines() if MARKER in line]
            if lines:
                deliver = self._deliver or app_handler()
                for start in range(0, len(lines), BATCH_LINES):
                    deliver(subscription_event(lines[start : start + BATCH_LINES]))
            self._offset += len(complete)  # after delivery: a failed batch is delivered again (idempotent)
            return len(lines)

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.wait(interval):
            try:
                self.ship_once()
            except Exception:  # keep shipping: the lines are retried on the next round, as CloudWatch Logs would
                log.exception("audit log shipping failed")
