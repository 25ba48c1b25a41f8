"""`nfsprop mount --foreground` as a subprocess that tests and benchmarks own.

Rules:
- `require_fuse()` fails loudly (FuseUnavailable, naming `bash scripts/bootstrap`) when
  this machine cannot mount FUSE: no /dev/fuse, no fusermount3, or no usable mfusepy.
  Tests turn that into a failure, never a skip.
- MountProcess starts `python -m properties.cli mount URL MOUNTPOINT --foreground [flags]`
  and waits, bounded by `start_timeout`, for the "mounted" line the command prints once
  the kernel has the mount (libfuse's init); then the mount point must be a mount.
  Its stderr goes to LOG (beside the mount point), whose tail is in every error.
- `unmount()` runs `fusermount3 -u` and `wait()`s, bounded, for the process to end; both
  return the process's exit status. `close()` is for clean-up paths: unmount if still
  mounted, then end the process by its pid (SIGTERM, then SIGKILL), never by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

import properties
from properties.peers.processes import BOOTSTRAP_HINT, find_binary, stop_process, tail
from properties.worlds.loopback import read_first_line

_REPO_ROOT = Path(properties.__file__).resolve().parent.parent


class FuseUnavailable(RuntimeError):
    """FUSE cannot be used on this machine; the message says why and how to fix it."""


class MountFailed(RuntimeError):
    """`nfsprop mount` did not mount (or unmount) in time; the message has its log's tail."""


def require_fuse() -> str:
    """The path of fusermount3, or FuseUnavailable naming `bash scripts/bootstrap`."""
    if not os.path.exists("/dev/fuse"):
        raise FuseUnavailable("/dev/fuse is missing: this machine cannot mount FUSE file systems")
    try:
        fusermount = find_binary("fusermount3", "FUSE (Debian package fuse3)")
    except RuntimeError as error:
        raise FuseUnavailable(str(error)) from error
    probe = [sys.executable, "-c", "import mfusepy"]
    result = subprocess.run(probe, capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        last = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise FuseUnavailable(f"mfusepy is not usable ({' '.join(last)}): {BOOTSTRAP_HINT}")
    return fusermount


class MountProcess:
    """`nfsprop mount URL MOUNTPOINT --foreground`; use as a context manager."""

    def __init__(
        self,
        url: str,
        mountpoint: Path,
        flags: tuple[str, ...] = (),
        start_timeout: float = 60.0,
        stop_timeout: float = 60.0,
    ) -> None:
        self.fusermount = require_fuse()
        self.url = url
        self.mountpoint = mountpoint
        self.flags = flags
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_path = mountpoint.parent / f"{mountpoint.name}.mount.log"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        mount = [sys.executable, "-m", "properties.cli", "mount", self.url, str(self.mountpoint)]
        return [*mount, "--foreground", *self.flags]

    def start(self) -> None:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        paths = [str(_REPO_ROOT), environment.get("PYTHONPATH", "")]
        environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
            )
        line = read_first_line(self._process, self.start_timeout)
        if not line.startswith(b"mounted ") or not os.path.ismount(self.mountpoint):
            self.close()
            raise MountFailed(
                f"`{' '.join(self.command())}` did not mount within {self.start_timeout} s "
                f"(first line {line!r}); last lines of {self.log_path}:\n{tail(self.log_path)}"
            )

    def unmount(self) -> int:
        """`fusermount3 -u`, then the mount process's exit status."""
        process = self._process
        if process is None:
            raise MountFailed("the mount was not started")
        unmounted = subprocess.run(
            [self.fusermount, "-u", str(self.mountpoint)],
            capture_output=True,
            timeout=self.stop_timeout,
            check=False,
        )
        if unmounted.returncode != 0:
            raise MountFailed(f"fusermount3 -u failed: {unmounted.stderr.decode().strip()}")
        return self.wait()

    def wait(self) -> int:
        """The exit status of the mount process, which must end within `stop_timeout`."""
        process = self._process
        if process is None:
            raise MountFailed("the mount was not started")
        try:
            status = process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            raise MountFailed(
                f"the mount process did not end within {self.stop_timeout} s; "
                f"last lines of {self.log_path}:\n{tail(self.log_path)}"
            ) from None
        self._close_pipe()
        self._process = None
        return status

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def close(self) -> None:
        """Best-effort clean-up: unmount if still mounted, end the process by its pid."""
        if os.path.ismount(self.mountpoint):
            subprocess.run(
                [self.fusermount, "-u", "-z", str(self.mountpoint)],
                capture_output=True,
                timeout=self.stop_timeout,
                check=False,
            )
        if self._process is not None:
            stop_process(self._process, grace=self.stop_timeout)
            self._close_pipe()
            self._process = None

    def _close_pipe(self) -> None:
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
