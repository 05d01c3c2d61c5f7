"""The botocore session every AWS client of the process is created from: PynamoDB's (``storage``) and the KMS,
SES, SNS and Step Functions clients (``outbound``).

Creating a client from a fresh session reads botocore's endpoint, partition and retry data and lists every service
directory again: ~45 ms of CPU per session on a cold start, against ~2 ms for another client of a session that
already did (``benchmarks/cold_start.py``). One session per thread, since botocore sessions are not thread-safe
(clients are); a Lambda has one thread, so one session.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.session import Session

_per_thread = threading.local()


def session() -> Session:
    current: Session | None = getattr(_per_thread, "session", None)
    if current is None:
        from botocore.session import get_session

        current = _per_thread.session = get_session()
    return current
