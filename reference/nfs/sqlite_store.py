"""SqliteStore: the default, durable store: one SQLite file in WAL mode.

Rules:
- One connection per store, used by one thread; the file is locked exclusively
  (locking_mode=EXCLUSIVE), so a second server on the same file fails at open with
  "database is locked" instead of corrupting it.
- Every transaction commits before the FileSystem replies. A committed transaction is
  in the WAL file, so it survives SIGKILL of the process. Transactions opened with
  `sync=True` (everything except UNSTABLE writes) run with synchronous=FULL, so they
  are fsync'd and also survive power loss; so does every earlier transaction, since
  fsync covers the whole WAL (a sync transaction that wrote nothing after unsynced ones
  writes a marker row to force it). `fsync=False` trades power-loss safety away for
  speed (still safe against SIGKILL), e.g. for tests.
- The secret (32 random bytes), the volume id and the root directory are created the
  first time a file is opened and read back afterwards: handles stay valid across
  restarts of the same file.
- File data lives in a blocks table of 32 KiB blocks (see reference.nfs.blocks for why).
- Reads of inode records, of names in directories and of data blocks are served from
  memory once read or written (Memos; at most BLOCKS_REMEMBERED blocks, 32 MiB): the file
  stays the durable truth, every change is written to it in its transaction as before,
  and a transaction that rolls back makes the store forget everything it remembered
  (what it wrote may be gone). Truncating or releasing a file forgets every block.
- UNSTABLE writes stay in the in-process overlay until COMMIT (reference.nfs.pending):
  SIGKILL loses them, as a crash loses a real server's page cache; the new server
  instance has a new write verifier, so clients resend them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from reference.nfs.blocks import cut_point
from reference.nfs.inode import FIRST_GENERATION, ROOT_INO, Inode, next_generation
from reference.nfs.memo import Memo
from reference.nfs.store import (
    DEFAULT_PENDING_LIMIT,
    DEFAULT_ROOT_MODE,
    EntryRecord,
    Store,
    Usage,
    root_inode,
)
from reference.xdr.gen.nfs3 import ftype3

FORMAT = 1
BLOCKS_REMEMBERED = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS inodes (
    ino INTEGER PRIMARY KEY, generation INTEGER NOT NULL, type INTEGER NOT NULL,
    mode INTEGER NOT NULL, nlink INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
    size INTEGER NOT NULL, atime INTEGER NOT NULL, mtime INTEGER NOT NULL,
    ctime INTEGER NOT NULL, parent INTEGER NOT NULL, target BLOB NOT NULL,
    rdev_major INTEGER NOT NULL, rdev_minor INTEGER NOT NULL, verifier BLOB NOT NULL,
    next_cookie INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS freed (ino INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    dir INTEGER NOT NULL, name BLOB NOT NULL, ino INTEGER NOT NULL, cookie INTEGER NOT NULL,
    PRIMARY KEY (dir, name)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS entries_by_cookie ON entries (dir, cookie);
CREATE TABLE IF NOT EXISTS blocks (
    ino INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ino, idx));
"""

_INODE_COLUMNS = 17

InodeRow = tuple[
    int, int, int, int, int, int, int, int, int, int, int, int, bytes, int, int, bytes, int
]


def _inode_from_row(row: InodeRow) -> Inode:
    return Inode(
        ino=row[0],
        generation=row[1],
        type=ftype3(row[2]),
        mode=row[3],
        nlink=row[4],
        uid=row[5],
        gid=row[6],
        size=row[7],
        atime_ns=row[8],
        mtime_ns=row[9],
        ctime_ns=row[10],
        parent=row[11],
        target=row[12],
        rdev=(row[13], row[14]),
        verifier=row[15],
        next_cookie=row[16],
    )


