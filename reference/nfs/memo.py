"""Memo: a bounded dict for what the server remembers to skip work it has done before.

Rules:
- It holds only what can be computed again (handles made, records read), so forgetting
  is always safe: at `limit` entries, remembering one more clears the rest first. A hit
  is one dict lookup, with no bookkeeping.
- Its owner keeps it true: whatever changes what a key stands for updates or drops it.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
REMEMBERED = 65_536  # the server's memos: a few MiB at most


class Memo(dict[K, V]):
    def __init__(self, limit: int = REMEMBERED) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
