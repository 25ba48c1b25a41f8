"""The asyncio transports over real sockets on 127.0.0.1: calls, accept errors, concurrent
calls on one connection, reconnection, timeouts, garbage replies and the errors a user
sees."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from typing import Any, cast

import pytest

from reference.rpc import message as msg
from reference.rpc.aio_client import RpcConnectionError, RpcSocketClient
from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.client import RetryPolicy
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.errors import RpcAcceptError, RpcGarbageReply, RpcTimeout
from reference.rpc.server import RpcServer
from reference.rpc.stubs import AuthSys, CallContext, Credential, Procedure
from reference.xdr.gen.counter import COUNTER_V1_PROCEDURES, COUNTER_V1_Client

TRANSPORTS = ["tcp", "udp"]
NULL = COUNTER_V1_PROCEDURES[0]


def counter_server(service: CounterService) -> RpcSocketServer:
    return RpcSocketServer(RpcServer([service], DuplicateRequestCache()))


def free_port(kind: socket.SocketKind) -> socket.socket:
    """A bound socket on a free loopback port (the caller closes it)."""
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    return sock


class DroppingCounter(CounterService):
    """Aborts every connection of `sockets` instead of answering its first INCREMENT (the
    increment itself happens, and the DRC caches its reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.sockets: RpcSocketServer | None = None

    def COUNTERPROC_INCREMENT(self, args: int, ctx: CallContext) -> int:
        if self.sockets is not None:
            self.sockets.drop_connections()
            self.sockets = None
        return super().COUNTERPROC_INCREMENT(args, ctx)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_counter_increment_and_read(transport: str) -> None:
    async def scenario() -> tuple[int, int, int]:
        service = CounterService()
        async with counter_server(service) as sockets:
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, transport)
            async with client:
                counter = COUNTER_V1_Client(client)
                await counter.COUNTERPROC_NULL()
                first = await counter.COUNTERPROC_INCREMENT(5)
                second = await counter.COUNTERPROC_INCREMENT(7)
                return first, second, await counter.COUNTERPROC_READ()

    assert asyncio.run(scenario()) == (5, 12, 12)


def test_server_listens_on_one_port_for_both_transports() -> None:
    async def scenario() -> None:
        async with counter_server(CounterService()) as sockets:
            for transport in TRANSPORTS:
                client = await RpcSocketClient.connect("127.0.0.1", sockets.port, transport)
                async with client:
                    await client.call(NULL, None)

    asyncio.run(scenario())


def test_auth_sys_credential_reaches_the_handler() -> None:
    credential = AuthSys(stamp=7, machinename=b"client", uid=1000, gid=100, gids=(4, 27))

    seen: list[Credential] = []

    class Recording(CounterService):
        def COUNTERPROC_READ(self, args: None, ctx: CallContext) -> int:
            seen.append(ctx.credential)
            return 0

    async def scenario() -> None:
        async with counter_server(Recording()) as sockets:
            client = await RpcSocketClient.connect(
                "127.0.0.1", sockets.port, "udp", credential=credential
            )
            async with client:
                await COUNTER_V1_Client(client).COUNTERPROC_READ()

    asyncio.run(scenario())
    assert seen == [credential]


def test_many_concurrent_calls_on_one_tcp_connection() -> None:
    calls = 300

    async def scenario() -> tuple[list[int], int]:
        service = CounterService()
        async with counter_server(service) as sockets:
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, "tcp")
            async with client:
                counter = COUNTER_V1_Client(client)
                results = await asyncio.gather(
                    *(counter.COUNTERPROC_INCREMENT(1) for _ in range(calls))
                )
                return list(results), client.reconnects

    results, reconnects = asyncio.run(scenario())
    assert sorted(results) == list(range(1, calls + 1))
    assert reconnects == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("procedure", "stat", "versions"),
    [
        (replace(NULL, program=0x20000999), msg.PROG_UNAVAIL, (None, None)),
        (replace(NULL, version=7), msg.PROG_MISMATCH, (1, 1)),
        (replace(NULL, number=9), msg.PROC_UNAVAIL, (None, None)),
    ],
)
def test_accept_errors_raise_rpc_accept_error(
    transport: str,
    procedure: Procedure[None, None],
    stat: int,
    versions: tuple[int | None, int | None],
) -> None:
    async def scenario() -> None:
        async with counter_server(CounterService()) as sockets:
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, transport)
            async with client:
                await client.call(procedure, None)

    with pytest.raises(RpcAcceptError) as raised:
        asyncio.run(scenario())
    assert raised.value.stat == stat
    assert (raised.value.low, raised.value.high) == versions


