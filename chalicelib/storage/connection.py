"""The PynamoDB connection used for transactions (models use their own, from ``Meta``)."""

from __future__ import annotations

from functools import cache

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.config import settings


@cache
def connection() -> Connection:
    return Connection(region=settings().region, max_retry_attempts=2)


def transaction() -> TransactWrite:
    return TransactWrite(connection=connection())
