"""The stores: inode numbering, entries, block data, the volatile overlay, durability."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.nfs.access import ROOT_IDENTITY
from reference.nfs.attributes import NO_CHANGES, SetAttributes
from reference.nfs.blocks import BLOCK_SIZE
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.nfs.inode import FIRST_GENERATION, ROOT_INO, Inode
from reference.nfs.memory_store import MemoryStore
from reference.nfs.readdir import readdir3_budget
from reference.nfs.sqlite_store import SqliteStore
from reference.nfs.store import Store
from reference.xdr.gen.nfs3 import ftype3, stable_how
from tests.nfs.conftest import Backend, StepClock

REPO = Path(__file__).resolve().parents[2]


def new_file(store: Store) -> Inode:
    ino, generation = store.allocate()
    inode = Inode(ino, generation, ftype3.NF3REG, 0o644, 1, 0, 0, 0, 0, 0, 0)
    store.put(inode)
    return inode


def grown(inode: Inode, size: int) -> Inode:
    return replace(inode, size=max(inode.size, size))


def test_a_new_store_has_a_root_directory_that_is_its_own_parent(store: Store) -> None:
    root = store.get(ROOT_INO)
    assert root is not None
    assert root.is_dir and root.parent == ROOT_INO and root.nlink == 2


def test_the_lowest_free_number_is_reused_with_the_next_generation(store: Store) -> None:
    with store.transaction():
        first, second, third = (new_file(store) for _ in range(3))
    assert [first.ino, second.ino, third.ino] == [2, 3, 4]
    assert first.generation == FIRST_GENERATION
    with store.transaction():
        store.release(third.ino)
        store.release(second.ino)
    assert store.get(second.ino) is None
    with store.transaction():
        reused = new_file(store)
        again = new_file(store)
        fresh = new_file(store)
    assert (reused.ino, reused.generation) == (second.ino, second.generation + 1)
    assert (again.ino, again.generation) == (third.ino, third.generation + 1)
    assert (fresh.ino, fresh.generation) == (5, FIRST_GENERATION)


def test_generations_survive_a_restart(backend: Backend) -> None:
    store = backend.store
    with store.transaction():
        inode = new_file(store)
        store.release(inode.ino)
        store.put(replace(inode, generation=store.allocate()[1]))
        store.release(inode.ino)
    store = backend.reopen()
    with store.transaction():
        assert store.allocate() == (inode.ino, inode.generation + 2)


def test_entries_come_in_cookie_order_after_a_cookie_and_up_to_a_limit(store: Store) -> None:
    with store.transaction():
        for cookie, name in enumerate([b"c", b"a", b"b", b"d"], start=3):
            store.add_entry(ROOT_INO, name, 100 + cookie, cookie)
        store.remove_entry(ROOT_INO, b"b")
    assert store.lookup(ROOT_INO, b"a") == 104
    assert store.lookup(ROOT_INO, b"b") is None
    names = [entry.name for entry in store.entries(ROOT_INO, 0, 10)]
    assert names == [b"c", b"a", b"d"]
    assert [entry.name for entry in store.entries(ROOT_INO, 4, 1)] == [b"d"]
    assert store.has_entries(ROOT_INO)


def test_holes_read_as_zeros_and_a_truncated_tail_never_comes_back(store: Store) -> None:
    with store.transaction():
        inode = new_file(store)
        inode = grown(inode, BLOCK_SIZE + 10)
        store.write(inode, BLOCK_SIZE, b"x" * 10, stable=True)
    assert store.read(inode.ino, BLOCK_SIZE - 2, 6) == b"\0\0xxxx"
    with store.transaction():
        store.resize(replace(inode, size=BLOCK_SIZE + 3))
        store.resize(replace(inode, size=BLOCK_SIZE + 10))
    assert store.read(inode.ino, BLOCK_SIZE, 10) == b"xxx" + bytes(7)


def test_files_larger_than_a_mebibyte_round_trip(store: Store) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    with store.transaction():
        inode = grown(new_file(store), len(data))
        store.write(inode, 0, data, stable=True)
    assert store.read(inode.ino, 0, len(data)) == data
    assert store.read(inode.ino, 1_000_000, 70_000) == data[1_000_000:1_070_000]


def test_unstable_writes_are_visible_at_once_and_lost_by_a_crash(backend: Backend) -> None:
    store = backend.store
    with store.transaction():
        inode = grown(new_file(store), 4)
        store.write(inode, 0, b"safe", stable=True)
    with store.transaction(sync=False):
        store.write(grown(inode, 9), 4, b"+lost", stable=False)
    assert store.read(inode.ino, 0, 9) == b"safe+lost"
    assert store.get(inode.ino) == grown(inode, 9)
    epoch = store.epoch
    store = backend.reopen()
    assert store.get(inode.ino) == inode
    assert store.read(inode.ino, 0, 4) == b"safe"
    assert isinstance(store, SqliteStore) or store.epoch == epoch + 1


def test_commit_makes_unstable_writes_durable(backend: Backend) -> None:
    store = backend.store
    with store.transaction():
        inode = new_file(store)
    with store.transaction(sync=False):
        store.write(grown(inode, 5), 0, b"kept!", stable=False)
    with store.transaction():
        store.commit(inode.ino)
    store = backend.reopen()
    assert store.read(inode.ino, 0, 5) == b"kept!"
    assert store.get(inode.ino) == grown(inode, 5)


def test_a_stable_write_also_makes_earlier_pending_writes_of_the_file_durable(
    backend: Backend,
) -> None:
    store = backend.store
    with store.transaction():
        inode = new_file(store)
    with store.transaction(sync=False):
        store.write(grown(inode, 3), 0, b"abc", stable=False)
    with store.transaction():
        store.write(grown(inode, 6), 3, b"def", stable=True)
    store = backend.reopen()
    assert store.read(inode.ino, 0, 6) == b"abcdef"


def test_releasing_a_file_drops_its_pending_writes(store: Store) -> None:
    with store.transaction():
        inode = new_file(store)
    with store.transaction(sync=False):
        store.write(grown(inode, 3), 0, b"abc", stable=False)
    with store.transaction():
        store.release(inode.ino)
        reused = new_file(store)
    assert store.pending.total_bytes == 0
    assert reused.ino == inode.ino and store.get(reused.ino) == reused


def test_pending_writes_beyond_the_limit_are_folded_into_the_durable_part() -> None:
    store = MemoryStore(seed=1, pending_limit=2 * BLOCK_SIZE)
    with store.transaction():
        inode = new_file(store)
    data = b"z" * (3 * BLOCK_SIZE)
    with store.transaction(sync=False):
        store.write(grown(inode, len(data)), 0, data, stable=False)
    assert store.pending.total_bytes == 0
    store.crash()
    assert store.read(inode.ino, 0, len(data)) == data


def test_a_seeded_memory_store_is_reproducible() -> None:
    assert MemoryStore(seed=3).secret == MemoryStore(seed=3).secret
    assert MemoryStore(seed=3).volume_id == MemoryStore(seed=3).volume_id
    assert MemoryStore(seed=3).secret != MemoryStore(seed=4).secret


def test_sqlite_keeps_its_secret_and_volume_id(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "s.sqlite", fsync=False)
    secret, volume_id = first.secret, first.volume_id
    first.close()
    second = SqliteStore(tmp_path / "s.sqlite", fsync=False)
    assert (second.secret, second.volume_id) == (secret, volume_id)
    second.close()


def test_a_second_sqlite_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "s.sqlite", fsync=False)
    try:
        with pytest.raises(sqlite3.OperationalError, match="is another server using it"):
            SqliteStore(tmp_path / "s.sqlite", fsync=False)
    finally:
        first.close()


def test_a_rolled_back_transaction_that_lost_pending_data_moves_the_epoch(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite", fsync=False)
    with store.transaction():
        inode = new_file(store)
    with store.transaction(sync=False):
        store.write(grown(inode, 3), 0, b"abc", stable=False)
    epoch = store.epoch
    with pytest.raises(RuntimeError), store.transaction():
        store.commit(inode.ino)
        raise RuntimeError("disk trouble")
    assert store.epoch == epoch + 1
    assert store.get(inode.ino) == inode
    store.close()


def test_what_sqlite_remembers_is_what_its_file_holds_after_a_rollback(tmp_path: Path) -> None:
    """Inode records and names are served from memory once read or written; a rolled back
    transaction's writes are forgotten with it, a committed one's read back from a fresh
    store on the same file."""
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path, fsync=False)
    with store.transaction():
        inode = new_file(store)
        store.add_entry(ROOT_INO, b"a", inode.ino, 3)
    assert store.get(inode.ino) == inode and store.lookup(ROOT_INO, b"a") == inode.ino
    with pytest.raises(RuntimeError), store.transaction():
        store.put(grown(inode, 9))
        store.add_entry(ROOT_INO, b"b", inode.ino, 4)
        store.remove_entry(ROOT_INO, b"a")
        assert store.get(inode.ino) == grown(inode, 9) and store.lookup(ROOT_INO, b"a") is None
        raise RuntimeError("disk trouble")
    assert store.get(inode.ino) == inode
    assert store.lookup(ROOT_INO, b"a") == inode.ino and store.lookup(ROOT_INO, b"b") is None
    with store.transaction():
        store.remove_entry(ROOT_INO, b"a")
        store.release(inode.ino)
    assert store.get(inode.ino) is None and store.lookup(ROOT_INO, b"a") is None
    store.close()
    again = SqliteStore(path, fsync=False)
    assert again.get(inode.ino) is None and again.lookup(ROOT_INO, b"a") is None
    again.close()


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from reference.nfs.access import ROOT_IDENTITY
    from reference.nfs.fs import FileSystem
    from reference.nfs.sqlite_store import SqliteStore
    from reference.xdr.gen.nfs3 import stable_how

    fs = FileSystem(SqliteStore(sys.argv[1]), lambda: 1)
    made = fs.create(fs.root_handle(), b"synced", ROOT_IDENTITY)
    fs.write(made.handle, 0, b"acknowledged" * 10000, stable_how.FILE_SYNC, ROOT_IDENTITY)
    loose = fs.create(fs.root_handle(), b"unstable", ROOT_IDENTITY)
    fs.write(loose.handle, 0, b"maybe", stable_how.UNSTABLE, ROOT_IDENTITY)
    print(made.handle.hex(), flush=True)
    sys.stdin.read()  # wait here until killed
    """
)


