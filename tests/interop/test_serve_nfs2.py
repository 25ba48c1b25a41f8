"""NFSv2 on the wire: `nfsprop serve` answers version 2 of the NFS program on the NFS port,
over TCP and UDP, on the same store as v3. The root handle MOUNT v3 hands out works in
its 32-byte v2 form, and what v2 writes v3 reads."""

from __future__ import annotations

import asyncio

import pytest

from properties.nfs3.calls import ClientStubs, lookup, mount_root, read
from properties.peers.reference_server import ServerProcess
from properties.worlds.sockets import ROOT
from reference.nfs.handles import to_v2
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.client import RetryPolicy
from reference.xdr.gen.nfs2 import (
    NFS_VERSION_Client,
    createargs,
    diropargs,
    readargs,
    readdirargs,
    sattr,
    stat,
    timeval,
    writeargs,
)

UNSET = 0xFFFF_FFFF
NO_CHANGE = sattr(UNSET, UNSET, UNSET, UNSET, timeval(UNSET, UNSET), timeval(UNSET, UNSET))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_v2_creates_writes_reads_and_lists(reference_server: ServerProcess, transport: str) -> None:
    async def scenario() -> tuple[bytes, bytes, list[bytes]]:
        client = await RpcSocketClient.connect(
            "127.0.0.1", reference_server.port, transport, RetryPolicy(timeo=2.0), ROOT
        )
        async with client:
            v3 = ClientStubs(client)
            v2 = NFS_VERSION_Client(client)
            v3_root = await mount_root(v3)
            root = to_v2(v3_root)
            created = await v2.NFSPROC_CREATE(createargs(diropargs(root, b"v2.txt"), NO_CHANGE))
            assert created.status == stat.NFS_OK and created.diropok is not None
            handle = created.diropok.file
            written = await v2.NFSPROC_WRITE(writeargs(handle, 0, 0, 0, b"written by v2"))
            assert written.status == stat.NFS_OK and written.attributes is not None
            assert written.attributes.size == 13
            got = await v2.NFSPROC_READ(readargs(handle, 8, 100, 0))
            assert got.status == stat.NFS_OK and got.reply is not None
            listing = await v2.NFSPROC_READDIR(readdirargs(root, bytes(4), 4096))
            assert listing.status == stat.NFS_OK and listing.readdirok is not None
            names = [entry.name for entry in listing.readdirok.entries]
            v3_handle = await lookup(v3, v3_root, b"v2.txt")
            return got.reply.data, await read(v3, v3_handle, 0, 100), names

    tail, through_v3, names = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert tail == b"by v2"
    assert through_v3 == b"written by v2"
    assert names == [b".", b"..", b"v2.txt"]
