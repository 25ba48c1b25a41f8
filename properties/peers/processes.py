"""Finding peer binaries, starting, reading and ending the processes this package starts,
and PeerProcess, the base of every peer driver.

Rules:
- A binary is looked up on PATH, then in the directories scripts/install-peers and Debian
  use (/usr/local/bin, ~/.local/bin, /usr/sbin, /sbin); a missing one raises
  PeerNotInstalled whose message names the peer and `bash scripts/bootstrap`.
- A process is only ever signalled by its Popen handle (its pid), never by name:
  `kill_process` is SIGKILL and a bounded reap, `stop_process` SIGTERM, a bounded wait,
  then `kill_process`.
- Every wait is bounded: `wait_until` polls (every POLL seconds: a crashed Ganesha has
  started again some 60 ms after its launch; polled every 50 ms, its restart took 110 ms,
  every 10 ms 74 ms) against a monotonic deadline,
  `answers_while_running` gives up when the process exits or the timeout passes, and
  `read_line` / `read_first_line` return b"" at end of file or past their deadline.
- `launch_nfsprop` starts `nfsprop SUBCOMMAND` (nfsprop_command) from this checkout, its
  stdout a pipe and its stderr appended to a log. Its Python keeps compiled bytecode in
  PYCACHE (outside the checkout, unless PYTHONPYCACHEPREFIX says where), even where
  PYTHONDONTWRITEBYTECODE is set: a crash test starts the server a hundred times, and
  compiling its modules again each time was a fifth of each start (64 of 251 ms).
  `die_with_parent` as a child's preexec_fn has Linux SIGKILL it when the thread that
  started it ends (PR_SET_PDEATHSIG), so an aborted test run leaves none behind: start
  such processes from a thread that outlives them (the main thread, as pytest and
  Hypothesis do).
- A PeerProcess owns at most one process at a time: `start` is the subclass's, `kill` is
  a crash (SIGKILL), `stop` ends it (SIGTERM, `stop_grace` seconds, SIGKILL) and returns
  its exit status, `restart` is kill + start, and a `with` block starts and stops it.
  Forgetting an ended process closes the pipe of its stdout.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import properties

BOOTSTRAP_HINT = "run `bash scripts/bootstrap`"
POLL = 0.01  # seconds between two looks of wait_until
PYCACHE = Path(tempfile.gettempdir()) / "nfsprop-pycache"
_EXTRA_DIRS = ("/usr/local/bin", str(Path.home() / ".local" / "bin"), "/usr/sbin", "/sbin")
_PR_SET_PDEATHSIG = 1
_REPO_ROOT = Path(properties.__file__).resolve().parent.parent


class PeerNotInstalled(RuntimeError):
    """A peer's binary is missing; the message says which and how to install it."""


def find_binary(name: str, peer: str) -> str:
    """The absolute path of `name`, or PeerNotInstalled naming `peer`."""
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=":".join(_EXTRA_DIRS))
    if found is None:
        raise PeerNotInstalled(
            f"{peer} not installed: {BOOTSTRAP_HINT} ({name} is not on PATH nor in "
            f"{', '.join(_EXTRA_DIRS)})"
        )
    return found


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End `process` (one this package started): SIGTERM, wait up to `grace` seconds, then
    SIGKILL and wait again."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        kill_process(process, grace)


def kill_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGKILL `process` (one this package started) and reap it within `grace` seconds."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=grace)


def wait_until(ready: Callable[[], bool], timeout: float, interval: float = POLL) -> bool:
    """Poll `ready` until it returns True (then True) or `timeout` seconds pass (then False)."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def answers_while_running(
    process: subprocess.Popen[bytes], answers: Callable[[], bool], timeout: float
) -> bool:
    """Wait up to `timeout` seconds for `answers()`: True if it does while `process` still
    runs, False if the process exits or the time passes first."""
    wait_until(lambda: process.poll() is not None or answers(), timeout)
    return process.poll() is None and answers()


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


def die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when its parent dies, so a test
    run that is itself killed leaves no process behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def nfsprop_command(*arguments: str) -> list[str]:
    """The command line of `nfsprop ARGUMENTS` run by this interpreter."""
    return [sys.executable, "-m", "properties.cli", *arguments]


def launch_nfsprop(
    command: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` (an nfsprop_command) with this checkout first on PYTHONPATH: stdin
    empty, stdout a pipe (see read_first_line), stderr appended to `log_path`."""
    environment = dict(os.environ)
    paths = [str(_REPO_ROOT), environment.get("PYTHONPATH", "")]
    environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=cwd,
            env=environment,
            preexec_fn=preexec_fn,
        )


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


class PeerProcess(ABC):
    """A process this object starts and owns, one at a time: `with` starts and stops it."""

    stop_grace: float = 10.0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The pid of the running process, or None when it is not running."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @abstractmethod
    def start(self) -> None: ...

    def kill(self) -> None:
        """SIGKILL the process (a crash) and reap it."""
        if self._process is not None:
            kill_process(self._process)
            self._forget()

    def restart(self) -> None:
        """Crash (SIGKILL) and start again; what a start keeps (ports, store) is the
        subclass's."""
        self.kill()
        self.start()

    def stop(self) -> int | None:
        """SIGTERM, wait up to `stop_grace` seconds, then SIGKILL; the exit status (None if
        nothing was started)."""
        process = self._process
        if process is None:
            return None
        stop_process(process, self.stop_grace)
        self._forget()
        return process.returncode

    def _forget(self) -> None:
        """Drop the ended process, closing the pipe of its stdout if it has one."""
        process, self._process = self._process, None
        if process is not None and process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
