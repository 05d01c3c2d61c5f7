"""Lazily created, cached boto3 clients."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import settings


@cache
def client(service: str) -> Any:
    import boto3  # deferred: most warm requests never need a non-DynamoDB client
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        region_name=settings().region,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}),
    )
