"""The port mapper v2 (RFC 1833) over real sockets: SET, GETPORT, UNSET, DUMP, CALLIT."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from reference.rpc import message as msg
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.aio_server import RpcSocketServer
from reference.rpc.errors import RpcAcceptError
from reference.rpc.portmap import PortmapService, getport, register
from reference.rpc.server import RpcServer
from reference.xdr.gen.portmap import (
    IPPROTO_TCP,
    IPPROTO_UDP,
    PMAP_VERS_Client,
    call_args,
    mapping,
    pmaplist,
)

TRANSPORTS = ["tcp", "udp"]
PROG = 0x20000101


def run_with_portmapper(
    transport: str, scenario: Callable[[RpcSocketClient], Awaitable[None]]
) -> None:
    """Run `scenario(client)` against a fresh portmapper reached over `transport`."""

    async def main() -> None:
        async with RpcSocketServer(RpcServer([PortmapService()])) as sockets:
            client = await RpcSocketClient.connect("127.0.0.1", sockets.port, transport)
            async with client:
                await scenario(client)

    asyncio.run(main())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_set_getport_dump_unset_round_trip(transport: str) -> None:
    async def scenario(client: RpcSocketClient) -> None:
        portmap = PMAP_VERS_Client(client)
        await portmap.PMAPPROC_NULL()
        assert await register(client, PROG, 1, IPPROTO_TCP, 2049)
        assert await register(client, PROG, 1, IPPROTO_UDP, 2050)
        assert await register(client, PROG, 2, IPPROTO_TCP, 2051)
        assert await getport(client, PROG, 1, IPPROTO_TCP) == 2049
        assert await getport(client, PROG, 1, IPPROTO_UDP) == 2050
        assert await getport(client, PROG, 3, IPPROTO_TCP) == 0
        assert await portmap.PMAPPROC_DUMP() == [
            pmaplist(mapping(PROG, 1, IPPROTO_TCP, 2049)),
            pmaplist(mapping(PROG, 1, IPPROTO_UDP, 2050)),
            pmaplist(mapping(PROG, 2, IPPROTO_TCP, 2051)),
        ]
        assert await portmap.PMAPPROC_UNSET(mapping(PROG, 1, 0, 0))
        assert await getport(client, PROG, 1, IPPROTO_TCP) == 0
        assert await getport(client, PROG, 1, IPPROTO_UDP) == 0
        assert await portmap.PMAPPROC_DUMP() == [pmaplist(mapping(PROG, 2, IPPROTO_TCP, 2051))]
        assert not await portmap.PMAPPROC_UNSET(mapping(PROG, 1, 0, 0))

    run_with_portmapper(transport, scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_set_refuses_an_already_mapped_key(transport: str) -> None:
    async def scenario(client: RpcSocketClient) -> None:
        assert await register(client, PROG, 1, IPPROTO_TCP, 2049)
        assert not await register(client, PROG, 1, IPPROTO_TCP, 2049)
        assert not await register(client, PROG, 1, IPPROTO_TCP, 3000)
        assert await getport(client, PROG, 1, IPPROTO_TCP) == 2049

    run_with_portmapper(transport, scenario)


def test_dump_of_an_empty_portmapper_is_an_empty_list() -> None:
    async def scenario(client: RpcSocketClient) -> None:
        assert await PMAP_VERS_Client(client).PMAPPROC_DUMP() == []

    run_with_portmapper("udp", scenario)


def test_callit_is_not_supported() -> None:
    async def scenario(client: RpcSocketClient) -> None:
        await PMAP_VERS_Client(client).PMAPPROC_CALLIT(call_args(PROG, 1, 0, b""))

    with pytest.raises(RpcAcceptError) as raised:
        run_with_portmapper("udp", scenario)
    assert raised.value.stat == msg.PROC_UNAVAIL
