"""A small per-process TTL cache for hot, rarely-changing reads (tenants, clients, signing keys).

Lambda keeps a process warm between invocations; caching here is what lets a warm client-credentials grant
run without a DynamoDB read. Entries expire after a short TTL so changes made elsewhere are picked up.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
_every_cache: weakref.WeakSet[TtlCache[Any]] = weakref.WeakSet()


class TtlCache(Generic[V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        _every_cache.add(self)

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if value is None:
            return value  # misses are not cached: something created elsewhere is visible at once
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, value)
        return value

    def invalidate(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def clear_every_cache() -> None:
    """Tests only: empty every cache of this process, as a cold start would (an entry expires a fixed time after it
    was loaded, however often it is read: a test that counts requests warms the caches from empty first)."""
    for cache in list(_every_cache):
        cache.clear()
