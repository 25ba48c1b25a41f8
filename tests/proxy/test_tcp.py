"""The RPC-record-aware TCP proxy on real sockets: record reassembly however the bytes come,
order under delay and reorder, closing, oversized records, bounded holding, sticky ports."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from faults.proxy.steering import DELAY, REORDER, Action, Rule
from faults.proxy.tcp import TcpProxy
from faults.sim.trace import Kind, Trace
from reference.rpc.record import RecordReader, frame, frame_fragments
from tests.proxy.helpers import counter_and_proxy, counter_behind_proxy, increment_call, reply_xid
from tests.proxy.helpers import until as wait_until

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(proxy: TcpProxy) -> Streams:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def read_replies(reader: asyncio.StreamReader, count: int) -> list[int]:
    """The XIDs of the next `count` reply records."""
    records = RecordReader()
    xids: list[int] = []
    async with asyncio.timeout(20):
        while len(xids) < count:
            data = await reader.read(65536)
            assert data, f"the proxy closed the connection after {len(xids)} replies"
            xids += [reply_xid(record) for record in records.feed(data)]
    return xids


def received(proxy: TcpProxy, size: int) -> bool:
    return proxy.stats.bytes_from_clients == size


def tcp_proxy(proxy: object) -> TcpProxy:
    assert isinstance(proxy, TcpProxy)
    return proxy


def test_records_cut_into_single_bytes_and_fragments_are_reassembled() -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_and_proxy("tcp", trace=trace) as (service, _, any_proxy):
            proxy = tcp_proxy(any_proxy)
            reader, writer = await connect(proxy)
            record = increment_call(7, 5)
            stream = frame_fragments(record, [3, 0, len(record) - 3])  # three fragments
            for sent in range(1, len(stream) + 1):
                writer.write(stream[sent - 1 : sent])
                await writer.drain()
                # each byte reaches the proxy on its own before the next is sent
                await wait_until(partial(received, proxy, sent))
            assert await read_replies(reader, 1) == [7]
            writer.close()
        assert service.value == 5
        sends = [event for event in trace if event.kind == Kind.SEND]
        assert [(event.size, event.note) for event in sends] == [
            (len(record), "call COUNTERPROC_INCREMENT xid=7"),
            (32, "reply COUNTERPROC_INCREMENT xid=7"),
        ]

    asyncio.run(scenario())


def test_many_records_in_one_segment_are_each_a_message() -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_and_proxy("tcp", trace=trace) as (service, _, any_proxy):
            proxy = tcp_proxy(any_proxy)
            reader, writer = await connect(proxy)
            xids = list(range(100, 140))
            writer.write(b"".join(frame(increment_call(xid)) for xid in xids))
            assert await read_replies(reader, len(xids)) == xids
            assert proxy.stats.messages_from_clients == len(xids)
            writer.close()
        assert service.value == len(xids)
        call_sends = [e.note for e in trace if e.kind == Kind.SEND and e.note.startswith("call")]
        assert call_sends == [f"call COUNTERPROC_INCREMENT xid={xid}" for xid in xids]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("action", "order"), [(DELAY, [1, 2, 3]), (REORDER, [2, 3, 1])], ids=["delay", "reorder"]
)
def test_a_delayed_record_holds_the_stream_and_a_reordered_one_is_overtaken(
    action: Action, order: list[int]
) -> None:
    async def scenario() -> None:
        async with counter_and_proxy("tcp") as (_, _, proxy):
            proxy.steer(Rule(action, xid=1, delay=0.2))
            reader, writer = await connect(tcp_proxy(proxy))
            writer.write(b"".join(frame(increment_call(xid)) for xid in (1, 2, 3)))
            assert await read_replies(reader, 3) == order
            writer.close()

    asyncio.run(scenario())


def test_holding_more_than_max_held_pauses_the_sender_and_loses_nothing() -> None:
    async def scenario() -> None:
        async with counter_and_proxy("tcp", max_held=100) as (service, _, proxy):
            proxy.steer(Rule(DELAY, direction="call", count=None, delay=0.05))
            reader, writer = await connect(tcp_proxy(proxy))
            xids = list(range(1, 31))
            writer.write(b"".join(frame(increment_call(xid)) for xid in xids))
            assert await read_replies(reader, len(xids)) == xids
            writer.close()
        assert service.value == len(xids)

    asyncio.run(scenario())


def test_a_record_over_max_record_resets_both_sides() -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_and_proxy("tcp", max_record=64, trace=trace) as (_, _, any_proxy):
            proxy = tcp_proxy(any_proxy)
            reader, writer = await connect(proxy)
            assert await _answered(reader, writer, 1)  # the upstream connection exists
            writer.write(frame(increment_call(2) + bytes(100)))
            with pytest.raises(ConnectionResetError):
                async with asyncio.timeout(20):
                    while await reader.read(65536):
                        pass
            await wait_until(lambda: not proxy.links)
        resets = [event.note for event in trace if event.kind == Kind.RESET]
        assert len(resets) == 1 and "64" in resets[0]

    asyncio.run(scenario())


async def _answered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, xid: int) -> bool:
    writer.write(frame(increment_call(xid)))
    return await read_replies(reader, 1) == [xid]


def test_closing_the_client_closes_the_server_side_and_back() -> None:
    async def scenario() -> None:
        ended: list[str] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    if data.endswith(b"close"):
                        writer.close()  # the server ends this connection
                        return
            except ConnectionResetError:  # the proxy resets, freeing its port at once
                pass
            ended.append("server saw the client go")
            writer.close()

        target = await asyncio.start_server(serve, "127.0.0.1", 0)
        async with target, TcpProxy(("127.0.0.1", target.sockets[0].getsockname()[1])) as proxy:
            _, client_writer = await connect(proxy)
            await wait_until(lambda: len(proxy.links) == 1)
            client_writer.close()
            await wait_until(lambda: ended == ["server saw the client go"])
            await wait_until(lambda: not proxy.links)

            reader, writer = await connect(proxy)
            writer.write(frame(b"close"))  # a 5-byte record: the proxy forwards it whole
            async with asyncio.timeout(20):
                assert await reader.read(65536) == b""  # the proxy closed our side too
            writer.close()
            await wait_until(lambda: not proxy.links)

    asyncio.run(scenario())


def test_an_unreachable_target_resets_the_client() -> None:
    async def scenario() -> None:
        with_nothing = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = with_nothing.sockets[0].getsockname()[1]
        with_nothing.close()
        await with_nothing.wait_closed()
        trace = Trace()
        async with TcpProxy(("127.0.0.1", port), trace=trace) as proxy:
            reader, writer = await connect(proxy)
            async with asyncio.timeout(20):
                with pytest.raises(ConnectionResetError):
                    while await reader.read(100):
                        pass
            writer.close()
            await wait_until(lambda: not proxy.links)
        assert [event.kind for event in trace] == [Kind.ACCEPT, Kind.RESET]
        assert "cannot connect to the target" in trace[1].note

    asyncio.run(scenario())


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "fresh-ports"])
def test_a_client_back_from_the_same_port_reaches_the_server_from_the_same_port(
    sticky: bool,
) -> None:
    async def scenario() -> None:
        async with counter_behind_proxy("tcp", sticky_ports=sticky) as stack:
            proxy = tcp_proxy(stack.proxy)
            await stack.counter.COUNTERPROC_INCREMENT(1)
            assert proxy.reset_connections() == 1
            await stack.counter.COUNTERPROC_INCREMENT(1)  # the client reconnects first
            assert stack.client.reconnects == 1
            seen_from = {client for client, _ in stack.service.executions}
            assert len(seen_from) == (1 if sticky else 2)

    asyncio.run(scenario())
