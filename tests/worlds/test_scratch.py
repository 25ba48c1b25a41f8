"""--scratch-dir: the target world works in one directory of the export, made if missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.nfs3.wire import sattr
from properties.peers.reference_server import ServerProcess
from properties.worlds.external import make_external_target
from properties.worlds.options import TargetUrl, WorldError, WorldFlags, WorldOptions
from properties.worlds.prerun import describe
from properties.worlds.registry import choose_worlds
from properties.worlds.shared import SharedServers
from properties.worlds.sockets import ROOT
from properties.worlds.target import REAL_SOCKETS, Target
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS3_OK, NFS_V3_Client


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "served") as server:
        yield server


def url_of(server: ServerProcess) -> TargetUrl:
    return TargetUrl("127.0.0.1", server.port, b"/export", server.mount_port)


def in_scratch(server: ServerProcess, name: str = "work") -> WorldOptions:
    return choose_worlds(WorldFlags("target", str(url_of(server)), scratch_dir=name))


class Export:
    """The whole export, as the server has it (no scratch directory)."""

    def __init__(self, server: ServerProcess) -> None:
        self.target = make_external_target(url_of(server), None, REAL_SOCKETS, ROOT)

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc: object) -> None:
        self.target.close()

    def names(self, *path: bytes) -> list[bytes]:
        return self.target.run(_names(self.target, path))

    def make(self, name: bytes, directory: bool = False) -> None:
        self.target.run(_make(self.target, name, directory))

    def remove_directory(self, name: bytes) -> None:
        self.target.run(_rmdir(self.target, name))


async def _root(target: Target) -> nfs3.nfs_fh3:
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    assert mounted.mountinfo is not None
    return nfs3.nfs_fh3(mounted.mountinfo.fhandle)


async def _names(target: Target, path: tuple[bytes, ...]) -> list[bytes]:
    nfs = NFS_V3_Client(target.caller)
    directory = await _root(target)
    for name in path:
        found = await nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(nfs3.diropargs3(directory, name)))
        assert found.resok is not None, found.status
        directory = found.resok.object
    listed = await nfs.NFSPROC3_READDIR(nfs3.READDIR3args(directory, 0, bytes(8), 4096))
    assert listed.resok is not None
    entries = listed.resok.reply.entries
    return sorted(entry.name for entry in entries if entry.name not in (b".", b".."))


async def _make(target: Target, name: bytes, directory: bool) -> None:
    nfs = NFS_V3_Client(target.caller)
    where = nfs3.diropargs3(await _root(target), name)
    if directory:
        status = (await nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(where, sattr()))).status
    else:
        how = nfs3.createhow3(nfs3.UNCHECKED, obj_attributes=sattr())
        status = (await nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where, how))).status
    assert status == NFS3_OK


async def _rmdir(target: Target, name: bytes) -> None:
    where = nfs3.diropargs3(await _root(target), name)
    assert (await NFS_V3_Client(target.caller).NFSPROC3_RMDIR(nfs3.RMDIR3args(where))).status == (
        NFS3_OK
    )


def test_the_world_empties_only_its_scratch_directory(served: ServerProcess) -> None:
    """The pre-run check makes the directory; every example's root is it; what else the
    export holds stays; one the server lost is made again."""
    with Export(served) as export:
        export.make(b"keep")
        options = in_scratch(served)
        assert export.names() == [b"keep", b"work"]
        assert ", works in 'work' of the export (its root)," in describe(options)[1]
        shared = SharedServers(options)
        try:
            first = shared.example("target", True)
            first.run(_make(first, b"made by an example", False))
            first.close()
            assert export.names(b"work") == [b"made by an example"]
            shared.example("target", True).close()  # empties the scratch directory
            assert export.names(b"work") == [] and export.names() == [b"keep", b"work"]
            export.remove_directory(b"work")
            shared.example("target", True).close()
            assert export.names() == [b"keep", b"work"]
        finally:
            shared.close()


def test_dotdot_in_the_scratch_directory_is_the_directory_itself(served: ServerProcess) -> None:
    """As at an export's root: LOOKUP '..' answers the scratch directory, not its parent."""
    target = make_external_target(url_of(served), None, REAL_SOCKETS, ROOT, b"work")
    try:
        fileids = target.run(_fileids(target))
    finally:
        target.close()
    assert fileids[0] == fileids[1]


async def _fileids(target: Target) -> tuple[int, int]:
    nfs = NFS_V3_Client(target.caller)
    root = await _root(target)
    attributes = await nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(root))
    up = await nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(nfs3.diropargs3(root, b"..")))
    assert attributes.resok is not None and up.resok is not None
    found = await nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(up.resok.object))
    assert found.resok is not None
    return attributes.resok.obj_attributes.fileid, found.resok.obj_attributes.fileid


def test_a_scratch_name_that_is_a_file_is_named(served: ServerProcess) -> None:
    with Export(served) as export:
        export.make(b"work")
    with pytest.raises(WorldError) as error:
        in_scratch(served)
    assert "the scratch directory 'work' in the export is a NF3REG, not a directory" in str(
        error.value
    )
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["a/b", ".", "..", "", "n" * 256])
def test_a_scratch_dir_is_one_directory_name(name: str) -> None:
    with pytest.raises(WorldError, match="give one directory name") as error:
        choose_worlds(WorldFlags("target", "nfs://127.0.0.1:1/export", scratch_dir=name))
    assert "\n" not in str(error.value)


def test_a_scratch_dir_needs_the_target_world() -> None:
    with pytest.raises(WorldError, match="given without the target world"):
        choose_worlds(WorldFlags("sim", scratch_dir="work"))
