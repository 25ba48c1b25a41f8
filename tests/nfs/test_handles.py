"""File handles: layout, v2 padding, forgery and corruption, staleness, restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reference.nfs.access import ROOT_IDENTITY
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.nfs.handles import HANDLE_SIZE, V2_HANDLE_SIZE, HandleCodec, HandleTarget, to_v2
from reference.nfs.memory_store import MemoryStore
from reference.nfs.sqlite_store import SqliteStore
from reference.xdr.gen.nfs3 import (
    NFS3_FHSIZE,
    NFS3ERR_BADHANDLE,
    NFS3ERR_STALE,
    stable_how,
)
from tests.nfs.conftest import Backend, StepClock

SECRET = b"s" * 32
CODEC = HandleCodec(SECRET, 0x1234)


def status_of(fs: FileSystem, handle: bytes) -> int:
    with pytest.raises(NfsError) as raised:
        fs.getattr(handle)
    return raised.value.status


def test_a_handle_names_its_inode_and_generation() -> None:
    handle = CODEC.encode(42, 7)
    assert len(handle) == HANDLE_SIZE <= NFS3_FHSIZE
    assert CODEC.decode(handle) == HandleTarget(42, 7)


def test_the_v2_form_is_32_bytes_and_decodes_the_same() -> None:
    handle = to_v2(CODEC.encode(42, 7))
    assert len(handle) == V2_HANDLE_SIZE
    assert CODEC.decode(handle) == HandleTarget(42, 7)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h[:-1],
        lambda h: h + b"\0",
        lambda h: b"",
        lambda h: to_v2(h)[:-1] + b"\1",
        lambda h: b"\2" + h[1:],
        lambda h: HandleCodec(b"t" * 32, 0x1234).encode(42, 7),
    ],
    ids=["short", "long", "empty", "v2-padding", "format", "other-secret"],
)
def test_anything_this_store_did_not_make_is_a_bad_handle(
    mangle: Callable[[bytes], bytes],
) -> None:
    with pytest.raises(NfsError) as raised:
        CODEC.decode(mangle(CODEC.encode(42, 7)))
    assert raised.value.status == NFS3ERR_BADHANDLE


def test_a_remembered_handle_shields_no_neighbour_every_flipped_bit_is_a_bad_handle() -> None:
    codec = HandleCodec(SECRET, 0x1234)
    handle = codec.encode(42, 7)
    assert codec.encode(42, 7) is handle  # made once, then remembered
    assert codec.decode(handle) == codec.decode(handle) == HandleTarget(42, 7)
    for bit in range(len(handle) * 8):
        flipped = bytearray(handle)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(NfsError) as raised:
            codec.decode(bytes(flipped))
        assert raised.value.status == NFS3ERR_BADHANDLE, bit


def test_an_authentic_handle_of_another_volume_is_stale() -> None:
    other_volume = HandleCodec(SECRET, 0x9999).encode(42, 7)
    with pytest.raises(NfsError) as raised:
        CODEC.decode(other_volume)
    assert raised.value.status == NFS3ERR_STALE


def test_a_removed_file_is_stale_and_a_reused_inode_never_answers_the_old_handle(
    fs: FileSystem,
) -> None:
    root = fs.root_handle()
    old = fs.create(root, b"old", ROOT_IDENTITY)
    fs.write(old.handle, 0, b"old data", stable_how.FILE_SYNC, ROOT_IDENTITY)
    fs.remove(root, b"old", ROOT_IDENTITY)
    assert status_of(fs, old.handle) == NFS3ERR_STALE
    new = fs.create(root, b"new", ROOT_IDENTITY)
    fs.write(new.handle, 0, b"new data", stable_how.FILE_SYNC, ROOT_IDENTITY)
    assert new.attributes.fileid == old.attributes.fileid
    assert new.handle != old.handle
    assert status_of(fs, old.handle) == NFS3ERR_STALE
    with pytest.raises(NfsError):
        fs.read(old.handle, 0, 100, ROOT_IDENTITY)
    assert fs.read(new.handle, 0, 100, ROOT_IDENTITY).data == b"new data"


def test_handles_stay_valid_across_restarts(backend: Backend, clock: StepClock) -> None:
    fs = FileSystem(backend.store, clock)
    made = fs.create(fs.root_handle(), b"kept", ROOT_IDENTITY)
    root = fs.root_handle()
    restarted = FileSystem(backend.reopen(), clock)
    assert restarted.root_handle() == root
    assert restarted.getattr(made.handle) == made.attributes


def test_handles_of_another_store_are_not_accepted(tmp_path: Path, clock: StepClock) -> None:
    first = SqliteStore(tmp_path / "a.sqlite", fsync=False)
    second = SqliteStore(tmp_path / "b.sqlite", fsync=False)
    handle = FileSystem(first, clock).root_handle()
    assert status_of(FileSystem(second, clock), handle) == NFS3ERR_BADHANDLE
    first.close()
    second.close()


def _world() -> tuple[FileSystem, list[bytes]]:
    fs = FileSystem(MemoryStore(seed=5), StepClock())
    root = fs.root_handle()
    handles = [root]
    for index in range(4):
        handles.append(fs.create(root, b"f%d" % index, ROOT_IDENTITY).handle)
    fs.remove(root, b"f1", ROOT_IDENTITY)
    handles.append(fs.create(root, b"reused", ROOT_IDENTITY).handle)
    return fs, handles


WORLD, HANDLES = _world()


@given(st.sampled_from(HANDLES), st.data())
def test_flipping_any_bit_of_a_valid_handle_never_names_another_file(
    handle: bytes, data: st.DataObject
) -> None:
    bit = data.draw(st.integers(0, len(handle) * 8 - 1), label="bit")
    flipped = bytearray(handle)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert status_of(WORLD, bytes(flipped)) in (NFS3ERR_BADHANDLE, NFS3ERR_STALE)


@given(st.binary(max_size=NFS3_FHSIZE))
def test_arbitrary_bytes_are_never_a_handle(forged: bytes) -> None:
    assume(forged not in HANDLES)
    assert status_of(WORLD, forged) == NFS3ERR_BADHANDLE
