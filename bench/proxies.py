"""Calls per second through the fault proxies vs direct, side by side in one run.

Rules: the counter server (bench.rpc_null's server process) runs in its own process. One
sequential client makes NULL calls directly and through each path:
- `nfsprop proxy` (no faults, no trace) in its own process, as a user runs it, for UDP and
  TCP: client, proxy and server share no event loop and no GIL;
- a UdpProxy and a TcpProxy on the client's own event loop, as the tests run them;
- socat forwarding TCP in its own process: a C proxy, the floor of what any proxy in a
  process of its own costs on this machine (scripts/install-peers installs it; without it
  the benchmark stops and says so).
Optionally (NFS=1 in the environment, or `main(nfs=True)`) GETATTR of the export's root
against `nfsprop serve`, direct and through `nfsprop proxy`, too.
Clients: the project's asyncio RpcSocketClient (what the suite uses) with one call at a
time and with IN_FLIGHT calls outstanding (as NFS clients keep many), and a blocking
socket sending a prebuilt call (the cheapest client there is, so a proxy's share of each
round trip is the largest). The paths of one client take turns, ROUNDS times, and each
keeps its best run, so a busy moment of the machine does not favour one of them. The ratio
column is direct / proxied calls per second for the same client and transport; the target
is at most 1.5 for the RPC-aware TCP proxy.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.rpc_null import CALLS, NULL, ROOT, start_server
from bench.table import best_rate, print_table
from faults.proxy.base import ProxyBase
from faults.proxy.tcp import TcpProxy
from faults.proxy.udp import UdpProxy
from properties.peers.reference_server import ServerProcess
from reference.rpc import message as msg
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.auth import encode_credential
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import AuthNone, AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import GETATTR3args, NFS_V3_Client, nfs_fh3

TARGET_RATIO = 1.5
IN_FLIGHT = 16
ROUNDS = 5
TRANSPORTS = ("tcp", "udp")
OWN_PROCESS = "nfsprop proxy (own process)"
ON_THE_LOOP = "proxy on the client's loop"
SOCAT = "socat (own process, C)"

Work = Callable[[], int]  # makes CALLS calls; returns CALLS
Opened = tuple[Work, Callable[[], None]]  # the work, and how to close its client
Opener = Callable[[int, str], Opened]  # (port, transport) → a client's work
Row = tuple[str, str, str, float, float]
Paths = dict[str, dict[str, int]]  # path name → transport → port


@dataclass
class Proxy:
    process: subprocess.Popen[str]
    port: int

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_proxy(target_port: int, transport: str) -> Proxy:
    """`nfsprop proxy --listen 0 --to 127.0.0.1:PORT --TRANSPORT --seed 0`, no faults."""
    command = [sys.executable, "-m", "properties.cli", "proxy", "--listen", "0"]
    command += ["--to", f"127.0.0.1:{target_port}", f"--{transport}", "--seed", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        where = line.split("listening on ", 1)[1].split(" ", 1)[0]
        return Proxy(process, int(where.rsplit(":", 1)[1]))
    except (IndexError, ValueError):
        process.kill()
        sys.exit(f"bench proxies: the proxy did not start (printed {line!r})")


def start_socat(port: int) -> tuple[subprocess.Popen[bytes], int]:
    """socat forwarding TCP to `port`; (process, its port)."""
    socat = shutil.which("socat")
    if socat is None:
        sys.exit("bench proxies: socat is not installed; run bash scripts/install-peers")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = probe.getsockname()[1]
    listening = f"TCP-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork,nodelay"
    process = subprocess.Popen([socat, listening, f"TCP:127.0.0.1:{port},nodelay"])
    for _ in range(100):  # bounded: up to ~5 s for socat to listen
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", listen)) == 0:
                return process, listen
        time.sleep(0.05)
    process.kill()
    process.wait()
    sys.exit(f"bench proxies: socat did not listen on port {listen} within 5 s")


def asyncio_client(loop: asyncio.AbstractEventLoop, in_flight: int = 1) -> Opener:
    """NULL calls from the project's RpcSocketClient on `loop`, `in_flight` at a time."""

    def open_client(port: int, transport: str) -> Opened:
        client = loop.run_until_complete(RpcSocketClient.connect("127.0.0.1", port, transport))

        async def caller() -> None:
            for _ in range(CALLS // in_flight):
                await client.call(NULL, None)

        async def calls() -> int:
            await asyncio.gather(*(caller() for _ in range(in_flight)))
            return CALLS // in_flight * in_flight

        def close() -> None:
            loop.run_until_complete(client.close())

        return (lambda: loop.run_until_complete(calls())), close

    return open_client


def blocking_client(port: int, transport: str) -> Opened:
    """NULL calls from a blocking socket sending one prebuilt call at a time."""
    credential = encode_credential(AuthNone())
    call = msg.encode_call(1, NULL.program, NULL.version, NULL.number, credential, b"")
    if transport == "udp":
        datagram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        datagram.connect(("127.0.0.1", port))
        datagram.settimeout(5.0)

        def datagrams() -> int:
            for _ in range(CALLS):
                datagram.send(call)
                datagram.recv(65536)
            return CALLS

        return datagrams, datagram.close
    record = frame(call)
    stream = socket.create_connection(("127.0.0.1", port))
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream.settimeout(5.0)
    reader = RecordReader()

    def records() -> int:
        for _ in range(CALLS):
            stream.sendall(record)
            while not reader.feed(stream.recv(4096)):
                pass
        return CALLS

    return records, stream.close


def getattr_client(loop: asyncio.AbstractEventLoop) -> Opener:
    """GETATTR of the export's root from RpcSocketClient, as root over AUTH_SYS."""
    root = AuthSys(0, b"bench", 0, 0)

    def open_client(port: int, transport: str) -> Opened:
        async def connect() -> tuple[RpcSocketClient, bytes]:
            client = await RpcSocketClient.connect("127.0.0.1", port, transport, credential=root)
            mounted = await MOUNT_V3_Client(client).MOUNTPROC3_MNT(b"/export")
            assert mounted.mountinfo is not None, mounted.fhs_status
            return client, mounted.mountinfo.fhandle

        client, handle = loop.run_until_complete(connect())
        nfs = NFS_V3_Client(client)

        async def calls() -> int:
            for _ in range(CALLS):
                await nfs.NFSPROC3_GETATTR(GETATTR3args(nfs_fh3(handle)))
            return CALLS

        def close() -> None:
            loop.run_until_complete(client.close())

        return (lambda: loop.run_until_complete(calls())), close

    return open_client


def measure(label: str, port: int, paths: Paths, opener: Opener) -> list[Row]:
    """Rows for one client: direct, then each path, per transport, taking turns."""
    rows: list[Row] = []
    for transport in TRANSPORTS:
        names = ["direct"] + [name for name, ports in paths.items() if transport in ports]
        ports = [port] + [ports[transport] for ports in paths.values() if transport in ports]
        opened = [opener(each, transport) for each in ports]
        best = [0.0] * len(opened)
        try:
            for _ in range(ROUNDS):
                for index, (work, _) in enumerate(opened):
                    best[index] = max(best[index], best_rate(work, repeats=1))
        finally:
            for _, close in opened:
                close()
        rows += [
            (label, transport, name, rate, best[0] / rate)
            for name, rate in zip(names, best, strict=True)
        ]
    return rows


def nfs_rows(loop: asyncio.AbstractEventLoop) -> list[Row]:
    """GETATTR against `nfsprop serve`, direct and through `nfsprop proxy`."""
    with tempfile.TemporaryDirectory(prefix="nfsprop-bench-") as work:
        server = ServerProcess(Path(work))
        server.start()
        proxies = {transport: start_proxy(server.port, transport) for transport in TRANSPORTS}
        try:
            paths = {OWN_PROCESS: {transport: proxy.port for transport, proxy in proxies.items()}}
            return measure("GETATTR, RpcSocketClient", server.port, paths, getattr_client(loop))
        finally:
            for proxy in proxies.values():
                proxy.stop()
            server.stop()


def main(nfs: bool | None = None) -> None:
    if nfs is None:
        nfs = os.environ.get("NFS") == "1"
    server, port = start_server()
    processes = {transport: start_proxy(port, transport) for transport in TRANSPORTS}
    socat = start_socat(port)
    loop = asyncio.new_event_loop()
    on_loop: list[ProxyBase] = [UdpProxy(("127.0.0.1", port)), TcpProxy(("127.0.0.1", port))]
    for proxy in on_loop:
        loop.run_until_complete(proxy.start())
    paths: Paths = {
        OWN_PROCESS: {transport: proxy.port for transport, proxy in processes.items()},
        ON_THE_LOOP: {proxy.transport_name: proxy.port for proxy in on_loop},
    }
    paths[SOCAT] = {"tcp": socat[1]}
    rows: list[Row] = []
    try:
        rows += measure("NULL, RpcSocketClient", port, paths, asyncio_client(loop))
        label = f"NULL x{IN_FLIGHT} in flight, RpcSocketClient"
        rows += measure(label, port, paths, asyncio_client(loop, IN_FLIGHT))
        # a blocking client would block the loop the on-loop proxies run on
        elsewhere = {name: ports for name, ports in paths.items() if name != ON_THE_LOOP}
        rows += measure("NULL, blocking socket", port, elsewhere, blocking_client)
        if nfs:
            rows += nfs_rows(loop)
    finally:
        for proxy in on_loop:
            loop.run_until_complete(proxy.close())
        loop.close()
        for process in processes.values():
            process.stop()
        socat[0].kill()
        socat[0].wait()
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    print_table(
        f"RPC calls through the fault proxies, one client, {CALLS} calls per run, "
        f"best of {ROUNDS} taken in turns (target: direct/proxied <= {TARGET_RATIO}, TCP proxy)",
        ["client", "transport", "path", "calls/s", "direct/proxied"],
        rows,
    )


if __name__ == "__main__":
    main()
