"""The PeerProcess base every peer driver stands on, with `sleep` as the process: kill is
a SIGKILL and reaps, stop a SIGTERM that returns the exit status, restart a new process,
the `with` block starts and stops it, and an ended process's stdout pipe is closed. And
the line readers: a first line within the deadline, b"" past it or at end of file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from properties.peers.processes import PeerProcess, read_first_line, read_line


class Sleeper(PeerProcess):
    """`sleep 60` with its stdout a pipe."""

    stop_grace = 2.0

    def start(self) -> None:
        self._process = subprocess.Popen(["sleep", "60"], stdout=subprocess.PIPE)


def test_kill_is_a_sigkill_that_reaps_and_closes_the_pipe() -> None:
    sleeper = Sleeper()
    sleeper.start()
    process = sleeper._process
    assert process is not None and process.stdout is not None
    assert sleeper.running and sleeper.pid == process.pid
    sleeper.kill()
    assert process.returncode == -signal.SIGKILL
    assert process.stdout.closed
    assert not sleeper.running and sleeper.pid is None


def test_stop_is_a_sigterm_and_returns_the_exit_status() -> None:
    sleeper = Sleeper()
    assert sleeper.stop() is None  # nothing started
    sleeper.start()
    assert sleeper.stop() == -signal.SIGTERM
    assert not sleeper.running
    assert sleeper.stop() is None


def test_restart_kills_the_process_and_starts_a_new_one() -> None:
    with Sleeper() as sleeper:
        first = sleeper._process
        assert first is not None
        sleeper.restart()
        assert first.returncode == -signal.SIGKILL
        assert sleeper.running and sleeper.pid not in (None, first.pid)
    assert not sleeper.running


def test_the_with_block_stops_the_process_it_started() -> None:
    with Sleeper() as sleeper:
        process = sleeper._process
        assert process is not None and sleeper.running
    assert process.returncode == -signal.SIGTERM


def test_read_first_line_returns_the_first_line_only() -> None:
    script = "print('first', flush=True); print('second', flush=True)"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert read_first_line(process, 30.0) == b"first"
    finally:
        process.communicate(timeout=30.0)


def test_read_line_gives_up_at_its_deadline_and_at_end_of_file() -> None:
    read_end, write_end = os.pipe()
    try:
        started = time.monotonic()
        assert read_line(read_end, started + 0.2) == b""
        assert 0.2 <= time.monotonic() - started < 5.0
        os.write(write_end, b"no newline")
        os.close(write_end)
        assert read_line(read_end, time.monotonic() + 5.0) == b""
    finally:
        os.close(read_end)
