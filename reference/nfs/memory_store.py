"""MemoryStore: the store of the simulation world, all in memory.

Rules:
- The durable part (`self.durable`, a DurableImage) is what a simulated crash keeps: it
  stands for the server's disk and survives `crash()`. The volatile part is the overlay
  of UNSTABLE writes (`self.pending`), which `crash()` drops. After `crash()` the
  simulation must start a new FileSystem on this store (a new write verifier).
- With a `seed` the secret and volume id derive from it, so a simulated run is
  reproducible; without one they come from os.urandom.
- Transactions are trivially atomic (one thread, no interleaving) and cannot roll back.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from reference.nfs.blocks import cut_point
from reference.nfs.inode import FIRST_GENERATION, ROOT_INO, Inode, next_generation
from reference.nfs.store import (
    DEFAULT_PENDING_LIMIT,
    DEFAULT_ROOT_MODE,
    EntryRecord,
    Store,
    Usage,
    root_inode,
)


@dataclass
class DurableImage:
    """What the memory store's disk holds."""

    inodes: dict[int, Inode]
    # directory -> name -> entry, and directory -> cookie -> entry (insertion = cookie order)
    names: dict[int, dict[bytes, EntryRecord]] = field(default_factory=dict)
    cookies: dict[int, dict[int, EntryRecord]] = field(default_factory=dict)
    blocks: dict[int, dict[int, bytes]] = field(default_factory=dict)
    free: list[int] = field(default_factory=list)  # a heap of freed inode numbers
    freed_generation: dict[int, int] = field(default_factory=dict)
    next_ino: int = ROOT_INO + 1


def _secret_from(seed: int | bytes | None) -> bytes:
    if seed is None:
        return os.urandom(32)
    material = seed if isinstance(seed, bytes) else str(seed).encode()
    return hashlib.sha256(b"nfsprop memory store secret:" + material).digest()


class MemoryStore(Store):
    """A store whose durable part is a DurableImage in memory."""

    def __init__(
        self,
        seed: int | bytes | None = None,
        *,
        root_mode: int = DEFAULT_ROOT_MODE,
        now_ns: int = 0,
        pending_limit: int = DEFAULT_PENDING_LIMIT,
    ) -> None:
        super().__init__(pending_limit)
        self.secret = _secret_from(seed)
        self.volume_id = int.from_bytes(hashlib.sha256(b"volume" + self.secret).digest()[:4])
        self.durable = DurableImage({ROOT_INO: root_inode(root_mode, now_ns)})
        self.durable.names[ROOT_INO] = {}
        self.durable.cookies[ROOT_INO] = {}

    def transaction(self, sync: bool = True) -> AbstractContextManager[None]:
        return nullcontext()

    def close(self) -> None:
        self.pending.clear()

    def allocate(self) -> tuple[int, int]:
        image = self.durable
        if image.free:
            ino = heapq.heappop(image.free)
            return ino, next_generation(image.freed_generation.pop(ino))
        ino = image.next_ino
        image.next_ino += 1
        return ino, FIRST_GENERATION

    def lookup(self, directory: int, name: bytes) -> int | None:
        entry = self.durable.names.get(directory, {}).get(name)
        return None if entry is None else entry.ino

    def add_entry(self, directory: int, name: bytes, ino: int, cookie: int) -> None:
        by_cookie = self.durable.cookies.setdefault(directory, {})
        if by_cookie and cookie <= next(reversed(by_cookie)):
            raise ValueError(f"cookie {cookie} does not follow directory {directory}'s last")
        entry = EntryRecord(cookie, name, ino)
        self.durable.names.setdefault(directory, {})[name] = entry
        by_cookie[cookie] = entry

    def remove_entry(self, directory: int, name: bytes) -> None:
        entry = self.durable.names[directory].pop(name)
        del self.durable.cookies[directory][entry.cookie]

    def entries(self, directory: int, after_cookie: int, limit: int) -> list[EntryRecord]:
        found: list[EntryRecord] = []
        for cookie, entry in self.durable.cookies.get(directory, {}).items():
            if len(found) >= limit:
                break
            if cookie > after_cookie:
                found.append(entry)
        return found

    def has_entries(self, directory: int) -> bool:
        return bool(self.durable.names.get(directory))

    def _get(self, ino: int) -> Inode | None:
        return self.durable.inodes.get(ino)

    def _put(self, inode: Inode) -> None:
        self.durable.inodes[inode.ino] = inode

    def _release(self, ino: int) -> None:
        image = self.durable
        inode = image.inodes.pop(ino)
        image.blocks.pop(ino, None)
        image.names.pop(ino, None)
        image.cookies.pop(ino, None)
        image.freed_generation[ino] = inode.generation
        heapq.heappush(image.free, ino)

    def _read_blocks(self, ino: int, indices: range) -> dict[int, bytes]:
        stored = self.durable.blocks.get(ino, {})
        if len(stored) < len(indices):
            return {i: b for i, b in stored.items() if i in indices}
        return {i: stored[i] for i in indices if i in stored}

    def _write_blocks(self, ino: int, blocks: dict[int, bytes]) -> None:
        self.durable.blocks.setdefault(ino, {}).update(blocks)

    def _truncate(self, ino: int, size: int) -> None:
        stored = self.durable.blocks.get(ino)
        if not stored:
            return
        first_dropped, keep = cut_point(size)
        for index in [i for i in stored if i >= first_dropped]:
            del stored[index]
        if keep and first_dropped - 1 in stored:
            stored[first_dropped - 1] = stored[first_dropped - 1][:keep]

    def _latest_ctime_ns(self) -> int:
        return max(inode.ctime_ns for inode in self.durable.inodes.values())

    def _usage(self) -> Usage:
        data = sum(len(b) for blocks in self.durable.blocks.values() for b in blocks.values())
        return Usage(len(self.durable.inodes), data)
