"""The target world end to end: the server properties against a live `nfsprop serve`
reached as somebody else's server (`--world target --target URL`), crashed and restarted
through a user's `--restart-cmd`.

Rules:
- Each test starts `nfsprop serve` on a free 127.0.0.1 port with a SQLite store under
  tmp_path, through tests/cli/serve_launcher.py (which forks each instance from an
  already-imported server, so the hundreds of restarts of the crash property cost 20 ms
  each rather than a quarter of a second), and writes a restart script beside it: the
  script asks the launcher to SIGKILL the server by its pid and start it again on the
  same port and store, returns once it listens (bounded), and appends a line to the
  counter file.
- The properties run in a pytest subprocess (`python -m pytest properties/...`) with the
  `ci` profile (derandomized: every run is the same run), one -k selection, replay files
  under tmp_path (NFSPROP_FAILURES_DIR). Its report is parsed: every selected
  target-world test must have run with the outcome expected (passed, or failed where a
  failure is planted), none skipped. The passing run serves MOUNT on its own port, as
  real servers do; the planted failure's replay file is replayed with `nfsprop replay`
  against the same server, and `nfsprop check`'s rerun line for it fails it again.
- ExternalServer.restart (properties/worlds/external.py) is also tested alone against a
  listening socket: a command that leaves a process in the background, a failing
  command, a MOUNT port that never comes back.
- Only processes the test started are signalled, by pid: the launcher (SIGTERM, then
  SIGKILL), which SIGKILLs its server instance; both die with the test's thread if it
  dies first. Cleanup runs on failure too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from properties.harness.replay.file import file_name
from properties.peers.ports import free_port
from properties.peers.processes import die_with_parent, read_first_line, stop_process
from properties.worlds import external
from properties.worlds.external import ExternalServer, RestartError
from properties.worlds.options import TargetUrl
from tests.cli import serve_launcher
from tests.replay.commands import nfsprop_replay

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_PROPERTIES = "properties/nfs3/test_server.py"
INNER_RUN_TIMEOUT = 600.0
MODEL = "test_replies_match_the_model[target]"
CRASH = "test_a_crash_loses_nothing_committed[target]"
RETRANSMIT = "test_retransmissions_with_the_cache_get_the_first_reply[target]"

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

    def restarts(self) -> list[str]:
        """One line per restart, `listening PID` (the new server's pid)."""
        return self.counter.read_text().splitlines() if self.counter.exists() else []


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
        )
    finally:
        stop_process(launcher)  # it SIGKILLs its server instance first
        if launcher.stdout is not None:
            launcher.stdout.close()


@dataclass(frozen=True)
class InnerRun:
    output: str
    returncode: int
    outcomes: dict[str, str]  # test id -> PASSED, FAILED or ERROR
    counts: dict[str, int]  # from the summary line: passed, failed, skipped, deselected, ...


