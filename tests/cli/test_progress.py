"""Progress and budgets of `nfsprop check`: a line as each check starts and ends in a
world, beats during long tests, `--max-examples`, and a run stopped by SIGTERM that still
prints the summary of what finished and writes its report."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from properties.harness.progress import BEAT_SECONDS, EventLog, Heart, Meter, ProgressPrinter
from tests.cli.test_checks import CHECK_TIMEOUT


def test_the_printer_says_when_a_check_starts_beats_and_ends(tmp_path: Path) -> None:
    out = io.StringIO()
    now = [100.0]
    printer = ProgressPrinter(tmp_path, out, clock=lambda: now[0])
    test = {"code": "CRASH", "world": "gonfs"}
    for event in (
        {"event": "plan", "groups": {"CRASH in gonfs": 2, "XDR-GARBAGE in own stack": 1}},
        {**test, "event": "start"},
        {**test, "event": "beat", "examples": 3, "restarts": 1, "steps": 90, "seconds": 31.0},
        {**test, "event": "start"},  # the check's second test: no second start line
        {**test, "event": "end", "verdict": "pass", "examples": 5, "restarts": 2, "steps": 100},
    ):
        printer.handle(event)
    now[0] = 190.0
    printer.handle(
        {**test, "event": "end", "verdict": "known", "examples": 1, "restarts": 0, "steps": 10}
    )
    assert out.getvalue().splitlines() == [
        "nfsprop: start  CRASH in gonfs (2 tests)",
        "nfsprop:   ...  CRASH in gonfs: 3 examples, 1 restart, 90 steps, 31.0 s in this test",
        "nfsprop: end    CRASH in gonfs: known, 6 examples, 110 steps, 2 restarts, 1 min 30 s",
    ]


def test_the_printer_reads_lines_only_when_written_whole(tmp_path: Path) -> None:
    out = io.StringIO()
    printer = ProgressPrinter(tmp_path, out)
    events = tmp_path / "gw0.jsonl"
    plan = json.dumps({"event": "plan", "groups": {"PROBE in sim": 1}})
    start = json.dumps({"code": "PROBE", "world": "sim", "event": "start"})
    events.write_text(plan + "\n" + start[:10])
    printer.poll()
    assert out.getvalue() == ""
    with events.open("a") as more:
        more.write(start[10:] + "\n")
    printer.poll()
    assert out.getvalue() == "nfsprop: start  PROBE in sim\n"


def test_the_heart_beats_for_the_running_test_only(tmp_path: Path) -> None:
    """Each wait of BEAT_SECONDS that ends without a stop writes one beat of the test
    being watched; none while no test is."""
    turns = iter([False, False, True])  # two waits end, then the stop
    watched = threading.Event()
    done = threading.Event()

    def wait(seconds: float) -> bool:
        assert seconds == BEAT_SECONDS
        watched.wait(5.0)  # bounded: the test below watches at once
        stop = next(turns)
        if stop:
            done.set()
        return stop

    log = EventLog(tmp_path, "gw0")
    heart = Heart(log, wait)
    meter = Meter()
    meter.examples, meter.restarts = 12, 3
    heart.watch({"code": "CRASH", "world": "gonfs"}, meter, lambda: 400)
    watched.set()
    assert done.wait(5.0)
    heart.stop()
    log.close()
    beats = [json.loads(line) for line in (tmp_path / "gw0.jsonl").read_text().splitlines()]
    assert [(b["event"], b["examples"], b["restarts"], b["steps"]) for b in beats] == [
        ("beat", 12, 3, 400)
    ] * 2


def check(*words: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "properties.cli", "check", "--workers", "0", *words],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_check_prints_progress_and_caps_the_examples(tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = check(
        *("--world", "sim", "-k", "test_replies_match_the_model and not faults"),
        *("--max-examples", "4", "--report", str(report)),
        cwd=tmp_path,
    )
    output, _ = run.communicate(timeout=CHECK_TIMEOUT)
    assert run.returncode == 0, output
    assert "nfsprop: start  MODEL in sim\n" in output
    assert "nfsprop: end    MODEL in sim: pass, 4 examples, " in output
    assert "Hypothesis profile 'ci': 4 examples, derandomized" in output
    [model] = json.loads((report / "results.json").read_text())["checks"]
    assert (model["code"], model["examples"]) == ("MODEL", 4)


def test_a_run_stopped_by_sigterm_prints_what_finished(tmp_path: Path) -> None:
    """The thorough profile's 2000 examples keep MODEL busy when SIGTERM comes; PROBE,
    before it, has finished and is in the summary and the report. When the interrupt
    lands in a garbage collector callback, Python swallows it and MODEL runs to its end
    (test_a_sigterm_whose_interrupt_python_swallowed_...): the run stops there all the
    same, before MODEL-FAULTS."""
    report = tmp_path / "report"
    run = check(
        *("--profile", "thorough", "--world", "sim", "--report", str(report)),
        *("-k", "test_optional_features_are_probed or test_replies_match_the_model"),
        cwd=tmp_path,
    )
    assert run.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(CHECK_TIMEOUT, run.kill)  # bounded, whatever happens
    timer.start()
    try:
        for line in run.stdout:
            lines.append(line)
            if line.startswith("nfsprop: start  MODEL in sim"):
                run.send_signal(signal.SIGTERM)
                break
        lines += run.stdout.readlines()
        run.wait()
    finally:
        timer.cancel()
    output = "".join(lines)
    assert run.returncode == 2, output  # pytest's "interrupted"
    assert "nfsprop: one line per check" in output
    assert any(line.split()[:2] == ["pass", "PROBE"] for line in lines), output
    checks = json.loads((report / "results.json").read_text())["checks"]
    finished = {(entry["code"], entry["verdict"]) for entry in checks}
    assert finished in ({("PROBE", "pass")}, {("PROBE", "pass"), ("MODEL", "pass")}), checks


def test_a_sigterm_whose_interrupt_python_swallowed_stops_the_run_when_the_test_ends(
    tmp_path: Path,
) -> None:
    """Python ignores a KeyboardInterrupt raised inside a garbage collector callback (where
    Hypothesis has one); the run must stop all the same, after that test."""
    (tmp_path / "test_two.py").write_text(
        "import os, signal\n"
        "def test_swallowed():\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    except KeyboardInterrupt:\n"
        "        pass  # as in a gc callback\n"
        "def test_after():\n"
        "    raise AssertionError('ran after SIGTERM')\n"
    )
    runner = (
        "import signal, sys, pytest\n"
        "from properties.harness.check import _Stopping\n"
        "stopping = _Stopping()\n"
        "signal.signal(signal.SIGTERM, stopping.interrupt)\n"
        "sys.exit(pytest.main(['-p', 'no:cacheprovider', 'test_two.py'], plugins=[stopping]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )
    assert run.returncode == 2, run.stdout + run.stderr  # pytest's "interrupted"
    assert "ran after SIGTERM" not in run.stdout
    assert "KeyboardInterrupt" in run.stdout
