"""Shared pieces of the proxy tests: a proxy of either kind, the counter service behind one,
and a bounded wait for a condition (tests wait on what the proxy saw, never on the clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from faults.proxy.base import ProxyBase
from faults.proxy.tcp import TcpProxy
from faults.proxy.udp import UdpProxy
from reference.rpc import message as msg
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.aio_server import RpcSocketServer
from reference.rpc.auth import encode_credential
from reference.rpc.client import RetryPolicy
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.server import RpcServer
from reference.rpc.stubs import Address, AuthNone
from reference.xdr.gen.counter import COUNTER_V1_PROCEDURES, COUNTER_V1_Client

TRANSPORTS = ["udp", "tcp"]
# Retransmit every 0.25 s, give up after 40 tries: long enough that a loopback reply is
# never late (no spurious retransmission), short enough that a dropped message costs little.
FAST_RETRY = RetryPolicy(timeo=0.25, retrans=40, max_timeo=0.25, backoff="linear")
WAIT = 20.0
INCREMENT = COUNTER_V1_PROCEDURES[1]


def make_proxy(transport: str, target: Address, **options: Any) -> ProxyBase:
    kind = TcpProxy if transport == "tcp" else UdpProxy
    return kind(target, **options)


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Return once `condition()` holds; TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


@dataclass
class CounterStack:
    service: CounterService
    server: RpcSocketServer
    proxy: ProxyBase
    client: RpcSocketClient

    @property
    def counter(self) -> COUNTER_V1_Client:
        return COUNTER_V1_Client(self.client)


@asynccontextmanager
async def counter_and_proxy(
    transport: str, *, drc: bool = True, **proxy_options: Any
) -> AsyncIterator[tuple[CounterService, RpcSocketServer, ProxyBase]]:
    """The counter service (with or without a DRC) and a proxy in front of it."""
    service = CounterService()
    cache = DuplicateRequestCache() if drc else None
    async with RpcSocketServer(RpcServer([service], cache)) as server:
        proxy = make_proxy(transport, ("127.0.0.1", server.port), **proxy_options)
        async with proxy:
            yield service, server, proxy


@asynccontextmanager
async def counter_behind_proxy(
    transport: str,
    *,
    drc: bool = True,
    policy: RetryPolicy = FAST_RETRY,
    first_xid: int = 1,
    **proxy_options: Any,
) -> AsyncIterator[CounterStack]:
    """The counter service behind a proxy, and a client of the proxy."""
    async with counter_and_proxy(transport, drc=drc, **proxy_options) as (service, server, proxy):
        client = await RpcSocketClient.connect(
            "127.0.0.1", proxy.port, transport, policy=policy, first_xid=first_xid
        )
        async with client:
            yield CounterStack(service, server, proxy, client)


def increment_call(xid: int, amount: int = 1) -> bytes:
    """An encoded COUNTERPROC_INCREMENT call (AUTH_NONE)."""
    args = INCREMENT.encode_args(amount)
    credential = encode_credential(AuthNone())
    return msg.encode_call(
        xid, INCREMENT.program, INCREMENT.version, INCREMENT.number, credential, args
    )


def reply_xid(reply: bytes) -> int:
    return msg.parse_reply(reply).xid
