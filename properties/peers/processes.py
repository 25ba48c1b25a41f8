"""Finding peer binaries and ending the processes this package started.

Rules:
- A binary is looked up on PATH, then in the directories scripts/install-peers and Debian
  use (/usr/local/bin, ~/.local/bin, /usr/sbin, /sbin); a missing one raises
  PeerNotInstalled whose message names the peer and `bash scripts/bootstrap`.
- `stop_process` ends one process by its Popen handle: SIGTERM, a bounded wait, then
  SIGKILL and a bounded wait. Nothing is ever signalled by name.
- `wait_until` polls a predicate against a monotonic deadline; it never waits unbounded.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

BOOTSTRAP_HINT = "run `bash scripts/bootstrap`"
_EXTRA_DIRS = ("/usr/local/bin", str(Path.home() / ".local" / "bin"), "/usr/sbin", "/sbin")


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


def wait_until(ready: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `ready` until it returns True (then True) or `timeout` seconds pass (then False)."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


class PeerProcess(ABC):
    """A peer server this object starts and owns: `with` starts and stops it."""

    _process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

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
