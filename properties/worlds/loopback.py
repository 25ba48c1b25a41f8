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
- The target itself is a SocketTarget (properties/worlds/sockets.py): the reference
  client over TCP, raw UDP for same-XID retransmissions, crash = SIGKILL + restart on the
  same store and port. The work dir holds the store and the log; without one, a
  temporary directory is made and `close()` removes it.
"""

from __future__ import annotations

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import properties
from properties.peers.processes import kill_process, stop_process, tail
from properties.worlds.sockets import SocketTarget

T = TypeVar("T")

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
                preexec_fn=die_with_parent,
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


def die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when its parent dies, so a test
    run that is itself killed leaves no server behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def read_first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line `process` writes to its stdout (b"" if it exits or times out first)."""
    assert process.stdout is not None
    return read_line(process.stdout.fileno(), time.monotonic() + timeout)


def read_line(descriptor: int, deadline: float) -> bytes:
    """The first line written to `descriptor` (b"" at end of file or past `deadline`, a
    time.monotonic() value)."""
    received = b""
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


@contextmanager
def running_server(work_dir: Path, drc: bool = True) -> Iterator[ServerProcess]:
    """`nfsprop serve` on a store in `work_dir` for the length of a `with` block."""
    process = ServerProcess(work_dir, drc=drc)
    process.start()
    try:
        yield process
    finally:
        process.stop()


LoopbackTarget = SocketTarget[ServerProcess]


def make_loopback_target(work_dir: Path | None = None, drc: bool = True) -> LoopbackTarget:
    """A loopback target whose server keeps its store and log in `work_dir` (None: a
    temporary directory that `close()` removes)."""
    own_dir = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="nfsprop-loopback-")) if work_dir is None else work_dir
    server = ServerProcess(directory, drc=drc)
    server.start()

    def cleanup() -> None:
        server.stop()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)

    return SocketTarget("loopback", server, b"/export", drc, cleanup)
