"""The AFS server's file table: the durable half of its state.

Rules:
- A file is a path (non-empty bytes) with whole contents and a version. Versions come
  from one counter for the whole table, so every store gets a version larger than any
  before it, on any file, across restarts.
- Everything here is durable: a server restart keeps the table. The server's volatile
  state (callback promises, its epoch's promises in flight) lives elsewhere.
- `boot()` is called once per server start and returns the new epoch: the number of
  starts so far, so epochs only grow.
- No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StoredFile:
    version: int
    data: bytes


@dataclass(slots=True)
class FileTable:
    """Paths to whole files, the version counter and the boot counter."""

    files: dict[bytes, StoredFile] = field(default_factory=dict)
    last_version: int = 0
    boots: int = 0

    def boot(self) -> int:
        """A server starts on this table: its epoch."""
        self.boots += 1
        return self.boots

    def get(self, path: bytes) -> StoredFile | None:
        return self.files.get(path)

    def store(self, path: bytes, data: bytes) -> StoredFile:
        """Replace (or create) `path` with `data` under a new version."""
        if not path:
            raise ValueError("a file path must not be empty")
        self.last_version += 1
        stored = StoredFile(self.last_version, bytes(data))
        self.files[path] = stored
        return stored