def _row_from_inode(inode: Inode) -> InodeRow:
    return (
        inode.ino,
        inode.generation,
        int(inode.type),
        inode.mode,
        inode.nlink,
        inode.uid,
        inode.gid,
        inode.size,
        inode.atime_ns,
        inode.mtime_ns,
        inode.ctime_ns,
        inode.parent,
        inode.target,
        inode.rdev[0],
        inode.rdev[1],
        inode.verifier,
        inode.next_cookie,
    )


class SqliteStore(Store):
    """A store in one SQLite file (created with a root directory if it does not exist)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = True,
        root_mode: int = DEFAULT_ROOT_MODE,
        now_ns: int = 0,
        pending_limit: int = DEFAULT_PENDING_LIMIT,
    ) -> None:
        super().__init__(pending_limit)
        self.path = os.fspath(path)
        self._fsync = fsync
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        self._inodes: Memo[int, Inode] = Memo()
        self._names: Memo[tuple[int, bytes], int] = Memo()
        self._blocks: Memo[tuple[int, int], bytes] = Memo(BLOCKS_REMEMBERED)  # b"": a hole
        self._synchronous = ""
        self._unsynced = False  # a committed transaction may not be fsync'd yet
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._open_or_initialise(root_mode, now_ns)
        except sqlite3.Error as error:
            self._db.close()
            raise sqlite3.OperationalError(
                f"cannot open the NFS store {self.path!r}: {error} (is another server using "
                "it, or is it not a store file?)"
            ) from error

    def _open_or_initialise(self, root_mode: int, now_ns: int) -> None:
        with self.transaction():
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                meta = {
                    "format": FORMAT,
                    "secret": os.urandom(32),
                    "volume_id": int.from_bytes(os.urandom(4)),
                }
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
                self._put(root_inode(root_mode, now_ns))
        if meta["format"] != FORMAT:
            raise sqlite3.DatabaseError(f"store format {meta['format']}, expected {FORMAT}")
        self.secret = bytes(meta["secret"])
        self.volume_id = int(meta["volume_id"])

    def transaction(self, sync: bool = True) -> AbstractContextManager[None]:
        return self._transaction(sync)

    @contextmanager
    def _transaction(self, sync: bool) -> Iterator[None]:
        synchronous = "FULL" if sync and self._fsync else "NORMAL"
        if synchronous != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        self._db.execute("BEGIN")
        self._transaction_began()
        changes_before = self._db.total_changes
        try:
            yield
            if synchronous == "FULL" and self._unsynced:
                # An empty commit would not fsync the WAL: write a row so that it does.
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('synced', 1)")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._transaction_rolled_back()
            self._inodes.clear()
            self._names.clear()
            self._blocks.clear()
            raise
        self._db.execute("COMMIT")
        if synchronous == "FULL":
            self._unsynced = False
        elif self._db.total_changes != changes_before:
            self._unsynced = True

    def close(self) -> None:
        self.pending.clear()
        self._db.close()

    def allocate(self) -> tuple[int, int]:
        row = self._db.execute("SELECT ino, generation FROM freed ORDER BY ino LIMIT 1").fetchone()
        if row is not None:
            self._db.execute("DELETE FROM freed WHERE ino = ?", (row[0],))
            return int(row[0]), next_generation(int(row[1]))
        (highest,) = self._db.execute("SELECT max(ino) FROM inodes").fetchone()
        return int(highest or ROOT_INO) + 1, FIRST_GENERATION

    def lookup(self, directory: int, name: bytes) -> int | None:
        known = self._names.get((directory, name))
        if known is not None:
            return known
        row = self._db.execute(
            "SELECT ino FROM entries WHERE dir = ? AND name = ?", (directory, name)
        ).fetchone()
        return None if row is None else self._names.remember((directory, name), int(row[0]))

    def add_entry(self, directory: int, name: bytes, ino: int, cookie: int) -> None:
        self._db.execute("INSERT INTO entries VALUES (?, ?, ?, ?)", (directory, name, ino, cookie))
        self._names.remember((directory, name), ino)

    def remove_entry(self, directory: int, name: bytes) -> None:
        self._db.execute("DELETE FROM entries WHERE dir = ? AND name = ?", (directory, name))
        self._names.pop((directory, name), None)

    def entries(self, directory: int, after_cookie: int, limit: int) -> list[EntryRecord]:
        rows = self._db.execute(
            "SELECT cookie, name, ino FROM entries WHERE dir = ? AND cookie > ?"
            " ORDER BY cookie LIMIT ?",
            (directory, after_cookie, limit),
        ).fetchall()
        return [EntryRecord(int(cookie), bytes(name), int(ino)) for cookie, name, ino in rows]

    def has_entries(self, directory: int) -> bool:
        row = self._db.execute("SELECT 1 FROM entries WHERE dir = ? LIMIT 1", (directory,))
        return row.fetchone() is not None

    def _get(self, ino: int) -> Inode | None:
        known = self._inodes.get(ino)
        if known is not None:
            return known
        row = self._db.execute("SELECT * FROM inodes WHERE ino = ?", (ino,)).fetchone()
        return None if row is None else self._inodes.remember(ino, _inode_from_row(row))

    def _put(self, inode: Inode) -> None:
        placeholders = ", ".join("?" * _INODE_COLUMNS)
        self._db.execute(
            f"INSERT OR REPLACE INTO inodes VALUES ({placeholders})", _row_from_inode(inode)
        )
        self._inodes.remember(inode.ino, inode)

    def _release(self, ino: int) -> None:
        (generation,) = self._db.execute(
            "SELECT generation FROM inodes WHERE ino = ?", (ino,)
        ).fetchone()
        self._db.execute("DELETE FROM inodes WHERE ino = ?", (ino,))
        self._db.execute("DELETE FROM blocks WHERE ino = ?", (ino,))
        self._db.execute("DELETE FROM entries WHERE dir = ?", (ino,))
        self._db.execute("INSERT OR REPLACE INTO freed VALUES (?, ?)", (ino, generation))
        self._blocks.clear()
        released = self._inodes.pop(ino, None)
        if released is None or released.is_dir:  # names in it may be remembered
            self._names.clear()

    def _read_blocks(self, ino: int, indices: range) -> dict[int, bytes]:
        remembered = self._blocks
        known = [remembered.get((ino, index)) for index in indices]
        if None not in known:
            return {index: data for index, data in zip(indices, known, strict=True) if data}
        rows = self._db.execute(
            "SELECT idx, data FROM blocks WHERE ino = ? AND idx >= ? AND idx < ?",
            (ino, indices.start, indices.stop),
        ).fetchall()
        found = {int(index): bytes(data) for index, data in rows}
        for index in indices:
            remembered.remember((ino, index), found.get(index, b""))
        return found

    def _write_blocks(self, ino: int, blocks: dict[int, bytes]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)",
            [(ino, index, data) for index, data in blocks.items()],
        )
        for index, data in blocks.items():
            self._blocks.remember((ino, index), bytes(data))

    def _truncate(self, ino: int, size: int) -> None:
        first_dropped, keep = cut_point(size)
        self._blocks.clear()
        self._db.execute("DELETE FROM blocks WHERE ino = ? AND idx >= ?", (ino, first_dropped))
        if keep:
            self._db.execute(
                "UPDATE blocks SET data = substr(data, 1, ?) WHERE ino = ? AND idx = ?",
                (keep, ino, first_dropped - 1),
            )

    def _latest_ctime_ns(self) -> int:
        (latest,) = self._db.execute("SELECT max(ctime) FROM inodes").fetchone()
        return int(latest)

    def _usage(self) -> Usage:
        (files,) = self._db.execute("SELECT count(*) FROM inodes").fetchone()
        (data,) = self._db.execute("SELECT total(length(data)) FROM blocks").fetchone()
        return Usage(int(files), int(data))
