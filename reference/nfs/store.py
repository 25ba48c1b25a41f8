"""The Store interface: a durable file system image plus a volatile overlay of UNSTABLE writes.

Rules:
- A store is the server's disk. Everything it holds is durable except the overlay of
  UNSTABLE writes (reference.nfs.pending), which `crash()` drops, as a crash would.
  Backends (memory_store, sqlite_store) implement the durable primitives (the abstract
  methods below); this class layers the overlay on top, identically for both.
- Every mutating call happens inside `with store.transaction(sync=...)`, opened by the
  caller (the FileSystem): the transaction is atomic, and when it returns with
  `sync=True` it is on stable storage (for SQLite: fsync'd). The FileSystem uses
  `sync=True` for everything except UNSTABLE writes. A transaction that raises is rolled
  back by SQLite; the memory store cannot roll back, which is why the FileSystem checks
  every precondition before its first mutation.
- `get` returns the newest state (overlay first); `put`, `resize`, `commit` and stable
  writes first fold the inode's overlay into the durable part; `release` drops it.
- Inode numbers: `allocate()` hands out the lowest free number with its next generation
  (a never-used number starts at FIRST_GENERATION); the caller must `put` the new inode
  in the same transaction. `release()` frees the inode, its data and its generation is
  remembered for the next reuse.
- Directory entries map (directory, name) to an inode, each with a cookie fixed when the
  entry is added; `entries()` lists them in cookie order. The store does not check POSIX
  rules: the FileSystem does.
- `epoch` counts the losses of volatile data: `crash()`, and a rolled-back transaction
  that had folded pending writes (they are gone with it). A FileSystem changes its write
  verifier when the epoch moves, so clients resend what they had not committed.
- A store serves one thread of one process (the SQLite file is locked exclusively).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass

from reference.nfs.blocks import BLOCK_SIZE, assemble, block_range, patch, pieces
from reference.nfs.inode import DIRECTORY_SIZE, ROOT_INO, Inode
from reference.nfs.pending import PendingWrites
from reference.xdr.gen.nfs3 import ftype3

DEFAULT_PENDING_LIMIT = 64 * 1024 * 1024
DEFAULT_ROOT_MODE = 0o777


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A directory entry as stored: its cookie, name and inode number."""

    cookie: int
    name: bytes
    ino: int


@dataclass(frozen=True, slots=True)
class Usage:
    """What a store holds: live inodes and bytes of file data (durable + pending)."""

    files: int
    bytes: int


def root_inode(mode: int, now_ns: int) -> Inode:
    """The root directory a new store starts with (owned by root, its own parent)."""
    return Inode(
        ino=ROOT_INO,
        generation=1,
        type=ftype3.NF3DIR,
        mode=mode,
        nlink=2,
        uid=0,
        gid=0,
        size=DIRECTORY_SIZE,
        atime_ns=now_ns,
        mtime_ns=now_ns,
        ctime_ns=now_ns,
        parent=ROOT_INO,
    )


