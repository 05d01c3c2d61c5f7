"""Translation of PynamoDB/botocore failures into domain errors (one place).

Repository methods handle the failures that mean something (a failed condition) themselves; ``translate_errors``
wraps every public method so that anything else becomes ``DependencyUnavailable``. Nothing is half-written when
that happens: every multi-item write is a single transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.core.errors import DependencyUnavailable

CONDITION_FAILED = "ConditionalCheckFailedException"

P = ParamSpec("P")
R = TypeVar("R")


def is_condition_failure(error: PynamoDBException) -> bool:
    if isinstance(error, TransactWriteError):
        return bool(cancelled_indexes(error))
    return error.cause_response_code == CONDITION_FAILED


def cancelled_indexes(error: TransactWriteError) -> list[int]:
    """Positions of the transaction items whose condition failed."""
    reasons = error.cancellation_reasons or []
    return [i for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"]


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as error:
            raise DependencyUnavailable(detail=f"dynamodb {method.__qualname__}: {error}") from error

    return wrapper
