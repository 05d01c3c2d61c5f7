"""Translation of PynamoDB/botocore failures into domain errors (one place).

Repository methods handle the failures that mean something (a failed condition) themselves; a single conditional
write goes through ``save_or_raise``, ``update_or_raise`` (the failed condition becomes a domain error) or
``updated_if`` (it becomes False). ``translate_errors`` wraps every public method so that anything else becomes
``DependencyUnavailable``. Nothing is half-written when that happens: every multi-item write is a single
transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError, UpdateError

from chalicelib.core.errors import DependencyUnavailable

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action
    from pynamodb.models import Model

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


def save_or_raise(item: Model, condition: Condition, refusal: Exception) -> None:
    """Put ``item`` if ``condition`` holds, else raise ``refusal`` (the domain meaning of the failed condition)."""
    try:
        item.save(condition=condition)
    except PutError as error:
        if is_condition_failure(error):
            raise refusal from error
        raise


def updated_if(item: Model, actions: list[Action], condition: Condition) -> bool:
    """Apply ``actions`` to ``item`` if ``condition`` holds; whether it did (a failed condition is an answer here)."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def update_or_raise(item: Model, actions: list[Action], condition: Condition, refusal: Exception) -> None:
    """Apply ``actions`` to ``item`` if ``condition`` holds (``item`` then holds the updated attributes), else raise
    ``refusal``."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if is_condition_failure(error):
            raise refusal from error
        raise


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as error:
            raise DependencyUnavailable(detail=f"dynamodb {method.__qualname__}: {error}") from error

    return wrapper
