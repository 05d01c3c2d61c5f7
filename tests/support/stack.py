"""The local stack for a pytest session: emulators in memory on free ports, and the app on a live HTTP server.

``prepare_environment`` runs when conftest is imported, before any test module can import ``chalicelib``: it picks
the app's port and sets what ``chalicelib.config`` reads (stage, public URL, KMS alias, region, emulator-only
credentials). The emulators and their endpoint variables come later, only when a test asks for them.

Moto's ``mock_aws`` (unit tests) resets every in-process moto backend and does not intercept requests to custom
endpoints, so around tests that do not use the stack, ``stack_isolation`` hides the endpoint variables, and before
tests that do, it puts the moto-side resources (KMS key, SES sender, state machines) back if they were reset.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.local.emulators import free_port
from infra.local.stack import LocalStack, apply_environment, settings_environment

STACK_FIXTURES = frozenset({"local_stack", "live_server", "outbox"})
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")

_app_port: int | None = None
_running: LocalStack | None = None


def prepare_environment() -> int:
    """Pick the app port once per process and set the settings environment; returns the port."""
    global _app_port
    if _app_port is None:
        _app_port = free_port()
        apply_environment(settings_environment(_app_port))
    return _app_port


def start_stack(state_dir: Path) -> LocalStack:
    """In-memory DynamoDB Local + in-process moto on free ports, provisioned; stopped by ``stop_stack``."""
    global _running
    stack = LocalStack(memory=True, app_port=prepare_environment(), state_file=state_dir / "stack.json")
    stack.start()
    try:
        stack.provision()
    except BaseException:
        stack.stop()
        raise
    _running = stack
    reset_pynamodb_connections()  # clients made before the stack ran (by unit tests) know no endpoint of it
    return stack


def stop_stack(stack: LocalStack) -> None:
    global _running
    _running = None
    stack.stop()


@contextlib.contextmanager
def stack_isolation(test_fixtures: list[str]) -> Iterator[None]:
    """Around one test: restore moto state for stack tests; hide the stack's endpoints from the others."""
    stack = _running
    if stack is None:
        yield
    elif STACK_FIXTURES.intersection(test_fixtures):
        if stack.ensure_moto_state():
            reset_pynamodb_connections()
        yield
    else:
        saved = {name: os.environ.pop(name) for name in ENDPOINT_VARIABLES if name in os.environ}
        reset_pynamodb_connections()
        try:
            yield
        finally:
            os.environ.update(saved)
            reset_pynamodb_connections()


def reset_pynamodb_connections() -> None:
    """PynamoDB caches one connection per model class, with the endpoint it saw when first used; so does
    ``chalicelib.storage.connection`` for its shared connection and the hot-path client."""
    import sys

    storage = sys.modules.get("chalicelib.storage.connection")
    if storage is not None:
        storage.connection.cache_clear()
        storage.hot_path_client.cache_clear()
    if "pynamodb.models" not in sys.modules:
        return
    from pynamodb.models import Model

    pending: list[type[Any]] = [Model]
    while pending:
        model = pending.pop()
        if "_connection" in vars(model):
            model._connection = None
        pending.extend(model.__subclasses__())


class LiveServer:
    """The Chalice app on Chalice's local server (as ``serve`` runs it), in a background thread."""

    def __init__(self, port: int) -> None:
        from infra.local.serve import create_server

        self.base_url = f"http://127.0.0.1:{port}"
        self._server = create_server(port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
        self._thread.join(timeout=10)
