"""Step Functions: start executions of the deployed state machines and resume tasks waiting for their token.

A machine's ARN is the configured prefix plus the definition's stem with ``_`` -> ``-`` (CDK and the local
bootstrap name them that way). Execution names are chosen by the caller and deterministic, so a retried start
is a no-op instead of a second execution.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.outbound.aws import client

# The task no longer waits for this token: it finished, timed out, or the token is not (or no longer) known.
GONE_TASK_ERRORS = frozenset({"TaskDoesNotExist", "TaskTimedOut", "InvalidToken"})


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


class StepFunctionsEngine:
    def __init__(self, arn_prefix: str | None = None) -> None:
        self._prefix = arn_prefix if arn_prefix is not None else settings().state_machine_arn_prefix

    def start(self, workflow: str, *, name: str, payload: dict[str, Any]) -> None:
        if not self._prefix:
            raise DependencyUnavailable(detail="GATEHOUSE_STATE_MACHINE_ARN_PREFIX is not configured")
        try:
            client("stepfunctions").start_execution(
                stateMachineArn=self._prefix + workflow.replace("_", "-"),
                name=name,
                input=json.dumps(payload, sort_keys=True, separators=(",", ":")),
            )
        except Exception as error:
            if _error_code(error) == "ExecutionAlreadyExists":
                return  # started before (a retried request): the deterministic name keeps it to one execution
            raise DependencyUnavailable(detail=f"states start_execution {workflow}: {error}") from error

    def complete_task(self, task_token: str, output: dict[str, Any]) -> bool:
        try:
            client("stepfunctions").send_task_success(taskToken=task_token, output=json.dumps(output))
        except Exception as error:
            if _error_code(error) in GONE_TASK_ERRORS:
                return False
            raise DependencyUnavailable(detail=f"states send_task_success: {error}") from error
        return True
