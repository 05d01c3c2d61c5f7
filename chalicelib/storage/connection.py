"""The PynamoDB connection used for transactions (models use their own, from ``Meta``), and the botocore session
all of them create their clients from."""

from __future__ import annotations

from functools import cache

import pynamodb.connection.base
from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.aws_session import session
from chalicelib.config import settings


def share_botocore_session() -> None:
    """PynamoDB gives every ``Connection`` (one per table, one for transactions) a botocore session of its own,
    from ``pynamodb.connection.base.get_session``; hand them the process's shared one instead (``aws_session``)."""
    pynamodb.connection.base.get_session = session  # type: ignore[attr-defined]  # imported there, not exported


@cache
def connection() -> Connection:
    return Connection(region=settings().region, max_retry_attempts=2)


def transaction() -> TransactWrite:
    return TransactWrite(connection=connection())
