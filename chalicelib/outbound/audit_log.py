"""The audit log channel: each event as one JSON line on stdout, which Lambda ships to CloudWatch Logs; a
subscription filter hands the lines to the ``IngestAuditLog`` function (see ``workflows/audit_log.py``).

Locally (``GATEHOUSE_AUDIT_LOG_FILE`` set by the local stack) the lines are appended to a file instead, which
``infra/local/audit_log.py`` tails and hands to the same ingest function, as the subscription does in AWS.
"""

from __future__ import annotations

import os
import sys
import threading

from chalicelib.config import audit_log_file
from chalicelib.core.audit_lines import event_to_line
from chalicelib.core.entities import AuditEvent


class LogLineAuditChannel:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: tuple[str, int] = ("", -1)  # (path, descriptor), replaced as one value

    def publish(self, event: AuditEvent) -> None:
        line = event_to_line(event) + "\n"
        path = audit_log_file()
        if not path:
            sys.stdout.write(line)
            sys.stdout.flush()
            return
        # One O_APPEND write per line: lines from concurrent requests never interleave.
        os.write(self._descriptor(path), line.encode())

    def _descriptor(self, path: str) -> int:
        opened_path, fd = self._open
        if path == opened_path:
            return fd
        with self._lock:
            if path != self._open[0]:
                # The previous descriptor stays open: a concurrent publish may still be writing through it.
                self._open = (path, os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            return self._open[1]