def run_properties(
    server: LiveServer, select: str, failures: Path, workers: tuple[str, ...] = ("-p", "no:xdist")
) -> InnerRun:
    """The server properties chosen by `select`, in the target world only, against
    `server`, which the run is told keeps a duplicate request cache; `workers` chooses
    pytest-xdist's (none by default)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *workers,
        "-rA",
        SERVER_PROPERTIES,
        "--world",
        "target",
        "--target",
        server.url,
        "--target-drc",
        "yes",
        "--restart-cmd",
        server.restart_cmd,
        "--hypothesis-profile=ci",
        "-k",
        select,
    ]
    environment = dict(os.environ, NFSPROP_FAILURES_DIR=str(failures))
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=INNER_RUN_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    outcomes = {
        match.group(2): match.group(1)
        for match in re.finditer(r"^(PASSED|FAILED|ERROR) \S*::(\S+)", output, re.M)
    }
    summary = output.rstrip().rsplit("\n", 1)[-1]
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    return InnerRun(output, done.returncode, outcomes, counts)


def test_the_server_properties_pass_against_a_live_target(tmp_path: Path) -> None:
    """Model agreement, durability across crashes (through --restart-cmd) and at-most-once
    with the cache: all three run in the target world, and pass."""
    with live_server(tmp_path, drc=True, separate_mount=True) as server:
        run = run_properties(
            server,
            "replies_match_the_model and not network or crash or retransmissions_with_the_cache",
            tmp_path / "failures",
        )
        restarts = server.restarts()
    assert run.returncode == 0, run.output
    assert run.outcomes == {MODEL: "PASSED", CRASH: "PASSED", RETRANSMIT: "PASSED"}, run.output
    assert run.counts["passed"] == 3 and "skipped" not in run.counts, run.output
    assert len(restarts) >= 1, "the crash property never ran --restart-cmd"
    assert len(set(restarts)) == len(restarts), "a restart answered with an old server"
    assert not (tmp_path / "failures").exists()


def test_the_target_s_tests_never_overlap_under_xdist(tmp_path: Path) -> None:
    """With two xdist workers, the three properties that touch the one target (one of them
    crashing it) run one after the other, and a correct server passes them all."""
    with live_server(tmp_path, drc=True, separate_mount=True) as server:
        run = run_properties(
            server,
            "replies_match_the_model and not network or crash or retransmissions_with_the_cache",
            tmp_path / "failures",
            workers=("-n", "2"),
        )
    assert run.returncode == 0, run.output
    assert run.outcomes == {MODEL: "PASSED", CRASH: "PASSED", RETRANSMIT: "PASSED"}, run.output


def test_a_target_that_lies_about_its_cache_fails_with_a_replay_file(tmp_path: Path) -> None:
    """A server without its duplicate request cache, run with --target-drc yes: the
    retransmission property fails, prints its replay command, leaves a replay file of the
    target world, and `nfsprop replay` on that file fails the same way."""
    failures = tmp_path / "failures"
    with live_server(tmp_path, drc=False, separate_mount=False) as server:
        run = run_properties(server, "retransmissions_with_the_cache", failures)
        saved = failures / file_name(f"{SERVER_PROPERTIES}::{RETRANSMIT}", "target")
        replayed = nfsprop_replay(saved)  # while the server still runs
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert run.outcomes == {RETRANSMIT: "FAILED"}, run.output
    assert run.counts["failed"] == 1 and "skipped" not in run.counts, run.output
    assert "AT-MOST-ONCE" in run.output
    assert f"nfsprop replay {saved}" in run.output
    replay = json.loads(saved.read_text())
    assert replay["world"] == "target"
    assert replay["target"] == server.url + "&version=3"
    assert replay["settings"]["restart_cmd"] == server.restart_cmd
    assert replay["settings"]["target_drc"] is True
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "reproduced: AT-MOST-ONCE: " in replayed.stdout


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket listening on 127.0.0.1: a server that is up, as far as a restart can tell."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        yield listening


def external_server(
    listener: socket.socket, restart_cmd: str, mount_port: int = 0
) -> ExternalServer:
    port = listener.getsockname()[1]
    return ExternalServer(TargetUrl("127.0.0.1", port, b"/export", mount_port or port), restart_cmd)


def test_a_restart_command_that_leaves_a_server_running_returns(
    tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's background process keeps the output it inherited open: the restart
    must wait for the command, not for the end of its output."""
    monkeypatch.setattr(external, "RESTART_TIMEOUT", 5.0)
    pidfile = tmp_path / "background.pid"
    server = external_server(listener, f"sleep 600 & echo $! > {shlex.quote(str(pidfile))}")
    try:
        server.restart()
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_a_failing_restart_command_shows_its_status_and_output(listener: socket.socket) -> None:
    server = external_server(listener, "echo 'no such server' >&2; exit 3")
    with pytest.raises(RestartError, match="exited with status 3: no such server"):
        server.restart()


def test_a_restart_waits_for_the_mount_port_too(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external, "RESTART_TIMEOUT", 0.5)
    mount_port = free_port()  # nothing listens there
    server = external_server(listener, "true", mount_port)
    with pytest.raises(RestartError, match=f"port {mount_port} not listening"):
        server.restart()


def run_check(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """`nfsprop check ARGUMENTS`, through the entry point's module."""
    return subprocess.run(
        [sys.executable, "-m", "properties.cli", "check", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=INNER_RUN_TIMEOUT,
        check=False,
    )


def test_nfsprop_check_prints_a_rerun_line_that_fails_again(tmp_path: Path) -> None:
    """`nfsprop check` against the lying server: the failing property's rerun line keeps
    the world, target and cache flags, and running it fails the same property again."""
    with live_server(tmp_path, drc=False, separate_mount=False) as server:
        select = ["-k", "retransmissions_with_the_cache"]
        first = run_check(["--workers", "0", "--world", "target", "--target", server.url, *select])
        rerun = re.search(r"^  rerun: nfsprop check (.*)$", first.stdout, re.M)
        assert rerun is not None, first.stdout + first.stderr
        again = run_check(shlex.split(rerun.group(1)))
    assert first.returncode == pytest.ExitCode.TESTS_FAILED, first.stdout
    arguments = shlex.split(rerun.group(1))
    assert arguments[arguments.index("--world") + 1] == "target"
    assert arguments[arguments.index("--target") + 1] == server.url
    assert arguments[arguments.index("--target-drc") + 1] == "yes"
    assert arguments[-2:] == ["-k", RETRANSMIT]
    assert again.returncode == pytest.ExitCode.TESTS_FAILED, again.stdout
    assert "1 failed" in again.stdout
