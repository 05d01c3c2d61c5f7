"""Fixtures shared by the unit tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The server clock (``chalicelib.core.clock``) stopped at the current second: ``now()`` read in the code and
    again in the test agree even when a real second ends in between; ``advance`` still moves it. (The current
    second, not a fixed date: signed tokens and assertions the tests make with the real time stay valid.)"""
    from chalicelib.core import clock

    clock.reset()
    stopped = float(int(time.time()))
    monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: stopped))
    yield clock
    clock.reset()
