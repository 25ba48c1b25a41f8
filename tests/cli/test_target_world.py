"""The target world end to end: the server properties against a live `nfsprop serve`
reached as somebody else's server (`--world target --target URL`), crashed and restarted
through a user's `--restart-cmd`.

Rules:
- Each test starts `nfsprop serve` with a restart script (tests/cli/live_target.py: the
  hundreds of restarts of the crash property cost 20 ms each).
- The properties run in a pytest subprocess (`python -m pytest properties/...`) with the
  `ci` profile (derandomized: every run is the same run), one -k selection, replay files
  under tmp_path (NFSPROP_FAILURES_DIR). Its report is parsed: every selected
  target-world test must have run with the outcome expected (passed, or failed where a
  failure is planted), none skipped. The passing run serves MOUNT on its own port, as
  real servers do; the planted failure's replay file is replayed with `nfsprop replay`
  against the same server, and `nfsprop check`'s rerun line for it fails it again.
- ExternalServer.restart (properties/worlds/external.py) is also tested alone against a
  running `nfsprop serve`: a command that leaves a process in the background, a failing
  command, a MOUNT port that never comes back.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from properties.peers.ports import free_port
from properties.peers.reference_server import ServerProcess, running_server
from properties.worlds import external
from properties.worlds.external import ExternalServer, RestartError
from properties.worlds.options import TargetUrl
from tests.cli.live_target import REPO_ROOT, LiveServer, live_server
from tests.cli.stop_target import PRE_RUN
from tests.replay.commands import nfsprop_replay

SERVER_PROPERTIES = "properties/nfs3/test_server.py"
INNER_RUN_TIMEOUT = 600.0
MODEL = "test_replies_match_the_model[target]"
CRASH = "test_a_crash_loses_nothing_committed[target]"
RETRANSMIT = "test_retransmissions_with_the_cache_get_the_first_reply[target]"


@dataclass(frozen=True)
class InnerRun:
    output: str
    returncode: int
    outcomes: dict[str, str]  # test id -> PASSED, FAILED or ERROR
    counts: dict[str, int]  # from the summary line: passed, failed, skipped, deselected, ...
    skips: list[str]  # the reasons of the skipped tests, one per line of -rA's summary


def run_properties(
    server: LiveServer,
    select: str,
    failures: Path,
    workers: tuple[str, ...] = ("-p", "no:xdist"),
    extra: tuple[str, ...] = (),
    stop_after: str | None = None,
    restart: bool = True,
) -> InnerRun:
    """The server properties chosen by `select`, in the target world only, against
    `server`, which the run is told keeps a duplicate request cache; `workers` chooses
    pytest-xdist's (none by default); `extra` are more of the suite's options; the server
    dies after the test named `stop_after` (tests/cli/stop_target.py); `restart` gives
    the run the server's restart command."""
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
        *(["--restart-cmd", server.restart_cmd] if restart else []),
        "--hypothesis-profile=ci",
        *extra,
        "-k",
        select,
    ]
    environment = dict(os.environ, NFSPROP_FAILURES_DIR=str(failures))
    if stop_after is not None:
        command[3:3] = ["-p", "tests.cli.stop_target"]
        environment |= {"NFSPROP_STOP_AFTER": stop_after}
        environment |= {"NFSPROP_STOP_PORT": str(server.control_port)}
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
    skips = [
        reason
        for count, reason in re.findall(r"^SKIPPED \[(\d+)\] \S+: (.*)$", output, re.M)
        for _ in range(int(count))
    ]
    summary = output.rstrip().rsplit("\n", 1)[-1]
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    return InnerRun(output, done.returncode, outcomes, counts, skips)


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


def test_the_server_properties_pass_in_a_scratch_directory(tmp_path: Path) -> None:
    """--scratch-dir: the same three properties pass with a directory of the export as
    their root (its '..' the directory itself), the crash property restarting the server."""
    with live_server(tmp_path, drc=True, separate_mount=True) as server:
        run = run_properties(
            server,
            "replies_match_the_model and not network or crash or retransmissions_with_the_cache",
            tmp_path / "failures",
            extra=("--scratch-dir", "nfsprop work"),
        )
    assert run.returncode == 0, run.output
    assert run.outcomes == {MODEL: "PASSED", CRASH: "PASSED", RETRANSMIT: "PASSED"}, run.output
    assert "works in 'nfsprop work' of the export (its root)" in run.output


