"""rpcinfo (Debian rpcbind, an independent ONC RPC client) pings what `nfsprop serve` serves:
NFS v2, NFS v3, MOUNT v3 and the portmapper v2, over TCP and UDP, through the universal
address (no rpcbind needed); it reads our version mismatch for NFS v4. The server's own
portmapper maps every program it serves, and MOUNT moves with --mount-port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from properties.peers.reference_server import ServerProcess
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.portmap import getport
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3
from reference.xdr.gen.nfs2 import NFS_VERSION
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3
from reference.xdr.gen.portmap import IPPROTO_TCP, IPPROTO_UDP, PMAP_PROG, PMAP_VERS
from tests.interop.test_rpcinfo import rpcinfo

SERVED = [
    (NFS_PROGRAM, NFS_VERSION),
    (NFS_PROGRAM, NFS_V3),
    (MOUNT_PROGRAM, MOUNT_V3),
    (PMAP_PROG, PMAP_VERS),
]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rpcinfo_pings_every_program(reference_server: ServerProcess, transport: str) -> None:
    for program, version in SERVED:
        result = rpcinfo(reference_server.port, transport, program, version)
        assert result.returncode == 0, (program, version, result.stderr)
        assert f"program {program} version {version} ready and waiting" in result.stdout


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rpcinfo_reads_the_nfs_versions_served(
    reference_server: ServerProcess, transport: str
) -> None:
    result = rpcinfo(reference_server.port, transport, NFS_PROGRAM, 4)
    assert result.returncode == 1
    assert "low version = 2, high version = 3" in result.stderr


def mappings(port: int) -> dict[tuple[int, int, int], int]:
    """GETPORT of every served (program, version) over both protocols, asked over TCP."""

    async def ask() -> dict[tuple[int, int, int], int]:
        client = await RpcSocketClient.connect("127.0.0.1", port, "tcp")
        async with client:
            return {
                (program, version, protocol): await getport(client, program, version, protocol)
                for program, version in SERVED
                for protocol in (IPPROTO_TCP, IPPROTO_UDP)
            }

    return asyncio.run(asyncio.wait_for(ask(), 30))


def test_the_portmapper_maps_every_program(reference_server: ServerProcess) -> None:
    found = mappings(reference_server.port)
    assert set(found.values()) == {reference_server.port}


def test_a_separate_mount_port_without_udp(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", extra_args=("--mount-port", "0", "--no-udp"))
    server.start()
    try:
        assert server.mount_port != server.port
        assert rpcinfo(server.mount_port, "tcp", MOUNT_PROGRAM, MOUNT_V3).returncode == 0
        assert rpcinfo(server.port, "tcp", MOUNT_PROGRAM, MOUNT_V3).returncode != 0
        assert rpcinfo(server.port, "udp", NFS_PROGRAM, NFS_V3).returncode != 0
        found = mappings(server.port)
    finally:
        server.stop()
    for (program, _, protocol), port in found.items():
        if protocol == IPPROTO_UDP:
            assert port == 0
        else:
            assert port == (server.mount_port if program == MOUNT_PROGRAM else server.port)