class Store(ABC):
    """A durable file system image (abstract primitives) with a volatile write overlay."""

    volume_id: int
    secret: bytes

    def __init__(self, pending_limit: int = DEFAULT_PENDING_LIMIT) -> None:
        self.pending = PendingWrites()
        self.pending_limit = pending_limit
        self.epoch = 0
        self._folded_in_transaction = False

    # -- transactions and lifetime ---------------------------------------------------

    @abstractmethod
    def transaction(self, sync: bool = True) -> AbstractContextManager[None]:
        """Atomic (and with `sync`, on stable storage when the block exits)."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend; pending writes are lost (commit them first)."""

    def crash(self) -> None:
        """Lose everything volatile, as a crash of the server would."""
        self.pending.clear()
        self.epoch += 1

    def _transaction_began(self) -> None:
        self._folded_in_transaction = False

    def _transaction_rolled_back(self) -> None:
        if self._folded_in_transaction:
            self.epoch += 1

    # -- inodes -----------------------------------------------------------------------

    def get(self, ino: int) -> Inode | None:
        """The inode's newest record, or None if the number is free."""
        pending = self.pending.get(ino)
        if pending is not None:
            return pending.inode
        return self._get(ino)

    def durable_record(self, ino: int) -> Inode | None:
        """The inode's durable record, without its UNSTABLE writes (only
        ServerBugs(readdirplus_attributes_on_disk) reads it)."""
        return self._get(ino)

    def put(self, inode: Inode) -> None:
        """Store an inode record durably (new or changed)."""
        self._fold(inode.ino)
        self._put(inode)

    @abstractmethod
    def allocate(self) -> tuple[int, int]:
        """(inode number, generation) for a new inode: the lowest free number."""

    def release(self, ino: int) -> None:
        """Free an inode: its record, data and overlay go; its number becomes free."""
        self.pending.pop(ino)
        self._release(ino)

    # -- directory entries -----------------------------------------------------------

    @abstractmethod
    def lookup(self, directory: int, name: bytes) -> int | None:
        """The inode number `name` maps to in `directory`, or None."""

    @abstractmethod
    def add_entry(self, directory: int, name: bytes, ino: int, cookie: int) -> None:
        """Add an entry (the name must be free in that directory)."""

    @abstractmethod
    def remove_entry(self, directory: int, name: bytes) -> None:
        """Remove an entry (it must exist)."""

    @abstractmethod
    def entries(self, directory: int, after_cookie: int, limit: int) -> list[EntryRecord]:
        """At most `limit` entries with a cookie above `after_cookie`, in cookie order."""

    @abstractmethod
    def has_entries(self, directory: int) -> bool:
        """Whether the directory holds any entry (besides the implicit '.' and '..')."""

    # -- file data ----------------------------------------------------------------------

    def read(self, ino: int, offset: int, count: int) -> bytes:
        """Bytes [offset, offset + count) as the newest state has them (the caller keeps
        the range inside the file's size); holes read as zeros."""
        indices = block_range(offset, count)
        blocks = self._read_blocks(ino, indices)
        pending = self.pending.get(ino)
        if pending is not None:
            blocks.update((i, b) for i, b in pending.blocks.items() if i in indices)
        return assemble(offset, count, blocks)

    def write(self, inode: Inode, offset: int, data: bytes, stable: bool) -> None:
        """Write `data` at `offset`; `inode` is the file's record after the write (size,
        mtime, ctime). Stable writes go to the durable part, with the file's earlier
        pending writes; unstable ones to the overlay."""
        if stable:
            self._fold(inode.ino)
            self._write_data(inode.ino, offset, data)
            self._put(inode)
            return
        self.pending.write(inode, offset, data, lambda index: self._read_block(inode.ino, index))
        if self.pending.total_bytes > self.pending_limit:
            for ino in self.pending.inodes():
                self._fold(ino)

    def resize(self, inode: Inode) -> None:
        """Store `inode` whose size changed: data past the new size is cut off."""
        self._fold(inode.ino)
        self._truncate(inode.ino, inode.size)
        self._put(inode)

    def commit(self, ino: int) -> None:
        """Make the file's pending writes durable."""
        self._fold(ino)

    def usage(self) -> Usage:
        durable = self._usage()
        return Usage(durable.files, durable.bytes + self.pending.total_bytes)

    def latest_ctime_ns(self) -> int:
        """The newest ctime of any inode: a new FileSystem hands out later times only."""
        pending = (self.pending.get(ino) for ino in self.pending.inodes())
        overlay = (file.inode.ctime_ns for file in pending if file is not None)
        return max((self._latest_ctime_ns(), *overlay))

    # -- durable primitives (backends) ----------------------------------------------------

    @abstractmethod
    def _get(self, ino: int) -> Inode | None: ...

    @abstractmethod
    def _put(self, inode: Inode) -> None: ...

    @abstractmethod
    def _release(self, ino: int) -> None: ...

    @abstractmethod
    def _read_blocks(self, ino: int, indices: range) -> dict[int, bytes]: ...

    @abstractmethod
    def _write_blocks(self, ino: int, blocks: dict[int, bytes]) -> None:
        """Replace whole blocks."""

    @abstractmethod
    def _truncate(self, ino: int, size: int) -> None:
        """Drop blocks past `size` and trim the last one."""

    @abstractmethod
    def _usage(self) -> Usage: ...

    @abstractmethod
    def _latest_ctime_ns(self) -> int: ...

    def _read_block(self, ino: int, index: int) -> bytes:
        return self._read_blocks(ino, range(index, index + 1)).get(index, b"")

    def _write_data(self, ino: int, offset: int, data: bytes) -> None:
        changed: dict[int, bytes] = {}
        for index, inside, piece in pieces(offset, data):
            covers_block = inside == 0 and len(piece) == BLOCK_SIZE
            old = b"" if covers_block else self._read_block(ino, index)
            changed[index] = patch(old, inside, piece)
        self._write_blocks(ino, changed)

    def _fold(self, ino: int) -> None:
        pending = self.pending.pop(ino)
        if pending is not None:
            self._folded_in_transaction = True
            self._write_blocks(ino, pending.blocks)
            self._put(pending.inode)
