"""The "target" world: somebody else's NFSv3 server, given as `--target URL`.

Rules:
- The suite does not own the server's process. It reaches it through a SocketTarget at
  the URL's host and ports; it can crash and restart it only through the user's
  `--restart-cmd` (run with the shell, like pynfs's server helper), so its Capabilities
  (properties/worlds/registry.py) allow crashes only when one was given. After the
  command returns (exit status 0, within RESTART_TIMEOUT seconds) the server must accept
  TCP connections again on its NFS and MOUNT ports within RESTART_TIMEOUT seconds;
  otherwise RestartError says what happened.
- The suite waits for the command's shell only, never for its output to end: a command
  that starts the server in the background hands it the output it was given, and the
  server keeps it open as long as it runs. So the output goes to a temporary file (a
  RestartError shows its last TAIL_LINES lines, joined by " | "), not to a pipe. A
  command that outlives RESTART_TIMEOUT is SIGKILLed (the shell, by its pid).
- Whether the server keeps a duplicate request cache is the user's word (`--target-drc`)
  or the pre-run check's probe; the suite cannot turn it off. Every call carries the
  user's AUTH_SYS uid and gid (`--uid`/`--gid`, default root).
- The suite empties the export before every example: point it at a scratch export, or
  give it a directory of the export to work in (`--scratch-dir NAME`: that directory is
  the root, properties/worlds/scratch.py).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO

from properties.peers.processes import POLL
from properties.peers.rpcping import null_call
from properties.worlds.options import TargetUrl
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Capabilities
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3

RESTART_TIMEOUT = 60.0
NULL_TIMEOUT = 1.0  # one NULL call while waiting for the server to come back
OUTPUT_TAIL = 2000  # bytes of the command's output read for its last lines
TAIL_LINES = 3  # lines of the command's output a RestartError shows


class RestartError(RuntimeError):
    """The restart command failed, or the server did not come back after it."""


@dataclass
class ExternalServer:
    """A ServerControl for a server the suite does not own."""

    url: TargetUrl
    restart_cmd: str | None

    @property
    def port(self) -> int:
        return self.url.port

    @property
    def mount_port(self) -> int:
        return self.url.mount_port

    def restart(self) -> None:
        if self.restart_cmd is None:
            raise RestartError(f"{self.url}: no --restart-cmd was given: cannot restart it")
        with tempfile.TemporaryFile() as output:
            command = subprocess.Popen(
                self.restart_cmd,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                status = command.wait(timeout=RESTART_TIMEOUT)
            except subprocess.TimeoutExpired:
                command.kill()
                command.wait()
                raise RestartError(
                    f"--restart-cmd {self.restart_cmd!r} ran longer than {RESTART_TIMEOUT:g} s "
                    f"and was killed; its last output: {_tail(output)}"
                ) from None
            if status != 0:
                raise RestartError(
                    f"--restart-cmd {self.restart_cmd!r} exited with status {status}; "
                    f"its last output: {_tail(output)}"
                )
        self._wait_until_answering(self.url.port, NFS_PROGRAM, NFS_V3, "NFS")
        self._wait_until_answering(self.url.mount_port, MOUNT_PROGRAM, MOUNT_V3, "MOUNT")

    def _wait_until_answering(self, port: int, program: int, version: int, what: str) -> None:
        deadline = time.monotonic() + RESTART_TIMEOUT
        address = (self.url.host, port)
        while not null_call(address, program, version, timeout=NULL_TIMEOUT):
            if time.monotonic() > deadline:
                raise RestartError(
                    f"{self.url}: {what} (port {port}) does not answer NULL {RESTART_TIMEOUT:g} s "
                    f"after --restart-cmd {self.restart_cmd!r} returned; the command must "
                    "start the server again"
                )
            time.sleep(POLL)


def _tail(output: IO[bytes]) -> str:
    """The last TAIL_LINES non-empty lines written to `output`, on one line."""
    size = output.seek(0, os.SEEK_END)
    output.seek(max(0, size - OUTPUT_TAIL))
    lines = [line.strip() for line in output.read().decode(errors="replace").splitlines()]
    shown = [line for line in lines if line][-TAIL_LINES:]
    return " | ".join(shown) if shown else "(no output)"


def make_external_target(
    url: TargetUrl,
    restart_cmd: str | None,
    capabilities: Capabilities,
    credential: AuthSys,
    scratch_dir: bytes | None = None,
) -> SocketTarget[ExternalServer]:
    return SocketTarget(
        f"target:{url}",
        ExternalServer(url, restart_cmd),
        url.export,
        capabilities,
        lambda: None,
        host=url.host,
        credential=credential,
        scratch_dir=scratch_dir,
    )
