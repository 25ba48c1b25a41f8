"""NFSv3 calls per second over TCP loopback: `nfsprop serve` (SQLite store, and `--memory`)
against NFS-Ganesha, side by side in one run, and our server's peak memory.

Rules:
- The servers run as the suite runs them: `nfsprop serve` through ServerProcess, Ganesha
  through GaneshaServer (the ganesha world's VFS export, its duplicate request cache on).
  Each gets the same tree, made through NFS: a 4 KiB file to READ and GETATTR, a file to
  WRITE, a name to LOOKUP, and a directory of DIRECTORY_ENTRIES files for READDIRPLUS.
- Clients are separate processes (a spawned pool), so the client is never the bottleneck
  of a server and never shares its GIL: each sends one prebuilt call at a time on a
  blocking TCP socket (a fresh XID each), waits for the whole reply and checks that it was
  accepted with NFS3_OK. Sequential is one such client; concurrent is CLIENTS of them,
  started together, their calls over the time from the first start to the last end.
- A cell is CALLS calls per client, long enough for a sustained rate: on this machine a
  run of a few hundred calls (tens of milliseconds) measured up to 1.7x more than a run
  of thousands on the same server and connection, as a burst allowance would.
- Servers alternate A B C A B C over ROUNDS rounds and every cell keeps its best round,
  so a slow moment of the machine does not land on one server only. The ratio columns
  are ours over Ganesha's (above 1.0: ours is faster).
- Peak memory: after the rounds, MIXED_CALLS calls of every kind (CLIENTS clients) to
  each server, then VmHWM of its process from /proc (the goal for ours: < 200 MiB).
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from bench.table import print_table
from properties.nfs3 import calls as nfs_calls
from properties.peers.ganesha import GaneshaServer
from properties.peers.processes import PeerNotInstalled, PeerProcess
from properties.peers.reference_server import ServerProcess
from properties.worlds.sockets import ROOT
from reference.rpc import message as msg
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.auth import encode_credential
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import Procedure
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    NFS_V3_PROCEDURES,
    NFSPROC3_GETATTR,
    NFSPROC3_LOOKUP,
    NFSPROC3_NULL,
    NFSPROC3_READ,
    NFSPROC3_READDIRPLUS,
    NFSPROC3_WRITE,
    NFS_V3_Client,
    diropargs3,
    nfs_fh3,
    stable_how,
)

CLIENTS = 8
ROUNDS = 2
BLOCK = 4096
DIRECTORY_ENTRIES = 100
MIXED_CALLS = 100_000
CALLS = {"sequential": 4000, "concurrent": 1000}  # per client, per measurement
READDIRPLUS_SHARE = 10  # READDIRPLUS replies are ~100 times larger: this share of CALLS
START_DELAY = 0.5  # concurrent clients start together this long after being handed out
MAX_REPLY = 1 << 20


@dataclass(frozen=True)
class Operation:
    """One kind of call: its name and the whole RPC record a client sends (XID 0)."""

    name: str
    record: bytes
    calls_share: int = 1  # CALLS divided by this


@dataclass(frozen=True)
class Server:
    name: str
    process: PeerProcess
    nfs_port: int
    mount_port: int
    export: bytes


def _record(procedure: int, args: object) -> bytes:
    called: Procedure[object, object] = NFS_V3_PROCEDURES[procedure]
    call = msg.encode_call(
        0, called.program, called.version, called.number, encode_credential(ROOT), b""
    )
    return frame(call + called.encode_args(args))


@dataclass(frozen=True)
class _Stubs:
    """properties.nfs3.calls's Stubs over two connections (Ganesha's MOUNT has its own port)."""

    export: bytes
    nfs: NFS_V3_Client
    mount: MOUNT_V3_Client


async def _tree(server: Server) -> list[Operation]:
    """Make the tree the calls use (see the module rules) and build the calls."""
    mount = await RpcSocketClient.connect("127.0.0.1", server.mount_port, "tcp", credential=ROOT)
    client = await RpcSocketClient.connect("127.0.0.1", server.nfs_port, "tcp", credential=ROOT)
    async with mount, client:
        stubs = _Stubs(server.export, NFS_V3_Client(client), MOUNT_V3_Client(mount))
        root = await nfs_calls.mount_root(stubs)
        data = await nfs_calls.create(stubs, root, b"read-me")
        await nfs_calls.write(stubs, data, 0, bytes(BLOCK), stable_how.FILE_SYNC)
        target = await nfs_calls.create(stubs, root, b"write-me")
        listed = await nfs_calls.mkdir(stubs, root, b"listed")
        for index in range(DIRECTORY_ENTRIES):
            await nfs_calls.create(stubs, listed, f"entry-{index:03}".encode())
    return [
        Operation("NULL", _record(NFSPROC3_NULL, None)),
        Operation("GETATTR", _record(NFSPROC3_GETATTR, nfs3.GETATTR3args(nfs_fh3(data)))),
        Operation(
            "LOOKUP",
            _record(NFSPROC3_LOOKUP, nfs3.LOOKUP3args(diropargs3(nfs_fh3(root), b"read-me"))),
        ),
        Operation("READ 4 KiB", _record(NFSPROC3_READ, nfs3.READ3args(nfs_fh3(data), 0, BLOCK))),
        Operation(
            "WRITE 4 KiB UNSTABLE",
            _record(
                NFSPROC3_WRITE,
                nfs3.WRITE3args(nfs_fh3(target), 0, BLOCK, stable_how.UNSTABLE, bytes(BLOCK)),
            ),
        ),
        Operation(
            f"READDIRPLUS {DIRECTORY_ENTRIES} entries",
            _record(
                NFSPROC3_READDIRPLUS,
                nfs3.READDIRPLUS3args(nfs_fh3(listed), 0, bytes(8), 32768, 131072),
            ),
            READDIRPLUS_SHARE,
        ),
    ]


def run_client(port: int, records: list[bytes], calls: int, start_at: float) -> tuple[float, float]:
    """One client process: `calls` calls, cycling through `records`, one at a time; the
    monotonic times of its first send and last reply. Raises on a reply that is not an
    accepted NFS3_OK (or, for NULL, an accepted empty one)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = RecordReader(max_record=MAX_REPLY)
    buffers = [bytearray(record) for record in records]
    xid = (os.getpid() << 16) & 0x7FFF_FFFF  # distinct per client: a DRC never answers
    while (wait := start_at - time.monotonic()) > 0:
        time.sleep(wait)
    with sock:
        start = time.monotonic()
        for call in range(calls):
            buffer = buffers[call % len(buffers)]
            xid = (xid + 1) & 0xFFFFFFFF
            struct.pack_into(">I", buffer, 4, xid)
            sock.sendall(buffer)
            replies: list[bytes] = []
            while not replies:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                replies = reader.feed(data)
            _check(replies[0], xid)
        return start, time.monotonic()


