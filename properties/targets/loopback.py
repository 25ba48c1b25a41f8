"""The loopback-world Target: `nfsprop serve` as a real subprocess on 127.0.0.1, reached over
real sockets, crashed with SIGKILL and restarted on the same SQLite store.

Rules:
- ServerProcess starts `python -m properties.cli serve --port P --store WORK/store.sqlite`
  (P is 0 the first time, then the port it got, so a restart listens where clients
  reconnect; MOUNT shares the NFS port) and waits, bounded by `start_timeout`, for the
  URL line it prints. Its stderr is appended to WORK/serve.log, whose tail is in every
  start-up error. It only ever signals the process it started, by that process's pid;
  and Linux SIGKILLs the server if the thread that started it ends first
  (PR_SET_PDEATHSIG), so an aborted test run leaves no server behind: start servers
  from a thread that outlives them (the main thread, as pytest and Hypothesis do).
- The client is the reference RpcSocketClient over TCP as root (AUTH_SYS uid 0), with a
  hard-mount policy (like the sim target and Linux's default `hard`): a call is retried
  until answered, every HARD_MOUNT.timeo seconds; after a crash it reconnects from the same local
  port when it can and resends with the same XIDs. What bounds a run is `run()`'s
  timeout (RUN_TIMEOUT seconds), never the policy.
- `run()` runs a coroutine on the target's private event loop (asyncio.new_event_loop),
  so the target is usable from plain synchronous test code.
- `send_raw()` sends over one UDP socket that lives as long as the target: every copy of
  a message comes from the same address and port, which the server's duplicate request
  cache keys on. A copy is resent every RAW_TIMEO seconds until a reply with its XID
  arrives, at most RAW_ATTEMPTS times. XIDs from `next_xid()` start at 0x80000000; the
  stub client's start at 1 (and travel over TCP: no DRC key can collide).
- The work dir holds the store and the log; without one, a temporary directory is made
  and `close()` removes it.
- `crash_and_restart()` is SIGKILL then start again (same store, same port); UNSTABLE
  writes not yet committed are lost and the write verifier changes. `close()` is SIGTERM
  and a bounded wait (then SIGKILL).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import properties
from properties.peers.processes import kill_process, stop_process, tail
from reference.nfs.server_main import HOST, MAX_RECORD
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.client import RetryPolicy
from reference.rpc.message import peek_xid
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

T = TypeVar("T")

HARD_MOUNT = RetryPolicy(timeo=2.0, retrans=2, hard=True, max_timeo=10.0, backoff="linear")
ROOT = AuthSys(0, b"nfsprop-loopback", 0, 0)
RUN_TIMEOUT = 120.0
RAW_TIMEO = 0.5
RAW_ATTEMPTS = 20
FIRST_RAW_XID = 0x8000_0000
_PR_SET_PDEATHSIG = 1
_URL = re.compile(rb"nfs://\S+\?version=3&nfsport=(\d+)&mountport=(\d+)")
_REPO_ROOT = Path(properties.__file__).resolve().parent.parent


class ServerStartError(RuntimeError):
    """`nfsprop serve` did not print its URL in time; the message has its log's tail."""


