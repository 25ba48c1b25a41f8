"""The UDP proxy on real sockets: one upstream socket per client, reordering, bounded holding,
and the threaded wrapper for blocking callers."""

from __future__ import annotations

import asyncio
import socket

import pytest

from faults.proxy.steering import DELAY, DROP, REORDER, Rule
from faults.proxy.threaded import ThreadedProxy
from faults.proxy.udp import UdpProxy
from faults.sim.trace import Kind, Trace
from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.server import RpcServer
from tests.proxy.helpers import counter_and_proxy, increment_call, reply_xid


def udp_proxy(proxy: object) -> UdpProxy:
    assert isinstance(proxy, UdpProxy)
    return proxy


async def open_client(proxy: UdpProxy) -> tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]:
    """A datagram endpoint connected to the proxy, and the queue its replies land in."""
    replies: asyncio.Queue[bytes] = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
            replies.put_nowait(data)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Client, remote_addr=proxy.address
    )
    return transport, replies


async def next_xids(replies: asyncio.Queue[bytes], count: int) -> list[int]:
    async with asyncio.timeout(20):
        return [reply_xid(await replies.get()) for _ in range(count)]


def test_each_client_address_has_its_own_upstream_socket_for_as_long_as_it_is_used() -> None:
    async def scenario() -> None:
        async with counter_and_proxy("udp", max_clients=2) as (service, _, any_proxy):
            proxy = udp_proxy(any_proxy)
            clients = [await open_client(proxy) for _ in range(3)]
            for xid, (transport, replies) in enumerate(clients[:2], start=1):
                transport.sendto(increment_call(xid))
                assert await next_xids(replies, 1) == [xid]
                transport.sendto(increment_call(xid))  # a retransmission
                assert await next_xids(replies, 1) == [xid]
            # two client addresses, two server-side addresses; the cache saw each twice
            assert len({client for client, _ in service.executions}) == 2
            assert sorted(service.executions.values()) == [1, 1]
            transport, replies = clients[2]
            transport.sendto(increment_call(3))
            assert await next_xids(replies, 1) == [3]
            assert proxy.clients == 2  # the least recently used one was let go
            for transport, _ in clients:
                transport.close()

    asyncio.run(scenario())


def test_a_reordered_datagram_is_overtaken_and_a_delayed_one_arrives_late() -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_and_proxy("udp", trace=trace) as (_, _, any_proxy):
            proxy = udp_proxy(any_proxy)
            proxy.steer(Rule(REORDER, xid=1, delay=0.4))
            proxy.steer(Rule(DELAY, direction="reply", xid=3, delay=0.1))
            transport, replies = await open_client(proxy)
            for xid in (1, 2, 3, 4):
                transport.sendto(increment_call(xid))
            assert await next_xids(replies, 4) == [2, 4, 3, 1]
            transport.close()
        kinds = {event.note: event.kind for event in trace if event.kind != Kind.SEND}
        assert kinds["call COUNTERPROC_INCREMENT xid=1 +0.4s [steered]"] == Kind.REORDER
        assert kinds["reply COUNTERPROC_INCREMENT xid=3 +0.1s [steered]"] == Kind.DELAY

    asyncio.run(scenario())


def test_copies_beyond_max_held_are_lost_and_traced() -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_and_proxy("udp", trace=trace, max_held=0) as (service, _, proxy):
            proxy.steer(Rule(DELAY, xid=1))
            transport, replies = await open_client(udp_proxy(proxy))
            transport.sendto(increment_call(1))
            transport.sendto(increment_call(2))
            assert await next_xids(replies, 1) == [2]
            transport.close()
        assert service.value == 1
        lost = [event.note for event in trace if event.kind == Kind.LOST]
        assert lost == ["call COUNTERPROC_INCREMENT xid=1 proxy buffer full"]

    asyncio.run(scenario())


def test_a_threaded_proxy_serves_blocking_callers_and_takes_rules_from_their_thread() -> None:
    service = CounterService()
    sockets = RpcSocketServer(RpcServer([service], DuplicateRequestCache()), udp=True, tcp=False)
    with ThreadedServer(sockets) as server:
        proxy = UdpProxy(("127.0.0.1", server.port))
        with (
            ThreadedProxy(proxy) as running,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        ):
            sock.settimeout(20)
            sock.connect(running.address)
            steering = running.steer(Rule(DROP, direction="reply"))
            sock.send(increment_call(1))
            running.wait_steered(steering)
            sock.send(increment_call(1))  # the retransmission: answered from the cache
            assert reply_xid(sock.recv(65536)) == 1
            assert running.call(lambda: proxy.stats.messages_from_servers) == 2
    assert service.value == 1


def test_a_proxy_started_on_a_port_in_use_raises_in_the_caller() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        proxy = UdpProxy(("127.0.0.1", 9), listen=taken.getsockname())
        with pytest.raises(OSError, match="in use"), ThreadedProxy(proxy):
            pass
