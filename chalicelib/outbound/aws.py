"""Lazily created, cached AWS clients.

Built from a plain botocore session rather than boto3: the same clients, without importing boto3 and building a
second session on a Lambda cold start (~65 ms and ~11 MB measured by benchmarks/cold_start.py). The session is the
one PynamoDB's clients come from too (``chalicelib.aws_session``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.aws_session import session
from chalicelib.config import settings


@cache
def client(service: str) -> Any:
    from botocore.config import Config

    return session().create_client(
        service,
        region_name=settings().region,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}),
    )