def test_file_sync_data_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    handle = bytes.fromhex(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL

    fs = FileSystem(SqliteStore(path, fsync=False), lambda: 2)
    assert fs.read(handle, 0, 200_000, ROOT_IDENTITY).data == b"acknowledged" * 10000
    unstable = fs.lookup(fs.root_handle(), b"unstable", ROOT_IDENTITY)
    assert unstable.attributes.size == 0
    fs.store.close()


# -- both backends behave alike -------------------------------------------------------------

NAMES = st.sampled_from([b"a", b"b", b"c"])
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), NAMES),
        st.tuples(st.just("mkdir"), NAMES),
        st.tuples(st.just("remove"), NAMES),
        st.tuples(st.just("rmdir"), NAMES),
        st.tuples(st.just("rename"), NAMES, NAMES),
        st.tuples(st.just("write"), NAMES, st.integers(0, 70_000), st.binary(max_size=40_000),
                  st.booleans()),
        st.tuples(st.just("truncate"), NAMES, st.integers(0, 100_000)),
        st.tuples(st.just("commit"), NAMES),
        st.tuples(st.just("restart")),
    ),
    max_size=25,
)  # fmt: skip


def _observe(fs: FileSystem) -> list[tuple[bytes, int, int, bytes]]:
    """Every entry of the root: name, type, size and a digest of its content."""
    page = fs.readdir(fs.root_handle(), ROOT_IDENTITY, 0, bytes(8), readdir3_budget(1 << 20))
    seen = []
    for entry in page.entries[2:]:
        found = fs.lookup(fs.root_handle(), entry.name, ROOT_IDENTITY)
        content = b""
        if found.attributes.type == ftype3.NF3REG:
            content = fs.read(found.handle, 0, 1 << 20, ROOT_IDENTITY).data
        digest = hashlib.sha256(content).digest()
        seen.append((entry.name, int(found.attributes.type), found.attributes.size, digest))
    return seen


