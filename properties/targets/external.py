"""The "target" world: somebody else's NFSv3 server, given as `--target URL`.

Rules:
- The suite does not own the server's process. It reaches it through a SocketTarget at
  the URL's host and ports; it can crash and restart it only through the user's
  `--restart-cmd` (run with the shell, like pynfs's server helper), so `can_crash` is
  true only when one was given. After the command returns (exit status 0, within
  RESTART_TIMEOUT seconds) the server must accept TCP connections again within
  RESTART_TIMEOUT seconds; otherwise RestartError says what happened.
- Whether the server keeps a duplicate request cache is the user's word (`--target-drc`);
  the suite cannot turn it off.
- The suite empties the export before every example: point it at a scratch export.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass

from properties.targets.sockets import SocketTarget
from properties.worlds import TargetUrl

RESTART_TIMEOUT = 60.0
POLL_INTERVAL = 0.1


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
        try:
            done = subprocess.run(
                self.restart_cmd,
                shell=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=RESTART_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RestartError(
                f"--restart-cmd {self.restart_cmd!r} ran longer than {RESTART_TIMEOUT} s"
            ) from None
        if done.returncode != 0:
            raise RestartError(
                f"--restart-cmd {self.restart_cmd!r} exited with status {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[-500:]}"
            )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + RESTART_TIMEOUT
        while True:
            try:
                socket.create_connection((self.url.host, self.url.port), timeout=1.0).close()
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise RestartError(
                        f"{self.url}: not listening {RESTART_TIMEOUT} s after --restart-cmd "
                        f"({error}); the command must start the server again"
                    ) from None
                time.sleep(POLL_INTERVAL)


def make_external_target(
    url: TargetUrl, has_drc: bool, restart_cmd: str | None
) -> SocketTarget[ExternalServer]:
    return SocketTarget(
        f"target:{url}",
        ExternalServer(url, restart_cmd),
        url.export,
        has_drc,
        lambda: None,
        host=url.host,
        can_crash=restart_cmd is not None,
    )
