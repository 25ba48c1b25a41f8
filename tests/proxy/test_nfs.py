"""The reference NFS server (`nfsprop serve`, a real process) behind each proxy: the reply to a
REMOVE is dropped, the client retransmits, and the server's duplicate request cache answers
NFS3_OK — not NOENT, which is what a server without the cache answers, having removed the
file the first time. Over TCP the retransmission comes on a new connection after a reset,
from the client's old port; the proxy's sticky upstream port is what lets the cache see the
same client again."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from faults.proxy.messages import CALL, REPLY
from faults.proxy.steering import DROP, Rule
from faults.proxy.tcp import TcpProxy
from faults.sim.trace import Kind, Trace
from properties.nfs3.calls import ClientStubs, create, mount_root
from properties.peers.reference_server import ServerProcess, running_server
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.client import RetryPolicy
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_NOENT,
    NFS_PROGRAM,
    NFSPROC3_REMOVE,
    REMOVE3args,
    diropargs3,
    nfs_fh3,
    nfsstat3,
)
from tests.proxy.helpers import FAST_RETRY, TRANSPORTS, make_proxy

ROOT = AuthSys(0, b"nfsprop-proxy-test", 0, 0)
# TCP clients that never retransmit on their own during a test: only a reconnect resends.
PATIENT = RetryPolicy(timeo=60.0, retrans=2, max_timeo=60.0, backoff="linear")
_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("served")) as process:
        yield process


@pytest.fixture(scope="module")
def server_without_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("served-no-drc"), drc=False) as process:
        yield process


def unique_name() -> bytes:
    return b"victim-%d" % next(_names)


async def remove_with_reply_dropped(
    server: ServerProcess, transport: str, trace: Trace
) -> nfsstat3:
    """Create a file through the proxy, then REMOVE it with its first reply dropped."""
    async with make_proxy(transport, ("127.0.0.1", server.port), trace=trace) as proxy:
        client = await RpcSocketClient.connect(
            "127.0.0.1", proxy.port, transport, policy=FAST_RETRY, credential=ROOT
        )
        async with client:
            stubs = ClientStubs(client)
            root = await mount_root(stubs)
            name = unique_name()
            await create(stubs, root, name)
            steering = proxy.steer(
                Rule(DROP, direction=REPLY, program=NFS_PROGRAM, procedure=NFSPROC3_REMOVE)
            )
            removed = await stubs.nfs.NFSPROC3_REMOVE(REMOVE3args(diropargs3(nfs_fh3(root), name)))
            assert steering.matched == 1
            return removed.status


def remove_sends(trace: Trace) -> list[str]:
    return [e.note for e in trace if e.kind == Kind.SEND and "NFSPROC3_REMOVE" in e.note]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_cache_answers_a_retransmitted_remove_whose_reply_was_dropped(
    server: ServerProcess, transport: str
) -> None:
    trace = Trace()
    assert asyncio.run(remove_with_reply_dropped(server, transport, trace)) == NFS3_OK
    sends = remove_sends(trace)
    # call, (dropped) reply, the same call again, its reply: one XID throughout
    assert [note.split()[0] for note in sends] == [CALL, REPLY, CALL, REPLY]
    assert len({note.split()[-1] for note in sends}) == 1


def test_without_the_cache_the_retransmitted_remove_runs_again(
    server_without_cache: ServerProcess,
) -> None:
    trace = Trace()
    status = asyncio.run(remove_with_reply_dropped(server_without_cache, "udp", trace))
    assert status == NFS3ERR_NOENT


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky-port", "fresh-port"])
def test_a_remove_resent_after_a_reconnect_from_the_same_port(
    server: ServerProcess, sticky: bool
) -> None:
    """With sticky ports the server sees the same client and replays REMOVE's reply; with a
    fresh upstream port it sees a new client, runs REMOVE again and answers NOENT (what any
    proxy that does not keep the port causes, and what Ganesha does after a reconnect from
    a new port)."""

    async def scenario() -> tuple[nfsstat3, list[int]]:
        trace = Trace()
        target = ("127.0.0.1", server.port)
        async with TcpProxy(target, trace=trace, sticky_ports=sticky) as proxy:
            client = await RpcSocketClient.connect(
                "127.0.0.1", proxy.port, "tcp", policy=PATIENT, credential=ROOT
            )
            async with client:
                stubs = ClientStubs(client)
                root = await mount_root(stubs)
                name = unique_name()
                await create(stubs, root, name)
                steering = proxy.steer(Rule(DROP, direction=REPLY, procedure=NFSPROC3_REMOVE))
                args = REMOVE3args(diropargs3(nfs_fh3(root), name))
                removing = asyncio.create_task(stubs.nfs.NFSPROC3_REMOVE(args))
                await proxy.wait_steered(steering)
                assert proxy.reset_connections() == 1  # the client reconnects and resends
                async with asyncio.timeout(30):
                    removed = await removing
                assert client.reconnects == 1
        upstream_ports = [event.src_port for event in trace if event.kind == Kind.CONNECT]
        return removed.status, upstream_ports

    status, upstream_ports = asyncio.run(scenario())
    assert len(upstream_ports) == 2
    if sticky:
        assert status == NFS3_OK
        assert upstream_ports[0] == upstream_ports[1]
    else:
        assert status == NFS3ERR_NOENT
        assert upstream_ports[0] != upstream_ports[1]
