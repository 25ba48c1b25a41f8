"""Small NFSv3 steps over generated stubs (TargetStubs over a Target's callers, or ClientStubs
over one RpcSocketClient), for tests that drive a server by hand (the Toxiproxy property,
the interop tests): each one makes one call and fails the test (AssertionError naming the
status) unless it succeeds."""

from __future__ import annotations

from typing import Protocol

from properties.worlds.target import Target
from reference.rpc.aio_client import RpcSocketClient
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS_V3_Client,
    createhow3,
    createmode3,
    diropargs3,
    nfs_fh3,
    sattr3,
    set_atime,
    set_gid3,
    set_mode3,
    set_mtime,
    set_size3,
    set_uid3,
    stable_how,
    time_how,
)

NO_CHANGES = sattr3(
    set_mode3(False),
    set_uid3(False),
    set_gid3(False),
    set_size3(False),
    set_atime(time_how.DONT_CHANGE),
    set_mtime(time_how.DONT_CHANGE),
)


class Stubs(Protocol):
    """What the steps need: TargetStubs and ClientStubs."""

    @property
    def export(self) -> bytes: ...
    @property
    def nfs(self) -> NFS_V3_Client: ...
    @property
    def mount(self) -> MOUNT_V3_Client: ...


class TargetStubs:
    """NFSv3 and MOUNT v3 stubs bound to a Target's callers."""

    def __init__(self, target: Target) -> None:
        self.export = target.export
        self.nfs = NFS_V3_Client(target.caller)
        self.mount = MOUNT_V3_Client(target.mount_caller)


class ClientStubs:
    """NFSv3 and MOUNT v3 stubs over one RpcSocketClient (closed with `async with`)."""

    export = b"/export"

    def __init__(self, client: RpcSocketClient) -> None:
        self.client = client
        self.nfs = NFS_V3_Client(client)
        self.mount = MOUNT_V3_Client(client)


async def mount_root(target: Stubs) -> bytes:
    mounted = await target.mount.MOUNTPROC3_MNT(target.export)
    assert mounted.fhs_status == MNT3_OK and mounted.mountinfo is not None, mounted.fhs_status
    return mounted.mountinfo.fhandle


async def mkdir(target: Stubs, directory: bytes, name: bytes) -> bytes:
    where = diropargs3(nfs_fh3(directory), name)
    made = await target.nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(where, NO_CHANGES))
    assert made.status == NFS3_OK and made.resok is not None, made.status
    assert made.resok.obj.handle is not None
    return made.resok.obj.handle.data


async def create(target: Stubs, directory: bytes, name: bytes) -> bytes:
    how = createhow3(createmode3.GUARDED, NO_CHANGES)
    made = await target.nfs.NFSPROC3_CREATE(
        nfs3.CREATE3args(diropargs3(nfs_fh3(directory), name), how)
    )
    assert made.status == NFS3_OK and made.resok is not None, made.status
    assert made.resok.obj.handle is not None
    return made.resok.obj.handle.data


async def write(
    target: Stubs, handle: bytes, offset: int, data: bytes, stable: stable_how
) -> nfs3.WRITE3resok:
    args = nfs3.WRITE3args(nfs_fh3(handle), offset, len(data), stable, data)
    written = await target.nfs.NFSPROC3_WRITE(args)
    assert written.status == NFS3_OK and written.resok is not None, written.status
    assert written.resok.count == len(data)
    return written.resok


async def read(target: Stubs, handle: bytes, offset: int, count: int) -> bytes:
    got = await target.nfs.NFSPROC3_READ(nfs3.READ3args(nfs_fh3(handle), offset, count))
    assert got.status == NFS3_OK and got.resok is not None, got.status
    return got.resok.data


async def lookup(target: Stubs, directory: bytes, name: bytes) -> bytes:
    found = await target.nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(diropargs3(nfs_fh3(directory), name)))
    assert found.status == NFS3_OK and found.resok is not None, found.status
    return found.resok.object.data