DEAD_SELECTION = "stale or forged or slash or dots"  # short tests, all passing here


def test_a_target_that_dies_fails_one_test_and_skips_the_rest(tmp_path: Path) -> None:
    """The server dies after the second test (no --restart-cmd in this run): the next
    fails with the one line, every later one is skipped naming it."""
    with live_server(tmp_path, drc=True, separate_mount=False) as server:
        run = run_dead(server, tmp_path, "test_forged_handles_get_badhandle_or_stale[target]")
    slash = "test_names_holding_a_slash_are_refused[target-alone]"
    assert run.outcomes == {
        "test_a_reused_inode_makes_the_old_handle_stale[target]": "PASSED",
        "test_forged_handles_get_badhandle_or_stale[target]": "PASSED",
        slash: "FAILED",
    }, run.output
    port = re.search(r"127\.0\.0\.1:(\d+)/export", server.url)
    assert port is not None
    line = f"the server no longer answers NULL on 127.0.0.1:{port.group(1)}"
    said = (
        f"target:{server.url}&version=3: the target died: {line} (no --restart-cmd to restart it)"
    )
    assert f"_ {SERVER_PROPERTIES.split('/')[-1]}" not in run.output  # one line, no traceback
    assert f"\n{said}\n" in run.output, run.output
    assert run.counts["skipped"] == 3 == len(run.skips), run.output
    died_in = f"{SERVER_PROPERTIES}::{slash}"
    assert all(
        reason.startswith(f"not run: the target died in {died_in}: {line}") for reason in run.skips
    )


def test_a_target_that_dies_under_xdist_fails_one_test_of_all_workers(tmp_path: Path) -> None:
    """Two workers, the server dead before either starts: the test that meets it first
    fails, every other, in either worker, is skipped naming that test (the record is
    shared by the run's processes)."""
    with live_server(tmp_path, drc=True, separate_mount=False) as server:
        run = run_dead(server, tmp_path, PRE_RUN, workers=("-n", "2"))
    failed = [test for test, outcome in run.outcomes.items() if outcome == "FAILED"]
    assert len(failed) == 1 and run.counts["failed"] == 1, run.output
    assert "the target died: the server no longer answers NULL" in run.output
    assert run.counts["skipped"] == 5 == len(run.skips), run.output
    died_in = f"not run: the target died in {SERVER_PROPERTIES}::{failed[0]}: "
    assert all(reason.startswith(died_in) for reason in run.skips), run.output


def run_dead(
    server: LiveServer,
    tmp_path: Path,
    stop_after: str,
    workers: tuple[str, ...] = ("-p", "no:xdist"),
) -> InnerRun:
    """DEAD_SELECTION against `server` without --restart-cmd, the server killed after
    the test `stop_after`."""
    return run_properties(
        server,
        DEAD_SELECTION,
        tmp_path / "failures",
        workers,
        stop_after=stop_after,
        restart=False,
    )


