"""TtlCache: an entry lives a fixed time after it was loaded (reads do not extend it); misses are not cached;
``clear_every_cache`` empties every cache of the process."""

from __future__ import annotations

import pytest

from chalicelib.services import cache as cache_module
from chalicelib.services.cache import TtlCache, clear_every_cache


class Loads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"value-{self.count}"


def test_an_entry_expires_its_ttl_after_the_load_however_often_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    cache: TtlCache[str] = TtlCache(30)
    load = Loads()
    assert cache.get_or_load("k", load) == "value-1"
    now[0] = 129.9
    assert cache.get_or_load("k", load) == "value-1"  # read just before the end: not extended
    now[0] = 130.0
    assert cache.get_or_load("k", load) == "value-2"


def test_misses_are_not_cached() -> None:
    cache: TtlCache[str | None] = TtlCache(30)
    assert cache.get_or_load("k", lambda: None) is None
    assert cache.get_or_load("k", lambda: "found") == "found"


def test_clear_every_cache_empties_each_cache_of_the_process() -> None:
    first: TtlCache[str] = TtlCache(30)
    second: TtlCache[str] = TtlCache(30)
    load = Loads()
    first.get_or_load("a", load)
    second.get_or_load("b", load)
    clear_every_cache()
    assert (first.get_or_load("a", load), second.get_or_load("b", load)) == ("value-3", "value-4")