class ServerProcess:
    """`nfsprop serve` on a store in `work_dir`, as a subprocess this object owns."""

    def __init__(
        self,
        work_dir: Path,
        *,
        drc: bool = True,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 30.0,
    ) -> None:
        self.work_dir = work_dir
        self.drc = drc
        self.extra_args = extra_args
        self.start_timeout = start_timeout
        self.store_path = work_dir / "store.sqlite"
        self.log_path = work_dir / "serve.log"
        self.port = 0
        self.mount_port = 0
        self.url = ""
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def file_url(self, path: str) -> str:
        """The libnfs URL of `path` under the export's root."""
        head, query = self.url.split("?", 1)
        return f"{head}/{path.lstrip('/')}?{query}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "properties.cli", "serve"]
        command += ["--store", str(self.store_path), "--port", str(self.port)]
        if not self.drc:
            command.append("--no-drc")
        return command + list(self.extra_args)

    def start(self) -> None:
        """Start the server and wait for its URL line; ServerStartError if it does not come."""
        if self.pid is not None:
            raise ServerStartError(f"the server is already running (pid {self.pid})")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        paths = [str(_REPO_ROOT), environment.get("PYTHONPATH", "")]
        environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.work_dir,
                env=environment,
                preexec_fn=_die_with_parent,
            )
        self._process = process
        line = read_first_line(process, self.start_timeout)
        found = _URL.search(line)
        if found is None:
            kill_process(process)
            self._process = None
            raise ServerStartError(
                f"`{' '.join(self.command())}` printed no URL within {self.start_timeout} s "
                f"(exit status {process.returncode}, first line {line!r}); last lines of "
                f"{self.log_path}:\n{tail(self.log_path)}"
            )
        self.url = found.group(0).decode()
        self.port, self.mount_port = int(found.group(1)), int(found.group(2))
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL the server (a crash) and reap it."""
        if self._process is not None:
            kill_process(self._process)
            self._process = None

    def restart(self) -> None:
        """Crash (SIGKILL) and start again on the same store and port."""
        self.kill()
        self.start()

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to `grace` seconds (then SIGKILL); the exit status."""
        process, self._process = self._process, None
        if process is None:
            return None
        stop_process(process, grace)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when its parent dies, so a test
    run that is itself killed leaves no server behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def read_first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line `process` writes to its stdout (b"" if it exits or times out first)."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return b""
            chunk = os.read(descriptor, 4096)
            if not chunk:
                return b""
            received += chunk
    return received.split(b"\n", 1)[0]


class _RawReplies(asyncio.DatagramProtocol):
    """Replies that arrive on the raw UDP socket, by XID."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[bytes]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        known = peek_xid(data)
        waiter = None if known is None else self.waiting.get(known[0])
        if waiter is not None and not waiter.done():
            waiter.set_result(data)


class LoopbackTarget:
    name = "loopback"
    export = b"/export"
    can_crash = True

    def __init__(self, work_dir: Path | None = None, drc: bool = True) -> None:
        self.has_drc = drc
        self._own_dir = work_dir is None
        if work_dir is None:
            work_dir = Path(tempfile.mkdtemp(prefix="nfsprop-loopback-"))
        self.server = ServerProcess(work_dir, drc=drc)
        self.server.start()
        self._loop = asyncio.new_event_loop()
        self._raw: asyncio.DatagramTransport | None = None
        self._raw_replies = _RawReplies()
        self._next_raw_xid = FIRST_RAW_XID
        try:
            self.client = self._loop.run_until_complete(
                RpcSocketClient.connect(
                    HOST,
                    self.server.port,
                    "tcp",
                    HARD_MOUNT,
                    ROOT,
                    first_xid=1,
                    max_record=MAX_RECORD,
                )
            )
        except BaseException:
            self._loop.close()
            self._stop_server()
            raise
        self.nfs = NFS_V3_Client(self.client)
        self.mount = MOUNT_V3_Client(self.client)

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(operation, RUN_TIMEOUT))

    async def send_raw(self, message: bytes) -> bytes | None:
        known = peek_xid(message)
        if known is None:
            raise ValueError("send_raw needs a whole RPC call message")
        if self._raw is None:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: self._raw_replies, remote_addr=(HOST, self.server.port)
            )
            self._raw = transport
        reply: asyncio.Future[bytes] = self._loop.create_future()
        self._raw_replies.waiting[known[0]] = reply
        try:
            for _ in range(RAW_ATTEMPTS):  # the same bytes, as a retransmission would be
                self._raw.sendto(message)
                try:
                    return await asyncio.wait_for(asyncio.shield(reply), RAW_TIMEO)
                except TimeoutError:
                    continue
            return None
        finally:
            self._raw_replies.waiting.pop(known[0], None)

    def next_xid(self) -> int:
        self._next_raw_xid += 1
        return self._next_raw_xid

    def crash_and_restart(self) -> None:
        self.server.restart()

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self.client.close())
            if self._raw is not None:
                self._raw.close()
            self._loop.run_until_complete(asyncio.sleep(0))
        finally:
            self._loop.close()
            self._stop_server()

    def _stop_server(self) -> None:
        self.server.stop()
        if self._own_dir:
            shutil.rmtree(self.server.work_dir, ignore_errors=True)


def make_loopback_target(work_dir: Path | None = None, drc: bool = True) -> LoopbackTarget:
    """A loopback target whose server keeps its store and log in `work_dir` (None: a
    temporary directory that `close()` removes)."""
    return LoopbackTarget(work_dir, drc)
