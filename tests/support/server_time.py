"""Keeping end-to-end tests clear of the server's fixed time windows (UTC days, hours, stuffing windows): a test that
counts in one window must not straddle its end, whatever time of day the suite runs."""

from __future__ import annotations

from typing import Any

DAY = 86400
HOUR = 3600


def clear_of_boundary(clock: Any, period: int, needed: int) -> None:
    """Make sure the epoch-aligned ``period``-second window the server clock is in (a UTC day for 86400) has at least
    ``needed`` seconds left, moving the clock (it only moves forward) to the start of the next window otherwise."""
    assert 0 < needed < period, "a window shorter than the test can never hold it"
    left = period - clock.now() % period
    if left < needed:
        clock.advance(left)
