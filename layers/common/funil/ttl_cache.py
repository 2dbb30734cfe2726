"""Per-container caching of configuration read on the hot paths (links, a seller's domains).

Standard library only: the redirect imports it on its cold path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 10_000


class TtlCache(Generic[K, V]):
    """Values by key, each kept ``ttl_seconds``. What was not found (``None``) is kept too, so a
    scanner walking random keys costs one read per key per TTL; past ``MAX_ENTRIES`` it starts over."""

    def __init__(self, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        now = self.monotonic()
        cached = self._entries.get(key)
        if cached and cached[0] > now:
            return cached[1]
        value = load(key)
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + self.ttl_seconds, value)
        return value