def _apply(fs: FileSystem, operation: tuple[object, ...]) -> object:
    root, who = fs.root_handle(), ROOT_IDENTITY
    kind, *args = operation
    try:
        if kind == "create":
            return fs.create(root, cast(bytes, args[0]), who).attributes.size
        if kind == "mkdir":
            return fs.mkdir(root, cast(bytes, args[0]), NO_CHANGES, who).attributes.nlink
        if kind == "remove":
            return fs.remove(root, cast(bytes, args[0]), who).after.nlink
        if kind == "rmdir":
            return fs.rmdir(root, cast(bytes, args[0]), who).after.nlink
        if kind == "rename":
            fs.rename(root, cast(bytes, args[0]), root, cast(bytes, args[1]), who)
            return None
        handle = fs.lookup(root, cast(bytes, args[0]), who).handle
        if kind == "write":
            offset, data, stable = cast(tuple[int, bytes, bool], tuple(args[1:]))
            how = stable_how.FILE_SYNC if stable else stable_how.UNSTABLE
            return fs.write(handle, offset, data, how, who).wcc.after.size
        if kind == "truncate":
            return fs.setattr(handle, SetAttributes(size=cast(int, args[1])), who).after.size
        return fs.commit(handle).wcc.after.size
    except NfsError as error:
        return error.status


