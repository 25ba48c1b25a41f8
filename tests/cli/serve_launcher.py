"""A launcher that restarts `nfsprop serve` in milliseconds, for the restart script of
tests/cli/test_target_world.py (the target world's --restart-cmd).

Rules:
- `python -m tests.cli.serve_launcher WORK_DIR [--no-drc] [--separate-mount]` imports
  the server once, then forks every server instance from itself: a child runs `nfsprop
  serve`'s own entry point (properties.cli.main) on WORK_DIR/store.sqlite, its stdout a
  pipe the launcher reads the URL line from, its stderr appended to WORK_DIR/serve.log.
  Starting Python and importing the server costs a quarter of a second, a fork and a
  start 20 ms, and the crash property restarts the server hundreds of times.
- The first instance gets a free port (port 0), and with --separate-mount another free
  one for MOUNT; every later one listens on those ports again. The launcher then prints
  one line, `CONTROL_PORT URL`, and answers requests on 127.0.0.1:CONTROL_PORT (TCP),
  one line each: `restart` SIGKILLs the running instance by its pid, reaps it, and forks
  the next; the answer is `listening PID` once the new instance printed its URL, or
  `failed: WHY` (an instance that exits first, e.g. because the port is still held, is
  retried until START_TIMEOUT seconds have passed).
  `stop` SIGKILLs the running instance and starts none (a server that died), answering
  `stopped`; the next `restart` starts one again.
- Instances die with the launcher (PR_SET_PDEATHSIG), the launcher with the thread that
  started it when that thread uses `die_with_parent` as its preexec_fn; SIGTERM ends the
  launcher after it SIGKILLs its instance. Nothing is signalled but by a pid this
  launcher forked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

import reference.nfs.server_main  # noqa: F401  (`nfsprop serve` imports it: once, before forks)
from properties.cli import main as nfsprop_main
from properties.peers.processes import die_with_parent, read_line

START_TIMEOUT = 30.0
HOST = "127.0.0.1"
URL_MARK = b"nfs://"


class LaunchError(RuntimeError):
    """An instance printed no URL within START_TIMEOUT seconds."""


class Launcher:
    """Forks `nfsprop serve` instances on one store and one port, one at a time."""

    def __init__(
        self, work_dir: Path, control: socket.socket, *, drc: bool, separate_mount: bool
    ) -> None:
        self.work_dir = work_dir
        self.control = control
        self.drc = drc
        self.separate_mount = separate_mount
        self.port = 0
        self.mount_port = 0
        self.running: int | None = None

    def serve_arguments(self) -> list[str]:
        arguments = ["serve", "--store", str(self.work_dir / "store.sqlite")]
        arguments += ["--port", str(self.port)]
        if self.separate_mount:
            arguments += ["--mount-port", str(self.mount_port)]
        return arguments if self.drc else [*arguments, "--no-drc"]

    def start(self) -> bytes:
        """Fork instances until one prints its URL line; that line."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            pid, line = self._fork(deadline)
            if URL_MARK in line:
                self.running = pid
                self.port = _query_port(line, b"nfsport")
                self.mount_port = _query_port(line, b"mountport")
                return line
            self._kill(pid)
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"no instance printed its URL within {START_TIMEOUT} s; "
                    f"see {self.work_dir / 'serve.log'}"
                )

    def kill_running(self) -> None:
        pid, self.running = self.running, None
        if pid is not None:
            self._kill(pid)

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    def _fork(self, deadline: float) -> tuple[int, bytes]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            self._become_instance(write_end)
        os.close(write_end)
        try:
            return pid, read_line(read_end, deadline)
        finally:
            os.close(read_end)

    def _become_instance(self, stdout: int) -> NoReturn:
        """In the child: run `nfsprop serve` with its stdout on the pipe; never returns."""
        status = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            die_with_parent()
            log = os.open(self.work_dir / "serve.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.dup2(log, 2)
            os.dup2(stdout, 1)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the control socket, the pipe, ...
            status = nfsprop_main(self.serve_arguments())
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)

    def answer_requests(self) -> None:
        while True:
            connection, _ = self.control.accept()
            with connection:
                request = connection.makefile("rb").readline().strip()
                connection.sendall(self._answer(request).encode() + b"\n")

    def _answer(self, request: bytes) -> str:
        if request == b"stop":
            self.kill_running()
            return "stopped"
        if request != b"restart":
            return f"failed: unknown request {request!r}"
        self.kill_running()
        try:
            self.start()
        except LaunchError as error:
            return f"failed: {error}"
        return f"listening {self.running}"


def _query_port(url: bytes, key: bytes) -> int:
    return int(url.split(key + b"=")[1].split(b"&")[0])


def _end(signal_number: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(work_dir: Path, *, drc: bool, separate_mount: bool) -> int:
    signal.signal(signal.SIGTERM, _end)
    work_dir.mkdir(parents=True, exist_ok=True)
    with socket.create_server((HOST, 0)) as control:
        launcher = Launcher(work_dir, control, drc=drc, separate_mount=separate_mount)
        try:
            url = launcher.start()
            print(control.getsockname()[1], url.decode(), flush=True)
            launcher.answer_requests()
        finally:
            launcher.kill_running()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--no-drc", action="store_true", help="turn the server's cache off")
    parser.add_argument("--separate-mount", action="store_true", help="MOUNT on its own port")
    args = parser.parse_args(argv)
    return serve(args.work_dir, drc=not args.no_drc, separate_mount=args.separate_mount)


if __name__ == "__main__":
    sys.exit(main())
