"""A live `nfsprop serve` reached as somebody else's server (the target world), and a
restart script for it: shared by tests/cli/test_target_world.py and tests/worlds/.

Rules:
- `live_server` starts `nfsprop serve` on free 127.0.0.1 ports with a SQLite store under
  the test's directory, through tests/cli/serve_launcher.py (which forks each instance
  from an already-imported server, so restarts cost 20 ms), and writes a restart script
  beside it: the script asks the launcher to SIGKILL the server by its pid and start it
  again on the same port and store, returns once it listens (bounded), and appends a line
  to the counter file.
- Only processes the test started are signalled, by pid: the launcher (SIGTERM, then
  SIGKILL), which SIGKILLs its server instance; both die with the test's thread if it
  dies first. Cleanup runs on failure too.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from properties.peers.processes import die_with_parent, read_first_line, stop_process
from tests.cli import serve_launcher

REPO_ROOT = Path(__file__).resolve().parents[2]

RESTART_SCRIPT = """\
# Restarts this test's nfsprop serve through its launcher (tests/cli/serve_launcher.py):
# SIGKILL by pid, start again on the same port and store; returns once it listens, and
# counts the restart. Only the standard library: run with `python -S`, it starts fast.
import socket
import sys

with socket.create_connection(("127.0.0.1", {control_port}), timeout={timeout}) as launcher:
    launcher.sendall(b"restart\\n")
    answer = launcher.makefile("rb").readline().decode().strip()
if not answer.startswith("listening "):
    sys.exit("restart: " + (answer or "the launcher closed the connection"))
with open({counter!r}, "a") as restarts:
    restarts.write(answer + "\\n")
"""


@dataclass(frozen=True)
class LiveServer:
    """A running `nfsprop serve` as the target world sees it."""

    url: str
    restart_cmd: str
    counter: Path
    control_port: int  # the launcher's: `stop` kills the server and starts none

    def restarts(self) -> list[str]:
        """One line per restart, `listening PID` (the new server's pid)."""
        return self.counter.read_text().splitlines() if self.counter.exists() else []

    def stop(self) -> None:
        """Kill the server, as if it died (the restart command starts it again)."""
        assert stop_server(self.control_port) == "stopped"


def stop_server(control_port: int) -> str:
    """Ask the launcher at `control_port` to kill its server and start none; its answer."""
    with socket.create_connection((serve_launcher.HOST, control_port), timeout=10) as launcher:
        launcher.sendall(b"stop\n")
        return launcher.makefile("rb").readline().decode().strip()


def _write_restart_script(tmp_path: Path, control_port: int, counter: Path) -> Path:
    script = tmp_path / "restart.py"
    timeout = serve_launcher.START_TIMEOUT + 5
    script.write_text(
        RESTART_SCRIPT.format(control_port=control_port, timeout=timeout, counter=str(counter))
    )
    return script


@contextmanager
def live_server(tmp_path: Path, *, drc: bool, separate_mount: bool) -> Iterator[LiveServer]:
    """`nfsprop serve` on free ports (cache on or off, MOUNT on the NFS port or its own)
    and a script that restarts it."""
    work_dir = tmp_path / "server"
    command = [sys.executable, "-m", "tests.cli.serve_launcher", str(work_dir)]
    command += [] if drc else ["--no-drc"]
    command += ["--separate-mount"] if separate_mount else []
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    with (tmp_path / "launcher.log").open("ab") as log:
        launcher = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=REPO_ROOT,
            env=environment,
            preexec_fn=die_with_parent,
        )
    try:
        line = read_first_line(launcher, serve_launcher.START_TIMEOUT).decode()
        found = re.fullmatch(r"(\d+) nfs://\S+\?version=3&nfsport=(\d+)&mountport=(\d+)", line)
        assert found is not None, f"the launcher printed {line!r}: see {tmp_path}/launcher.log"
        control_port, port, mount_port = (int(group) for group in found.groups())
        counter = tmp_path / "restarts.txt"
        script = _write_restart_script(tmp_path, control_port, counter)
        yield LiveServer(
            url=f"nfs://127.0.0.1:{port}/export?mountport={mount_port}",
            restart_cmd=f"{shlex.quote(sys.executable)} -S {shlex.quote(str(script))}",
            counter=counter,
            control_port=control_port,
        )
    finally:
        stop_process(launcher)  # it SIGKILLs its server instance first
        if launcher.stdout is not None:
            launcher.stdout.close()
