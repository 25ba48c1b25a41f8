"""Fixtures shared by the reference/nfs tests: every store test runs on both backends.

`reopen()` gives a store over the same durable state: for SQLite a new connection to the
same file (after closing the old one), for memory the same object after `crash()`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reference.nfs.fs import FileSystem
from reference.nfs.memory_store import MemoryStore
from reference.nfs.sqlite_store import SqliteStore
from reference.nfs.store import Store


class StepClock:
    """A clock in nanoseconds that moves only when told to."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, ns: int) -> None:
        self.now_ns += ns


class Backend:
    """Opens, reopens and closes one store of either kind."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self.store = self._open()

    def _open(self) -> Store:
        if self.kind == "memory":
            return MemoryStore(seed=7)
        return SqliteStore(self.path, fsync=False)

    def reopen(self) -> Store:
        """The store after a restart: volatile data gone, durable data kept."""
        if isinstance(self.store, SqliteStore):
            self.store.close()
            self.store = self._open()
        else:
            self.store.crash()
        return self.store

    def close(self) -> None:
        self.store.close()


def seeded_random(seed: int) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return rng.randbytes


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened = Backend(request.param, tmp_path / "store.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def fs(store: Store, clock: StepClock) -> FileSystem:
    return FileSystem(store, clock, random_bytes=seeded_random(1))
