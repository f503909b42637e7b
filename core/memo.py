"""Per-process memos shared by the threads of a process.

`BoundedMemo` remembers pure functions of hashable inputs; when full it starts again empty instead of
tracking recency: one dict operation per call, nothing for two threads to interleave badly, and a hot working
set is back after one pass. `TimedMemo` keeps reads of rows that rarely change for a few seconds (tenants,
enabled plugins, ticket type names, API key state): the invalidation bus (`core.invalidation`) drops an entry on
every process when its row changes, and the time bounds how stale it may be while the bus is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class BoundedMemo:
    """Remembers up to `limit` results by key."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: dict = {}

    def get(self, key, default: Any = None) -> Any:
        """The remembered result for `key`, or `default`."""
        return self._entries.get(key, default)

    def put(self, key, value) -> None:
        """Remember `value` for `key` (forgetting everything first when full)."""
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)


class TimedMemo:
    """Loaded values kept for `seconds` per key.

    A `forget` that lands while a load is running (another thread read the row just before its change
    committed) keeps that load's value out of the memo: it is returned once but not kept, so a forgotten
    value never comes back for `seconds`.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._entries: dict = {}
        self._forgets = 0  # bumped by every forget: a load that saw another number started before it

    def get(self, key, load: Callable[[], Any], *, keep_none: bool = True) -> Any:
        """The value for `key`, from `load()` when there is none younger than `seconds`. With `keep_none`
        False a None is returned but not kept (the next call loads again)."""
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        forgets = self._forgets
        value = load()
        if value is None and not keep_none:
            self._entries.pop(key, None)
        elif forgets == self._forgets:
            self._entries[key] = (now, value)
        return value

    def forget(self, key=None) -> None:
        """Drop one key (every key when None), so its next read loads again."""
        self._forgets += 1
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)
