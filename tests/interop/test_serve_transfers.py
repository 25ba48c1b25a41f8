"""Transfer sizes of `nfsprop serve` on real sockets: over TCP a full RTMAX READ and WTMAX
WRITE fit the record limit on both sides; over UDP FSINFO advertises what fits one
datagram, and READ and READDIR replies stay within it whatever count the client asks
for (before the cap such a READ was never answered: the reply could not be sent)."""

from __future__ import annotations

import asyncio
import random

from properties.nfs3.calls import ClientStubs, create, mount_root, read, write
from properties.peers.reference_server import ServerProcess
from properties.worlds.sockets import ROOT
from reference.nfs.fs import RTMAX, WTMAX
from reference.nfs.nfs3_service import UDP_MAX_TRANSFER
from reference.nfs.server_main import MAX_RECORD
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.client import RetryPolicy
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs3 import NFS3_OK, nfs_fh3, stable_how

SOFT = RetryPolicy(timeo=2.0, retrans=2)


async def connect(server: ServerProcess, transport: str) -> ClientStubs:
    client = await RpcSocketClient.connect(
        "127.0.0.1", server.port, transport, SOFT, ROOT, max_record=MAX_RECORD
    )
    return ClientStubs(client)


def test_a_full_size_write_and_read_over_tcp(reference_server: ServerProcess) -> None:
    data = random.Random(5).randbytes(WTMAX)

    async def scenario() -> bytes:
        stubs = await connect(reference_server, "tcp")
        async with stubs.client:
            root = await mount_root(stubs)
            handle = await create(stubs, root, b"full")
            await write(stubs, handle, 0, data, stable_how.FILE_SYNC)
            return await read(stubs, handle, 0, RTMAX)

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == data


def test_udp_transfers_fit_one_datagram(reference_server: ServerProcess) -> None:
    async def scenario() -> tuple[nfs3.FSINFO3resok, bytes, nfs3.READDIR3resok]:
        stubs = await connect(reference_server, "udp")
        async with stubs.client:
            root = await mount_root(stubs)
            handle = await create(stubs, root, b"big")
            for offset in range(0, 4 * UDP_MAX_TRANSFER, UDP_MAX_TRANSFER):
                await write(stubs, handle, offset, b"u" * UDP_MAX_TRANSFER, stable_how.UNSTABLE)
            for index in range(400):
                await create(stubs, root, f"name-{index:04d}-{'x' * 60}".encode())
            info = await stubs.nfs.NFSPROC3_FSINFO(nfs3.FSINFO3args(nfs_fh3(root)))
            data = await read(stubs, handle, 0, 4 * UDP_MAX_TRANSFER)
            listing = await stubs.nfs.NFSPROC3_READDIR(
                nfs3.READDIR3args(nfs_fh3(root), 0, bytes(8), 1 << 20)
            )
            assert info.resok is not None and listing.status == NFS3_OK
            assert listing.resok is not None
            return info.resok, data, listing.resok

    info, data, listing = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert info.rtmax == info.wtmax == UDP_MAX_TRANSFER
    assert info.rtpref <= info.rtmax and info.wtpref <= info.wtmax
    assert data == b"u" * UDP_MAX_TRANSFER
    assert not listing.reply.eof
    assert 0 < len(listing.encode()) <= UDP_MAX_TRANSFER
