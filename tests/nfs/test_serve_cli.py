"""`nfsprop serve` as a command: bad arguments give one line on stderr naming the fix and exit
status 2 (never a traceback); SIGTERM ends a running server with status 0; the defaults
are those of a real server (port 2049, ./nfsprop-store.sqlite, /export)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.cli import build_parser
from properties.peers.processes import read_first_line
from properties.peers.reference_server import ServerProcess

TIMEOUT = 30


def serve(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `nfsprop serve ARGUMENTS` expecting it to exit by itself."""
    return subprocess.run(
        [sys.executable, "-m", "properties.cli", "serve", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nfsprop serve: ")
    for phrase in phrases:
        assert phrase in lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other program listens on (TCP)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_the_defaults_are_a_real_servers() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.port, args.store, args.export) == (2049, "nfsprop-store.sqlite", "/export")
    assert (args.mount_port, args.memory, args.no_udp, args.no_drc) == (None, False, False, False)


def test_a_port_in_use(tmp_path: Path, listening: int) -> None:
    result = serve(tmp_path, "--port", str(listening), "--store", str(tmp_path / "s.sqlite"))
    assert_one_line_error(result, f"port {listening} is in use", "pass --port N", "0 picks")


def test_a_mount_port_in_use(tmp_path: Path, listening: int) -> None:
    result = serve(tmp_path, "--port", "0", "--mount-port", str(listening), "--memory")
    assert_one_line_error(result, f"port {listening} is in use", "pass --mount-port N")


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    assert_one_line_error(serve(tmp_path, "--memory", "--port", port), "bad port", "--port N")


@pytest.mark.parametrize("window", ["-1", "10001"])
def test_a_polling_window_out_of_range(tmp_path: Path, window: str) -> None:
    result = serve(tmp_path, "--memory", "--poll-us", window)
    assert_one_line_error(result, "bad polling window", "--poll-us N")


@pytest.mark.parametrize("export", ["export", "/a/../b", "/with space", "/a//b", ""])
def test_a_bad_export(tmp_path: Path, export: str) -> None:
    result = serve(tmp_path, "--memory", "--port", "0", "--export", export)
    assert_one_line_error(result, "bad export", "--export /PATH")


def test_a_store_in_a_missing_directory(tmp_path: Path) -> None:
    result = serve(tmp_path, "--port", "0", "--store", str(tmp_path / "missing" / "s.sqlite"))
    assert_one_line_error(result, "is not a directory", "--store PATH.sqlite", "--memory")


def test_a_store_that_is_not_a_database(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not an SQLite file" * 100)
    result = serve(tmp_path, "--port", "0", "--store", str(garbage))
    assert_one_line_error(result, str(garbage), "--store PATH.sqlite")


def test_a_store_another_server_is_using(tmp_path: Path) -> None:
    running = ServerProcess(tmp_path / "first")
    running.start()
    try:
        result = serve(tmp_path, "--port", "0", "--store", str(running.store_path))
    finally:
        running.stop()
    assert_one_line_error(result, "locked", "--store PATH.sqlite")


def test_sigterm_ends_the_server_cleanly(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server")
    server.start()
    assert server.url.startswith("nfs://127.0.0.1/export?version=3&nfsport=")
    assert server.stop() == 0
    assert server.log_path.read_text() == ""
    server.start()  # the store closed cleanly: it opens again
    assert server.stop() == 0


def test_the_default_store_is_in_the_working_directory(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "properties.cli", "serve", "--port", "0"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = read_first_line(process, TIMEOUT)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=TIMEOUT)
    assert b"nfs://127.0.0.1/export?version=3&nfsport=" in line
    assert process.returncode == 0, errors
    assert (tmp_path / "nfsprop-store.sqlite").is_file()
