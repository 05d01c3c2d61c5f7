"""Pytest fixtures for the whole suite: the local AWS stack, a live HTTP server and the outbox.

Everything is lazy: unit tests that ask for none of these fixtures start no emulator. Stack tests either request
``local_stack`` / ``live_server`` / ``outbox`` or carry ``@pytest.mark.stack``.

Import rule: ``chalicelib`` (and ``app``) are imported only inside fixtures and tests, never at the top of a
conftest, because ``chalicelib.config`` reads the environment that ``prepare_environment`` sets here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support import stack as stack_support  # noqa: E402 - needs the repo root on sys.path

stack_support.prepare_environment()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: the test needs the local AWS stack (DynamoDB Local + moto)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("stack") is not None:
            item.fixturenames.append("local_stack")  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """In-memory DynamoDB Local + in-process moto on free ports, tables, SES sender and state machines ready."""
    stack = stack_support.start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stack_support.stop_stack(stack)


@pytest.fixture(scope="session")
def live_server(local_stack: Any) -> Iterator[str]:
    """Base URL of the Chalice app served over HTTP (``GATEHOUSE_PUBLIC_URL`` is this URL)."""
    server = stack_support.LiveServer(local_stack.app_port).start()
    yield server.base_url
    server.stop()


@pytest.fixture
def outbox(local_stack: Any) -> Callable[[], list[dict[str, Any]]]:
    """``outbox()`` lists every email and SMS sent so far, newest first (see chalicelib.outbound.local_outbox)."""
    from chalicelib.outbound.local_outbox import read_outbox

    return read_outbox


@pytest.fixture(autouse=True)
def _stack_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    with stack_support.stack_isolation(list(request.fixturenames)):
        yield
