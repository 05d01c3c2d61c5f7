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
