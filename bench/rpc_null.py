"""NULL calls per second over loopback: one sequential client against the reference server.

Rules: the server runs in its own Python process (its own interpreter and event loop), so
client and server share no event loop and no GIL. Rows compare, in one run, our asyncio
client over TCP and UDP with a blocking-socket client that sends a prebuilt NULL call
(the server's and the kernel's cost alone); the ratio column is against that row.
"""

import asyncio
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.table import best_rate, print_table
from reference.rpc import message as msg
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.auth import encode_credential
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import AuthNone
from reference.xdr.gen.counter import COUNTER_V1_PROCEDURES

CALLS = 2000
NULL = COUNTER_V1_PROCEDURES[0]
ROOT = Path(__file__).resolve().parent.parent

# The server process: serves the counter program on a free port, prints the port, and
# stops when its stdin closes.
SERVER = """
import asyncio, sys
from reference.rpc.aio_server import RpcSocketServer
from reference.rpc.counter_service import CounterService
from reference.rpc.server import RpcServer

async def main():
    async with RpcSocketServer(RpcServer([CounterService()])) as sockets:
        print(sockets.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def start_server() -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.strip().isdigit():
        server.kill()
        sys.exit(f"bench rpc_null: the server process did not start (printed {line!r})")
    return server, int(line)


def client_rate(loop: asyncio.AbstractEventLoop, port: int, transport: str) -> float:
    client = loop.run_until_complete(RpcSocketClient.connect("127.0.0.1", port, transport))

    async def calls() -> int:
        for _ in range(CALLS):
            await client.call(NULL, None)
        return CALLS

    try:
        return best_rate(lambda: loop.run_until_complete(calls()))
    finally:
        loop.run_until_complete(client.close())


def raw_tcp_rate(port: int) -> float:
    """A blocking socket sending one prebuilt NULL call at a time."""
    credential = encode_credential(AuthNone())
    record = frame(msg.encode_call(1, NULL.program, NULL.version, NULL.number, credential, b""))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = RecordReader()

        def calls() -> int:
            for _ in range(CALLS):
                sock.sendall(record)
                while not reader.feed(sock.recv(4096)):
                    pass
            return CALLS

        return best_rate(calls)


def main() -> None:
    server, port = start_server()
    loop = asyncio.new_event_loop()
    try:
        measures: list[tuple[str, str, Callable[[], float]]] = [
            ("tcp", "blocking socket, prebuilt call", lambda: raw_tcp_rate(port)),
            ("tcp", "RpcSocketClient", lambda: client_rate(loop, port, "tcp")),
            ("udp", "RpcSocketClient", lambda: client_rate(loop, port, "udp")),
        ]
        rates = [(transport, name, measure()) for transport, name, measure in measures]
    finally:
        loop.close()
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    baseline = rates[0][2]
    print_table(
        f"RPC NULL over loopback, one sequential client, {CALLS} calls per run, best of 5",
        ["transport", "client", "calls/s", "vs raw"],
        [(transport, name, rate, rate / baseline) for transport, name, rate in rates],
    )


if __name__ == "__main__":
    main()
