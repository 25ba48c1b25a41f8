"""Interop with rpcinfo (Debian rpcbind), an independent ONC RPC client: it pings our
counter program and portmapper over TCP and UDP through their universal address, and
reports our PROG_MISMATCH answer with the right version range."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.counter_service import CounterService
from reference.rpc.portmap import PortmapService
from reference.rpc.server import RpcServer
from reference.xdr.gen.counter import COUNTER_PROGRAM, COUNTER_V1
from reference.xdr.gen.portmap import PMAP_PROG, PMAP_VERS

COUNTER = (COUNTER_PROGRAM, COUNTER_V1)
PORTMAP = (PMAP_PROG, PMAP_VERS)
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def rpcinfo_binary() -> str:
    found = shutil.which("rpcinfo", path=SEARCH_PATH)
    if found is None:
        pytest.fail(
            "rpcinfo not found: run `bash scripts/bootstrap` (installs Debian package rpcbind)"
        )
    return found


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    sockets = RpcSocketServer(RpcServer([CounterService(), PortmapService()]))
    with ThreadedServer(sockets) as threaded:
        yield threaded.port


def rpcinfo(
    port: int, transport: str, program: int, version: int
) -> subprocess.CompletedProcess[str]:
    universal_address = f"127.0.0.1.{port // 256}.{port % 256}"
    command = [rpcinfo_binary(), "-a", universal_address, "-T", transport]
    return subprocess.run(
        [*command, str(program), str(version)], capture_output=True, text=True, timeout=20
    )


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize(("program", "version"), [COUNTER, PORTMAP])
def test_rpcinfo_pings_our_programs(
    server_port: int, transport: str, program: int, version: int
) -> None:
    result = rpcinfo(server_port, transport, program, version)
    assert result.returncode == 0, result.stderr
    assert f"program {program} version {version} ready and waiting" in result.stdout


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rpcinfo_reads_our_version_mismatch(server_port: int, transport: str) -> None:
    result = rpcinfo(server_port, transport, COUNTER[0], 9)
    assert result.returncode == 1
    assert "low version = 1, high version = 1" in result.stderr