def test_client_reconnects_after_an_idle_connection_is_dropped() -> None:
    async def scenario() -> tuple[int, int]:
        service = CounterService()
        async with counter_server(service) as sockets:
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, "tcp")
            async with client:
                counter = COUNTER_V1_Client(client)
                await counter.COUNTERPROC_INCREMENT(1)
                assert sockets.drop_connections() == 1
                return await counter.COUNTERPROC_INCREMENT(2), client.reconnects

    assert asyncio.run(scenario()) == (3, 1)


def test_pending_call_completes_after_the_server_drops_the_connection() -> None:
    """The server executes the call, then aborts the connection instead of answering; the
    client reconnects from the same port and resends with the same XID, and the duplicate
    request cache answers it without executing it again."""
    service = DroppingCounter()
    drc = DuplicateRequestCache()

    async def scenario() -> tuple[int, int]:
        async with RpcSocketServer(RpcServer([service], drc)) as sockets:
            service.sockets = sockets
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, "tcp")
            async with client:
                value = await COUNTER_V1_Client(client).COUNTERPROC_INCREMENT(4)
                return value, client.reconnects

    assert asyncio.run(scenario()) == (4, 1)
    assert service.value == 4
    assert list(service.executions.values()) == [1]
    assert drc.stats.hits == 1


async def call_after_the_server_closed(attempts: int, aim_at_itself: bool = False) -> None:
    """A NULL call by a client whose server has just closed; with `aim_at_itself`, its
    reconnections go to its own local port."""
    sockets = counter_server(CounterService())
    await sockets.start()
    client = await RpcSocketClient.connect(
        "127.0.0.1", sockets.port, "tcp", reconnect_attempts=attempts, reconnect_delay=0.001
    )
    async with client:
        if aim_at_itself:
            assert client._stream is not None and client._stream.transport is not None
            client.port = client._stream.transport.get_extra_info("sockname")[1]
        await sockets.close()
        await client.call(NULL, None)


def test_pending_call_fails_clearly_when_reconnecting_is_impossible() -> None:
    with pytest.raises(RpcConnectionError, match="could not reconnect in 2 attempts"):
        asyncio.run(asyncio.wait_for(call_after_the_server_closed(2), 30))


def test_a_reconnect_that_meets_itself_counts_as_refused() -> None:
    """A closed server port can be the one the system gives the client's socket; connecting
    from it to it is a TCP self-connect, which succeeds and echoes every call back. Forced
    here by aiming the reconnect at the client's own port."""
    with pytest.raises(RpcConnectionError, match="could not reconnect in 1 attempts"):
        asyncio.run(asyncio.wait_for(call_after_the_server_closed(1, aim_at_itself=True), 30))


def test_connecting_to_a_closed_port_names_the_problem() -> None:
    with free_port(socket.SOCK_STREAM) as unused:
        port = unused.getsockname()[1]

    async def scenario() -> None:
        await RpcSocketClient.connect("127.0.0.1", port, "tcp")

    with pytest.raises(RpcConnectionError) as raised:
        asyncio.run(scenario())
    assert str(raised.value) == (
        f"cannot connect to 127.0.0.1:{port} over tcp: connection refused — is the server running?"
    )


