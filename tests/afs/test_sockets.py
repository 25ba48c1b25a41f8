"""The AFS server and clients on real sockets (127.0.0.1): the callback break travels as a
real RPC from the server to the client's callback port; copies live in directories."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from reference.afs.aio import AfsSocketClient, AfsSocketServer
from reference.afs.files import FileTable
from reference.afs.local_files import DirectoryFiles
from reference.rpc.client import RetryPolicy

POLICY = RetryPolicy(timeo=0.5, retrans=3)
LIMIT = 20.0  # seconds: every scenario is bounded


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(LIMIT):
            await scenario()

    asyncio.run(bounded())


def seeded() -> FileTable:
    files = FileTable()
    files.store(b"a", b"a0")
    files.store(b"b", b"b0")
    return files


def test_a_store_breaks_the_other_clients_callback_over_the_network(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = AfsSocketServer(seeded())
        await server.start()
        one = await AfsSocketClient.connect(
            "127.0.0.1", server.port, DirectoryFiles(tmp_path / "one"), retry_policy=POLICY
        )
        two = await AfsSocketClient.connect(
            "127.0.0.1", server.port, DirectoryFiles(tmp_path / "two"), "udp", retry_policy=POLICY
        )
        try:
            assert await one.client.read_file(b"a") == b"a0"
            assert await one.client.read_file(b"a") == b"a0"
            assert one.client.stats.cache_hits == 1
            assert await two.client.write_file(b"a", b"new") == 3
            assert one.client.callbacks.breaks == 1
            assert await one.client.read_file(b"a") == b"new"
            assert one.client.stats.fetches == 2
            assert DirectoryFiles(tmp_path / "one").get(b"a") is not None
        finally:
            await one.close()
            await two.close()
            await server.close()

    run(scenario)


def test_copies_on_disk_survive_the_client_and_a_server_restart_is_noticed(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        files = seeded()
        server = AfsSocketServer(files)
        await server.start()
        port = server.port
        first = await AfsSocketClient.connect(
            "127.0.0.1", port, DirectoryFiles(tmp_path), retry_policy=POLICY
        )
        assert await first.client.read_file(b"a") == b"a0"
        await first.close()
        again = await AfsSocketClient.connect(
            "127.0.0.1", port, DirectoryFiles(tmp_path), retry_policy=POLICY
        )
        try:
            assert await again.client.read_file(b"a") == b"a0"
            assert (again.client.stats.fetches, again.client.stats.revalidations) == (0, 1)
            await server.close()
            server = AfsSocketServer(files, port=port)
            await server.start()
            assert await again.client.read_file(b"b") == b"b0"  # a reply of the new epoch
            assert again.client.callbacks.epoch == 2
            assert await again.client.read_file(b"a") == b"a0"
            assert again.client.stats.revalidations == 2
        finally:
            await again.close()
            await server.close()

    run(scenario)
