"""What an AFS server tells its observer: the journal a checker reads.

Rules: events are facts the server already knows, reported as they happen with the
server's time and epoch; the observer must not act on the server. A test harness keeps
them across server restarts (the server itself forgets its promises when it restarts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reference.afs.promises import Promise
from reference.rpc.stubs import Address


@dataclass(frozen=True, slots=True)
class Granted:
    """A callback promise was given with a fetch (or a store, to the writer)."""

    time: float
    epoch: int
    promise: Promise
    version: int


@dataclass(frozen=True, slots=True)
class Stored:
    """A store was applied: `path` now holds `data` under `version`."""

    time: float
    epoch: int
    client: Address
    path: bytes
    version: int
    base_version: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BreakEnded:
    """The break of `promise` ended: answered by the client, or given up (a lost break)."""

    time: float
    epoch: int
    promise: Promise
    delivered: bool


ServerEvent = Granted | Stored | BreakEnded
Observer = Callable[[ServerEvent], None]
