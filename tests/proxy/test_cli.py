"""`nfsprop proxy` as a command: bad arguments give one line on stderr naming the fix and exit
status 2 (never a traceback); a running proxy announces where it listens and its seed,
forwards calls, and on SIGTERM or SIGINT exits 0 after writing its trace."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.sim.trace import Kind, Trace
from properties.cli import main
from properties.harness.chart import chart_of
from properties.peers.processes import read_first_line
from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.counter_service import CounterService
from reference.rpc.server import RpcServer
from tests.proxy.helpers import increment_call, reply_xid

TIMEOUT = 30


def proxy_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "properties.cli", "proxy", *arguments]


def run_proxy(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `nfsprop proxy ARGUMENTS` as a process, expecting it to exit by itself."""
    return subprocess.run(
        proxy_command(*arguments),
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
    assert lines[0].startswith("nfsprop proxy: ")
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def refuse(capsys: pytest.CaptureFixture[str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the command's code in this process (what its process runs, without the start-up
    cost); it must return without serving."""
    status = main(["proxy", *arguments])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, status, captured.out, captured.err)


@pytest.fixture
def tcp_port_in_use() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def udp_port_in_use() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        yield taken.getsockname()[1]


@pytest.mark.parametrize(
    ("to", "phrases"),
    [
        ("localhost", ["bad --to 'localhost'", "HOST:PORT"]),
        ("127.0.0.1:", ["bad port ''", "0 to 65535"]),
        ("127.0.0.1:70000", ["bad port '70000'", "0 to 65535"]),
        ("127.0.0.1:0", ["port 0", "1 to 65535"]),
        ("no-such-host.invalid:2049", ["cannot resolve host 'no-such-host.invalid'"]),
    ],
)
def test_a_bad_target(capsys: pytest.CaptureFixture[str], to: str, phrases: list[str]) -> None:
    assert_one_line_error(refuse(capsys, "--listen", "0", "--to", to, "--udp"), *phrases)


@pytest.mark.parametrize("flag", ["--drop", "--dup", "--reorder", "--delay-rate"])
@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_a_probability_outside_0_1(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    result = refuse(capsys, "--listen", "0", "--to", "127.0.0.1:2049", "--tcp", flag, value)
    assert_one_line_error(result, f"{flag} {float(value)} is not a probability", "from 0 to 1")


def test_probabilities_adding_up_to_more_than_1(capsys: pytest.CaptureFixture[str]) -> None:
    result = refuse(
        capsys, "--listen", "0", "--to", "127.0.0.1:2049", "--udp", "--drop", "0.6", "--dup", "0.6"
    )
    assert_one_line_error(result, "add up to 1.2", "must not exceed 1")


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        (["--drop", "lots"], "--drop 'lots' is not a number"),
        (["--delay", "-5"], "--delay -5.0 is negative"),
        (["--seed", "x"], "--seed 'x' is not an integer"),
        (["--trace", "/no/such/dir/t.json"], "directory /no/such/dir does not exist"),
    ],
)
def test_other_bad_values(
    capsys: pytest.CaptureFixture[str], arguments: list[str], phrase: str
) -> None:
    result = refuse(capsys, "--listen", "0", "--to", "127.0.0.1:2049", "--udp", *arguments)
    assert_one_line_error(result, phrase)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_a_port_in_use(transport: str, tcp_port_in_use: int, udp_port_in_use: int) -> None:
    port = tcp_port_in_use if transport == "tcp" else udp_port_in_use
    result = run_proxy("--listen", str(port), "--to", "127.0.0.1:2049", f"--{transport}")
    assert_one_line_error(result, f"port {port} is in use", "--listen N", "--listen 0")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_running_proxy_forwards_announces_its_seed_and_writes_its_trace(
    tmp_path: Path, stop: signal.Signals
) -> None:
    trace_path = tmp_path / "trace.json"
    sockets = RpcSocketServer(RpcServer([CounterService()]), tcp=False)
    with ThreadedServer(sockets) as server:
        server_port = server.port
        process = subprocess.Popen(
            proxy_command(
                "--listen",
                "0",
                "--to",
                f"127.0.0.1:{server.port}",
                "--udp",
                "--seed",
                "42",
                "--trace",
                str(trace_path),
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            line = read_first_line(process, TIMEOUT).decode()
            assert line.startswith("nfsprop proxy: listening on 127.0.0.1:")
            assert f"forwarding to 127.0.0.1:{server.port}" in line and "seed 42" in line
            port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(TIMEOUT)
                client.connect(("127.0.0.1", port))
                client.send(increment_call(77))
                assert reply_xid(client.recv(65536)) == 77
        finally:
            process.send_signal(stop)
            rest, errors = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, errors
    assert errors == b""
    totals = "2 messages: 2 forwarded, 0 drop, 0 duplicate, 0 delay, 0 reorder; 0 copies lost"
    assert rest.decode().splitlines() == [f"nfsprop proxy: stopped; {totals}"]
    events = Trace.from_json(trace_path.read_text()).events
    assert [event.kind for event in events] == [Kind.SEND, Kind.DELIVER] * 2
    assert events[0].note == "call COUNTERPROC_INCREMENT xid=77"
    chart = chart_of(trace_path).text()  # `nfsprop trace`: the same messages, one per line
    assert chart[0].endswith(f", network, 127.0.0.1:{server_port}")
    assert sum("call COUNTERPROC_INCREMENT xid=77" in line for line in chart) == 2
