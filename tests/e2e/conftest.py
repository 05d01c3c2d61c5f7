"""Fixtures every end-to-end package uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def clock() -> Iterator[Any]:
    """The live server's clock (the server runs in the test process): tests ``advance`` it instead of sleeping;
    always put back before and after the test."""
    from chalicelib.core import clock as server_clock

    server_clock.reset()
    yield server_clock
    server_clock.reset()


@pytest.fixture(autouse=True)
def client_address(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The loopback address this test's HTTP clients connect to the app from, one per test (as different customers
    come from different networks): the IP-based throttles and risk signals one test builds up on a shared tenant never
    reach another test. Explicit ``source_address`` (the many-IPs tests) and browsers (127.0.0.1) are left alone."""
    import hashlib

    from urllib3.util import connection

    from tests.support.stack import prepare_environment

    digest = hashlib.sha256(request.node.nodeid.encode()).digest()
    address = f"127.{1 + digest[0] % 254}.{digest[1]}.{1 + digest[2] % 254}"
    app_port = prepare_environment()
    create_connection = connection.create_connection

    def from_test_address(destination: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        host, port = destination
        if port == app_port and host in ("127.0.0.1", "localhost") and kwargs.get("source_address") is None:
            kwargs["source_address"] = (address, 0)
        return create_connection(destination, *args, **kwargs)

    monkeypatch.setattr(connection, "create_connection", from_test_address)
    return address
