"""The reference server as a peer: `nfsprop serve` as a real subprocess on 127.0.0.1,
crashed with SIGKILL and restarted on the same SQLite store and port.

Rules:
- ServerProcess starts `python -m properties.cli serve --port P --store WORK/store.sqlite`
  (or `--memory` in place of the store; P is 0 the first time, then the port it got, so
  a restart listens where clients reconnect; MOUNT shares the NFS port) and waits,
  bounded by `start_timeout`, for the URL line it prints. Its stderr is appended to
  WORK/serve.log, whose tail is in every start-up error (ServerStartError).
- It is a PeerProcess: it only ever signals the process it started, by that process's
  pid; `kill` is a crash, `restart` kill + start, `stop` SIGTERM then SIGKILL and returns
  the exit status. Linux SIGKILLs the server if the thread that started it ends first
  (die_with_parent), so start servers from a thread that outlives them.
- `running_server` is a ServerProcess for the length of a `with` block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from properties.peers.processes import (
    PeerProcess,
    die_with_parent,
    launch_nfsprop,
    nfsprop_command,
    read_first_line,
    tail,
)

_URL = re.compile(rb"nfs://\S+\?version=3&nfsport=(\d+)&mountport=(\d+)")


class ServerStartError(RuntimeError):
    """`nfsprop serve` did not print its URL in time; the message has its log's tail."""


class ServerProcess(PeerProcess):
    """`nfsprop serve` on a store in `work_dir`, as a subprocess this object owns."""

    def __init__(
        self,
        work_dir: Path,
        *,
        drc: bool = True,
        memory: bool = False,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 30.0,
    ) -> None:
        self.work_dir = work_dir
        self.drc = drc
        self.memory = memory  # `--memory`: no store, nothing survives a restart
        self.extra_args = extra_args
        self.start_timeout = start_timeout
        self.store_path = work_dir / "store.sqlite"
        self.log_path = work_dir / "serve.log"
        self.port = 0
        self.mount_port = 0
        self.url = ""
        self.starts = 0

    def file_url(self, path: str) -> str:
        """The libnfs URL of `path` under the export's root."""
        head, query = self.url.split("?", 1)
        return f"{head}/{path.lstrip('/')}?{query}"

    def command(self) -> list[str]:
        store = ["--memory"] if self.memory else ["--store", str(self.store_path)]
        arguments = ["serve", *store, "--port", str(self.port)]
        if not self.drc:
            arguments.append("--no-drc")
        return nfsprop_command(*arguments, *self.extra_args)

    def start(self) -> None:
        """Start the server and wait for its URL line; ServerStartError if it does not come."""
        if self.running:
            raise ServerStartError(f"the server is already running (pid {self.pid})")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        process = launch_nfsprop(
            self.command(), self.log_path, cwd=self.work_dir, preexec_fn=die_with_parent
        )
        self._process = process
        line = read_first_line(process, self.start_timeout)
        found = _URL.search(line)
        if found is None:
            self.kill()
            raise ServerStartError(
                f"`{' '.join(self.command())}` printed no URL within {self.start_timeout} s "
                f"(exit status {process.returncode}, first line {line!r}); last lines of "
                f"{self.log_path}:\n{tail(self.log_path)}"
            )
        self.url = found.group(0).decode()
        self.port, self.mount_port = int(found.group(1)), int(found.group(2))
        self.starts += 1


@contextmanager
def running_server(work_dir: Path, drc: bool = True) -> Iterator[ServerProcess]:
    """`nfsprop serve` on a store in `work_dir` for the length of a `with` block."""
    with ServerProcess(work_dir, drc=drc) as server:
        yield server
