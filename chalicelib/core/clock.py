"""The current time as whole epoch seconds (one place, so tests can move it)."""

from __future__ import annotations

import time

_offset = 0


def now() -> int:
    return int(time.time()) + _offset


def now_millis() -> int:
    """The current time as epoch milliseconds, from one reading of the same clock as ``now``."""
    return int(time.time() * 1000) + _offset * 1000


def advance(seconds: int) -> None:
    """Tests only: move the clock forward."""
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0
