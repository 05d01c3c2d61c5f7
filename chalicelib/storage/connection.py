"""The PynamoDB connection used for transactions (models use their own, from ``Meta``), and the botocore session
all of them create their clients from."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import pynamodb.connection.base
from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.aws_session import session
from chalicelib.config import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient


def share_botocore_session() -> None:
    """PynamoDB gives every ``Connection`` (one per table, one for transactions) a botocore session of its own,
    from ``pynamodb.connection.base.get_session``; hand them the process's shared one instead (``aws_session``)."""
    pynamodb.connection.base.get_session = session  # type: ignore[attr-defined]  # imported there, not exported


@cache
def connection() -> Connection:
    return Connection(region=settings().region, max_retry_attempts=2)


def transaction() -> TransactWrite:
    return TransactWrite(connection=connection())


@cache
def hot_path_client() -> BaseClient:
    """A botocore DynamoDB client for the token hot paths (refresh rotation, access-token checks), configured as
    PynamoDB configures its own (parameter validation off, the models' timeouts and retries) plus a fixed
    ``user_agent``: with it botocore sends that string as it is instead of rebuilding the User-Agent twice per
    request (~10 % of a call's CPU here); then ``client_tuning``: a leaner JSON parser, no
    retry-telemetry headers, the endpoint resolved once per operation and table."""
    import botocore
    from botocore.config import Config

    from chalicelib.storage.client_tuning import tune

    config = Config(
        parameter_validation=False,
        connect_timeout=2,
        read_timeout=5,
        retries={"total_max_attempts": 3, "mode": "standard"},
        user_agent=f"gatehouse Botocore/{botocore.__version__}",
        # the regional endpoint (what Lambda's credentials, which carry no account id, get anyway): the endpoint
        # then depends on the table alone and ``client_tuning`` resolves it once per operation and table
        account_id_endpoint_mode="disabled",
    )
    # the process's shared botocore session (``aws_session``): no second session build on a cold start
    return tune(session().create_client("dynamodb", region_name=settings().region, config=config))
