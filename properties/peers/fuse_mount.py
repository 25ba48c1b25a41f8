"""`nfsprop mount --foreground` as a subprocess that tests and benchmarks own.

Rules:
- `require_fuse()` fails loudly (FuseUnavailable, naming `bash scripts/bootstrap`) when
  this machine cannot mount FUSE: no /dev/fuse, no fusermount3, or no usable mfusepy.
  Tests turn that into a failure, never a skip.
- MountProcess starts `python -m properties.cli mount URL MOUNTPOINT --foreground [flags]`
  and waits, bounded by `start_timeout`, for the "mounted" line the command prints once
  the kernel has the mount (libfuse's init); then the mount point must be a mount.
  Its stderr goes to LOG (beside the mount point), whose tail is in every error.
- MountProcess is a PeerProcess. `unmount()` runs `fusermount3 -u` and `wait()`s,
  bounded, for the process to end; both return the process's exit status. `stop()` (the
  end of a `with` block) is for clean-up paths: unmount lazily if still mounted, then end
  the process by its pid (SIGTERM, then SIGKILL), never by name. Every step of ending a
  mount is bounded by `stop_timeout`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from properties.peers.processes import (
    BOOTSTRAP_HINT,
    PeerProcess,
    find_binary,
    launch_nfsprop,
    nfsprop_command,
    read_first_line,
    tail,
)


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


class MountProcess(PeerProcess):
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
        self.stop_grace = stop_timeout
        self.log_path = mountpoint.parent / f"{mountpoint.name}.mount.log"

    def command(self) -> list[str]:
        mount = nfsprop_command("mount", self.url, str(self.mountpoint))
        return [*mount, "--foreground", *self.flags]

    def start(self) -> None:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._process = launch_nfsprop(self.command(), self.log_path)
        line = read_first_line(self._process, self.start_timeout)
        if not line.startswith(b"mounted ") or not os.path.ismount(self.mountpoint):
            self.stop()
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
        self._forget()
        return status

    def stop(self) -> int | None:
        """Best-effort clean-up: unmount lazily if still mounted, then end the process by
        its pid (PeerProcess.stop); its exit status."""
        if os.path.ismount(self.mountpoint):
            subprocess.run(
                [self.fusermount, "-u", "-z", str(self.mountpoint)],
                capture_output=True,
                timeout=self.stop_timeout,
                check=False,
            )
        return super().stop()