def test_a_target_that_lies_about_its_cache_fails_with_a_replay_file(tmp_path: Path) -> None:
    """A server without its duplicate request cache, run with --target-drc yes: the
    retransmission property fails, prints its replay command, leaves a replay file of the
    target world, and `nfsprop replay` on that file fails the same way."""
    failures = tmp_path / "failures"
    with live_server(tmp_path, drc=False, separate_mount=False) as server:
        run = run_properties(server, "retransmissions_with_the_cache", failures)
        [saved] = failures.glob(
            "*-test_server.py_test_retransmissions_with_the_cache*-target-*.json"
        )
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
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `nfsprop serve`: a server that is up, as far as a restart can tell."""
    with running_server(tmp_path / "served") as server:
        yield server


def external_server(served: ServerProcess, restart_cmd: str, mount_port: int = 0) -> ExternalServer:
    url = TargetUrl("127.0.0.1", served.port, b"/export", mount_port or served.mount_port)
    return ExternalServer(url, restart_cmd)


def test_a_restart_command_that_leaves_a_server_running_returns(
    tmp_path: Path, served: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's background process keeps the output it inherited open: the restart
    must wait for the command, not for the end of its output."""
    monkeypatch.setattr(external, "RESTART_TIMEOUT", 5.0)
    pidfile = tmp_path / "background.pid"
    server = external_server(served, f"sleep 600 & echo $! > {shlex.quote(str(pidfile))}")
    try:
        server.restart()
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_a_failing_restart_command_shows_its_status_and_last_lines_in_one_line(
    served: ServerProcess,
) -> None:
    command = "echo starting; echo 'no such server' >&2; echo; exit 3"
    server = external_server(served, command)
    with pytest.raises(RestartError) as error:
        server.restart()
    assert "exited with status 3; its last output: starting | no such server" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_restart_waits_for_the_mount_port_to_answer_null(
    served: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external, "RESTART_TIMEOUT", 0.5)
    mount_port = free_port()  # nothing listens there
    server = external_server(served, "true", mount_port)
    with pytest.raises(RestartError, match=f"MOUNT \\(port {mount_port}\\) does not answer NULL"):
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
        select = ["-k", "retransmissions_with_the_cache", "--report", str(tmp_path / "report")]
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
    # the failure block: the rule, its sources (the RFC and the user's word), the shrunk
    # steps as a table, the reproduce commands; no Hypothesis or pytest internals
    out = first.stdout
    assert "FAIL RETRANSMIT in target: " in out
    assert "  rule:     AT-MOST-ONCE: " in out
    assert (
        "  source:   RFC 1813 §4.5 (duplicate request cache), RFC 5531 §8; and your word: "
        "--target-drc yes" in out
    )
    assert re.search(r"^            reply\.status: NFS3_OK \| NFS3ERR_EXIST$", out, re.M), out
    assert re.search(r"^    #  call +allowed +came back$", out, re.M), out
    assert re.search(r"^    1  \S.* +NFS3_OK \(the first reply\)  NFS3ERR_EXIST$", out, re.M), out
    assert re.search(r"^    nfsprop replay \S+-target-AT-MOST-ONCE\.json$", out, re.M), out
    assert f"    nfsprop check {rerun.group(1)}" in out
    for internal in ("reproduce_failure", "Falsifying", "hypothesis/core.py", "Traceback"):
        assert internal not in out
    # beside the replay file, a pcap of the shrunk run that tshark decodes as NFS
    replay = re.search(r"^    nfsprop replay (\S+)\.json$", out, re.M)
    assert replay is not None
    decoded = tshark(REPO_ROOT / f"{replay.group(1)}.pcap")
    assert "Network File System, " in decoded and "Duplicate to the call in: " in decoded
    assert "NFS3ERR_EXIST" in decoded
    # the HTML report, as a real browser renders it: the check, the finding's page with
    # its failure block and the sequence chart, the replay file and pcap beside it
    report = tmp_path / "report"
    index = browse(report / "index.html", tmp_path / "index.png")
    assert "RETRANSMIT" in index and 'href="findings/1.html"' in index
    finding = browse(report / "findings" / "1.html", tmp_path / "finding.png")
    assert "FAIL RETRANSMIT in target" in finding and "--target-drc yes" in finding
    assert "<svg" in finding and "NFS3ERR_EXIST" in finding
    name = Path(replay.group(1)).name
    assert {path.name for path in (report / "files").iterdir()} == {
        f"{name}.json",
        f"{name}.pcap",
    }


def browse(page: Path, screenshot: Path) -> str:
    """The DOM of `page` as Debian's chromium renders it, and its screenshot (a PNG of
    the window's size); a missing chromium fails with the fix."""
    found = shutil.which("chromium")
    assert found is not None, (
        "chromium is missing: bash scripts/bootstrap (apt-get install chromium)"
    )
    headless = [found, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]
    subprocess.run(
        [*headless, f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 900)
    dom = subprocess.run(
        [*headless, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dom.stdout


def tshark(pcap: Path) -> str:
    """`tshark -V -r PCAP`, Debian's (a missing tshark fails with the fix)."""
    found = shutil.which("tshark")
    assert found is not None, (
        "tshark is missing: apt-get install tshark (or bash scripts/bootstrap)"
    )
    decoded = subprocess.run(
        [found, "-V", "-r", str(pcap)], capture_output=True, text=True, timeout=60, check=True
    )
    return decoded.stdout
