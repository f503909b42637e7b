"""A bounded memo for pure functions of hashable inputs, shared by the threads of a process.

When full it starts again empty instead of tracking recency: one dict operation per call, nothing for
two threads to interleave badly, and a hot working set is back after one pass.
"""

from __future__ import annotations

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