def _check(reply: bytes, xid: int) -> None:
    header = msg.parse_reply(reply)
    if header.xid != xid or not header.accepted or header.stat != 0:
        raise RuntimeError(f"reply to xid {xid:#x}: {header}")
    results = reply[header.results_offset : header.results_offset + 4]
    if results and results != b"\0\0\0\0":
        raise RuntimeError(f"reply to xid {xid:#x}: status {int.from_bytes(results, 'big')}")


def rate(
    pool: ProcessPoolExecutor, port: int, records: list[bytes], calls: int, clients: int
) -> float:
    """Calls per second of `clients` client processes making `calls` calls each."""
    start_at = time.monotonic() + START_DELAY
    runs = [pool.submit(run_client, port, records, calls, start_at) for _ in range(clients)]
    spans = [run.result(timeout=600) for run in runs]
    return calls * clients / (max(end for _, end in spans) - min(start for start, _ in spans))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


@contextmanager
def servers(work: Path) -> Iterator[list[Server]]:
    """Ours with its SQLite store, ours with `--memory`, and Ganesha, all running."""
    with ExitStack() as stack:
        sqlite = stack.enter_context(ServerProcess(work / "sqlite"))
        memory = stack.enter_context(ServerProcess(work / "memory", memory=True))
        try:
            ganesha = stack.enter_context(GaneshaServer(work / "ganesha"))
        except PeerNotInstalled as missing:
            raise SystemExit(f"bench nfs_server: {missing}") from None
        yield [
            Server("ours (SQLite)", sqlite, sqlite.port, sqlite.mount_port, b"/export"),
            Server("ours (--memory)", memory, memory.port, memory.mount_port, b"/export"),
            Server(
                "Ganesha",
                ganesha,
                ganesha.nfs_port,
                ganesha.mount_port,
                ganesha.export_path.encode(),
            ),
        ]


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="nfsprop-bench-") as work,
        servers(Path(work)) as running,
    ):
        operations = {server.name: asyncio.run(_tree(server)) for server in running}
        names = [operation.name for operation in operations[running[0].name]]
        best: dict[tuple[str, str, str], float] = {}
        context = get_context("spawn")
        with ProcessPoolExecutor(CLIENTS, mp_context=context) as pool:
            list(pool.map(time.sleep, [START_DELAY] * CLIENTS))  # every client process up
            for _ in range(ROUNDS):
                for server in running:
                    for operation in operations[server.name]:
                        for mode, clients in [("sequential", 1), ("concurrent", CLIENTS)]:
                            calls = CALLS[mode] // operation.calls_share
                            measured = rate(
                                pool, server.nfs_port, [operation.record], calls, clients
                            )
                            key = (server.name, operation.name, mode)
                            best[key] = max(best.get(key, 0.0), measured)
            peaks: list[list[object]] = []
            for server in running:
                mixed = [operation.record for operation in operations[server.name]]
                rate(pool, server.nfs_port, mixed, MIXED_CALLS // CLIENTS, CLIENTS)
                assert server.process.pid is not None
                peaks.append([server.name, peak_rss_mib(server.process.pid)])
    ours, memory, ganesha = (server.name for server in running)
    rows = [
        [
            name,
            mode,
            best[ours, name, mode],
            best[memory, name, mode],
            best[ganesha, name, mode],
            best[ours, name, mode] / best[ganesha, name, mode],
            best[memory, name, mode] / best[ganesha, name, mode],
        ]
        for name in names
        for mode in ("sequential", "concurrent")
    ]
    print_table(
        f"NFSv3 over TCP loopback, calls/s (sequential: 1 client; concurrent: {CLIENTS} "
        f"client processes), best of {ROUNDS} alternating rounds",
        ["call", "clients", ours, memory, ganesha, "SQLite/Ganesha", "memory/Ganesha"],
        rows,
    )
    print_table(
        f"Peak resident memory (VmHWM) after {MIXED_CALLS:,} mixed calls from {CLIENTS} clients",
        ["server", "MiB"],
        peaks,
    )


if __name__ == "__main__":
    main()
