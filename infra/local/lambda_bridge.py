"""Route moto's Lambda invokes to the Chalice app's ``@app.lambda_function`` handlers, in this process.

moto's Step Functions interpreter runs Task states by calling Lambda ``Invoke``; with ``use_docker=False`` moto
would only echo the payload. This patch hands the event to ``chalice.test.Client(app).lambda_.invoke`` instead, so
the same handlers as deployed run inside local executions (and for direct ``lambda.invoke`` calls).

A handler exception comes back shaped like Lambda's "Unhandled" function error with ``errorType`` set to the
exception's class name, so ASL ``Retry``/``Catch`` on our own error names behave as on AWS.

Function names: the last segment of an ARN or name (qualifier dropped); a deployed-style name
``gatehouse-<stage>-Name`` resolves to ``Name``. The app is imported lazily (``from app import app``) at the first
invoke, after the local stack has set the process environment.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.local import REPO_ROOT

if TYPE_CHECKING:
    from chalice.app import Chalice
    from chalice.test import Client

logger = logging.getLogger(__name__)

AppProvider = Callable[[], "Chalice"]

_DEPLOYED_NAME = re.compile(r"^gatehouse-[^-]+-(?P<name>.+)$")
_lock = threading.Lock()
_state: dict[str, Any] = {"provider": None, "app": None, "client": None, "project_dir": REPO_ROOT, "stage": "local"}


def _default_app() -> Chalice:
    from app import app

    return app


def install_lambda_bridge(
    app_provider: AppProvider | None = None, *, project_dir: Path = REPO_ROOT, stage: str = "local"
) -> None:
    """Patch moto's simple Lambda backend to run ``app_provider()``'s handlers (default: the project's app.py).

    Calling it again replaces the app: tests install throwaway apps, then call it without arguments to restore.
    """
    from moto.awslambda_simple.models import LambdaSimpleBackend

    with _lock:
        _state.update(
            provider=app_provider or _default_app, app=None, client=None, project_dir=project_dir, stage=stage
        )
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]


def bridge_installed() -> bool:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    return LambdaSimpleBackend.invoke is _invoke


def function_name_of(function_name: str, handlers: Any = ()) -> str:
    """``arn:...:function:gatehouse-local-Foo:$LATEST`` -> ``Foo`` (the Chalice lambda_function name)."""
    name = function_name.split(":function:")[-1].split(":")[0]
    match = _DEPLOYED_NAME.match(name)
    if match and name not in handlers:
        return match.group("name")
    return name


def _app_and_client() -> tuple[Chalice, Client]:
    with _lock:
        if _state["client"] is None:
            from chalice.test import Client

            _state["app"] = _state["provider"]()
            _state["client"] = Client(_state["app"], stage_name=_state["stage"], project_dir=str(_state["project_dir"]))
        return _state["app"], _state["client"]


def _invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: dict[str, str]
) -> bytes:
    try:
        app, client = _app_and_client()
        name = function_name_of(function_name, app.handler_map)
        raw = body.decode() if isinstance(body, bytes) else body
        event = json.loads(raw) if raw else {}
        return json.dumps(client.lambda_.invoke(name, event).payload).encode()
    except Exception as error:  # noqa: BLE001 - any handler error becomes a Lambda function error
        logger.warning("local lambda %s raised %s: %s", function_name, type(error).__name__, error)
        logger.debug("traceback of local lambda %s", function_name, exc_info=True)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