@given(OPERATIONS)
def test_memory_and_sqlite_stores_agree(operations: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        backends = [
            Backend("memory", Path(directory) / "unused"),
            Backend("sqlite", Path(directory) / "store.sqlite"),
        ]
        systems = [FileSystem(b.store, StepClock()) for b in backends]
        for operation in operations:
            if operation[0] == "restart":
                systems = [FileSystem(b.reopen(), StepClock()) for b in backends]
                results: list[object] = [None, None]
            else:
                results = [_apply(fs, operation) for fs in systems]
            assert results[0] == results[1], operation
            assert _observe(systems[0]) == _observe(systems[1])
        for backend in backends:
            backend.close()


FILE_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 3 * BLOCK_SIZE),
                  st.binary(max_size=BLOCK_SIZE + 99), st.booleans()),
        st.tuples(st.just("truncate"), st.integers(0, 4 * BLOCK_SIZE)),
        st.tuples(st.just("commit")),
        st.tuples(st.just("crash")),
    ),
    max_size=30,
)  # fmt: skip


def _resized(content: bytearray, size: int) -> bytearray:
    return content[:size] + bytearray(max(size - len(content), 0))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@given(operations=FILE_OPERATIONS)
def test_file_content_follows_a_model_of_durable_and_volatile_bytes(
    kind: str, operations: list[tuple[object, ...]]
) -> None:
    """The model: `current` is what reads see, `durable` what a crash leaves. Stable
    writes of data, truncation and COMMIT make the whole file durable; a crash reverts."""
    with tempfile.TemporaryDirectory() as directory:
        backend = Backend(kind, Path(directory) / "store.sqlite")
        fs = FileSystem(backend.store, StepClock())
        handle = fs.create(fs.root_handle(), b"f", ROOT_IDENTITY).handle
        current, durable = bytearray(), bytearray()
        for operation in operations:
            if operation[0] == "write":
                offset, data, stable = cast(tuple[int, bytes, bool], operation[1:])
                how = stable_how.FILE_SYNC if stable else stable_how.UNSTABLE
                fs.write(handle, offset, data, how, ROOT_IDENTITY)
                if data:  # a zero-length write changes and commits nothing
                    current = _resized(current, max(len(current), offset + len(data)))
                    current[offset : offset + len(data)] = data
                    if stable:
                        durable = bytearray(current)
            elif operation[0] == "truncate":
                size = cast(int, operation[1])
                fs.setattr(handle, SetAttributes(size=size), ROOT_IDENTITY)
                current = _resized(current, size)
                durable = bytearray(current)
            elif operation[0] == "commit":
                fs.commit(handle)
                durable = bytearray(current)
            else:
                fs = FileSystem(backend.reopen(), StepClock())
                current = bytearray(durable)
            assert fs.getattr(handle).size == len(current)
            assert fs.read(handle, 0, 1 << 20, ROOT_IDENTITY).data == current
        backend.close()
