"""NfsClient over real sockets: the same client, a socket Caller (TCP and UDP) to the
reference server on 127.0.0.1, asyncio's clock."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from reference.client import MountOptions, NfsClient
from reference.nfs.drc_policy import NFS_DRC_POLICY
from reference.nfs.fs import FileSystem
from reference.nfs.memory_store import MemoryStore
from reference.nfs.mount_service import MountService
from reference.nfs.nfs3_service import NfsV3Service
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.server import RpcServer
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

OPTIONS = MountOptions(timeo=1.0, retrans=3, hard=False, max_timeo=4.0)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_close_to_open_between_two_clients_over_sockets(transport: str) -> None:
    fs = FileSystem(MemoryStore(seed=1), clock_ns=time.time_ns)
    server = RpcServer(
        [NfsV3Service(fs), MountService(fs, b"/export")],
        DuplicateRequestCache(policy=NFS_DRC_POLICY),
    )
    with ThreadedServer(RpcSocketServer(server)) as threaded:

        async def mount(name: str) -> tuple[RpcSocketClient, NfsClient]:
            caller = await RpcSocketClient.connect(
                "127.0.0.1",
                threaded.port,
                transport,
                OPTIONS.retry_policy(),
                AuthSys(0, b"t", 0, 0),
            )
            clock = asyncio.get_running_loop().time
            client = await NfsClient.mount(
                NFS_V3_Client(caller), MOUNT_V3_Client(caller), "/export", clock, OPTIONS, name=name
            )
            return caller, client

        async def scenario() -> tuple[bytes, list[str]]:
            (first_caller, first), (second_caller, second) = await mount("a"), await mount("b")
            async with first_caller, second_caller:
                await first.mkdir("d")
                file = await first.open("d/f", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                await first.write(file, b"over the wire" * 1000)
                await first.close(file)
                file = await second.open("d/f")
                data = await second.read(file, 1 << 20)
                await second.close(file)
                names = await second.listdir("d")
                await first.unmount()
                return data, names

        data, names = asyncio.run(scenario())
    assert data == b"over the wire" * 1000
    assert names == ["f"]