def test_soft_udp_call_nobody_answers_times_out_after_retransmitting_one_xid() -> None:
    policy = RetryPolicy(timeo=0.01, retrans=2)
    with free_port(socket.SOCK_DGRAM) as silent:
        port = silent.getsockname()[1]

        async def scenario() -> None:
            client = await RpcSocketClient.connect("127.0.0.1", port, "udp", policy=policy)
            async with client:
                await client.call(NULL, None)

        with pytest.raises(RpcTimeout) as raised:
            asyncio.run(scenario())
        silent.settimeout(5)
        xids = {msg.peek_xid(silent.recv(1024)) for _ in range(3)}
    assert raised.value.attempts == 3
    assert xids == {(raised.value.xid, msg.CALL)}


class GarbageFirst(asyncio.DatagramProtocol):
    """A UDP server that answers each copy of a call with a reply whose header is cut
    short, until `garbage` copies were answered so; then with success."""

    def __init__(self, garbage: int) -> None:
        self.garbage = garbage
        self.copies: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # not a subclass in 3.11

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        assert self.transport is not None
        self.copies.append(data)
        reply = msg.encode_success(int.from_bytes(data[:4], "big"), b"")
        garbage = len(self.copies) <= self.garbage
        self.transport.sendto(reply[:-4] if garbage else reply, addr)


@pytest.mark.parametrize(("garbage", "succeeds"), [(2, True), (3, False)])
def test_garbage_replies_make_the_client_send_the_call_again_twice(
    garbage: int, succeeds: bool
) -> None:
    policy = RetryPolicy(timeo=60, retrans=0)  # no timer retransmission within the test

    async def scenario() -> tuple[BaseException | None, list[bytes]]:
        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(
            lambda: GarbageFirst(garbage), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            client = await RpcSocketClient.connect("127.0.0.1", port, "udp", policy=policy)
            async with client:
                call = client.call(NULL, None)
                error = (await asyncio.gather(asyncio.wait_for(call, 10), return_exceptions=True))[
                    0
                ]
            return (error if isinstance(error, BaseException) else None), server.copies
        finally:
            transport.close()

    error, copies = asyncio.run(scenario())
    assert len(copies) == 3 and len(set(copies)) == 1  # the same call (same XID), 3 times
    if succeeds:
        assert error is None
    else:
        assert isinstance(error, RpcGarbageReply), error


def test_soft_tcp_call_nobody_answers_times_out() -> None:
    policy = RetryPolicy(timeo=0.01, retrans=1, backoff="linear")
    with free_port(socket.SOCK_STREAM) as silent:
        silent.listen()
        port = silent.getsockname()[1]

        async def scenario() -> None:
            client = await RpcSocketClient.connect("127.0.0.1", port, "tcp", policy=policy)
            async with client:
                await client.call(NULL, None)

        with pytest.raises(RpcTimeout) as raised:
            asyncio.run(scenario())
    assert raised.value.attempts == 2


def test_a_cancelled_call_leaves_nothing_pending() -> None:
    with free_port(socket.SOCK_DGRAM) as silent:
        port = silent.getsockname()[1]

        async def scenario() -> int:
            client = await RpcSocketClient.connect("127.0.0.1", port, "udp")
            async with client:
                task = asyncio.ensure_future(client.call(NULL, None))
                await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return client.engine.pending

        assert asyncio.run(scenario()) == 0


def test_closing_the_client_fails_its_pending_calls() -> None:
    with free_port(socket.SOCK_DGRAM) as silent:
        port = silent.getsockname()[1]

        async def scenario() -> None:
            client = await RpcSocketClient.connect("127.0.0.1", port, "udp")
            task = asyncio.ensure_future(client.call(NULL, None))
            await asyncio.sleep(0)
            await client.close()
            await task

        with pytest.raises(RpcConnectionError, match="was closed"):
            asyncio.run(scenario())


def test_threaded_server_serves_a_client_on_another_loop() -> None:
    service = CounterService()
    with ThreadedServer(counter_server(service)) as threaded:

        async def scenario() -> int:
            client = await RpcSocketClient.connect("127.0.0.1", threaded.port, "udp")
            async with client:
                return await COUNTER_V1_Client(client).COUNTERPROC_INCREMENT(9)

        assert asyncio.run(scenario()) == 9
    assert service.value == 9
