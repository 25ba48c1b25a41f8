"""go-nfs as a real NFSv3 peer: `nfsprop-gonfs` (scripts/gonfs, go-nfs v0.0.4 behind its
in-memory handle cache) serving one private directory on 127.0.0.1.

Rules:
- A GoNfsServer owns one work dir: export/ (the served directory) and gonfs.log (its
  stderr, appended across restarts). NFSv3 and MOUNT v3 share one TCP port; go-nfs serves
  no UDP, runs no portmapper and keeps no duplicate request cache, and takes any MNT path.
- `start` launches the binary (PeerNotInstalled, naming `bash scripts/bootstrap`, when it
  is missing) and waits, bounded by `start_timeout`, for its "listening on
  127.0.0.1:PORT" line; the first start takes any free port, a restart asks for the same
  one, so clients reconnect where they were. No line in time is a GoNfsError with the
  log's tail.
- go-nfs deletes the served directory itself on RMDIR "." in the export root; `start`
  makes export/ again when it is missing, and `export_present()` says whether it is
  there, so a world can tell a destroyed export from a dead server.
- It is a PeerProcess: `kill` is a crash (its handles are in memory: they do not survive
  it), `restart` kill + start, `stop` SIGTERM then SIGKILL; only the pid it started is
  ever signalled.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from properties.peers.processes import (
    PeerProcess,
    die_with_parent,
    find_binary,
    read_first_line,
    tail,
)

BINARY = "nfsprop-gonfs"
_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


class GoNfsError(RuntimeError):
    """nfsprop-gonfs did not start; the message carries the end of its log."""


class GoNfsServer(PeerProcess):
    """A private go-nfs serving `work_dir/export` over NFSv3 on 127.0.0.1."""

    stop_grace = 5.0

    def __init__(self, work_dir: Path, *, start_timeout: float = 20.0) -> None:
        self.work_dir = work_dir
        self.start_timeout = start_timeout
        self.export_dir = work_dir / "export"
        self.log_path = work_dir / "gonfs.log"
        self.port = 0
        self.starts = 0

    @property
    def mount_port(self) -> int:
        return self.port

    def export_present(self) -> bool:
        return self.export_dir.is_dir()

    def start(self) -> None:
        binary = find_binary(BINARY, "go-nfs (scripts/gonfs)")
        if self.running:
            raise GoNfsError(f"go-nfs is already running (pid {self.pid})")
        self.export_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [binary, str(self.export_dir), str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.work_dir,
                preexec_fn=die_with_parent,
            )
        line = read_first_line(self._process, self.start_timeout)
        found = _LISTENING.search(line)
        if found is None:
            status = self.stop()
            raise GoNfsError(
                f"{binary} printed no 'listening on' line within {self.start_timeout} s "
                f"(exit status {status}, first line {line!r}); last lines of "
                f"{self.log_path}:\n{tail(self.log_path)}"
            )
        self.port = int(found.group(1))
        self.starts += 1
