"""Stream faults (Toxiproxy): sliced, slowed and cut streams still complete calls.

Stream faults from the real Toxiproxy between the reference client and `nfsprop serve`: a
slicer cutting both directions into segments of a few bytes changes nothing (a 256 KiB
FILE_SYNC WRITE reads back byte for byte and many calls in flight are each answered
correctly); latency and jitter beyond the client's timeo make it retransmit, and the
server's duplicate request cache answers the retransmitted REMOVE with the first reply
(NFS3_OK) without running it again (a file re-created meanwhile survives; without the cache
it is removed); reset_peer and limit_data cutting a connection make the client reconnect and
resend, and the call completes — but Toxiproxy dials the server from a new port on every
connection, so a REMOVE whose reply was cut is run again on the new connection and answers
NOENT: a limit of any stream proxy that does not keep the client's port (our own TCP proxy
with sticky ports, tests/proxy/test_nfs.py, shows the cache answering then); a black hole
(timeout 0) makes a soft client give up with RpcTimeout and a hard client complete once the
toxic is gone; a disabled proxy makes calls fail, and once enabled a hard client completes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from toxiproxy import Proxy

from properties.harness.findings import check
from properties.nfs3.calls import ClientStubs, create, mkdir, mount_root, read, write
from properties.peers.ports import LOOPBACK, free_port
from properties.peers.reference_server import ServerProcess, running_server
from properties.peers.toxiproxy import Stream, ToxiproxyServer, listen_port
from reference.nfs.server_main import MAX_RECORD
from reference.rpc.aio_client import RpcConnectionError, RpcSocketClient
from reference.rpc.client import RetryPolicy
from reference.rpc.errors import RpcTimeout
from reference.rpc.stubs import AuthSys
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_NOENT, diropargs3, nfs_fh3, stable_how

T = TypeVar("T")

ROOT = AuthSys(0, b"nfsprop-toxiproxy-test", 0, 0)
SCENARIO_TIMEOUT = 30.0  # every scenario, and so every await in it, ends within this
POLL_INTERVAL = 0.01
WAIT_TIMEOUT = 10.0  # for one awaited event inside a scenario
# A client that does not retransmit during a test unless a test wants it to.
PATIENT = RetryPolicy(timeo=30.0, retrans=2, hard=True, max_timeo=30.0, backoff="linear")
# A hard client that retransmits often, for toxics that delay or swallow replies.
EAGER = RetryPolicy(timeo=0.2, retrans=2, hard=True, max_timeo=0.5, backoff="linear")
SOFT = RetryPolicy(timeo=0.1, retrans=2, hard=False, max_timeo=0.2, backoff="linear")
TCP_ESTABLISHED = "01"
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
_names = itertools.count()


@pytest.fixture(scope="session")
def toxi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    """The real toxiproxy-server; its absence fails (PeerNotInstalled names
    `bash scripts/bootstrap`), it never skips."""
    with ToxiproxyServer(tmp_path_factory.mktemp("toxiproxy")) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("served")) as process:
        yield process


@pytest.fixture(scope="module")
def server_without_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("served-no-drc"), drc=False) as process:
        yield process


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run a scenario on a fresh event loop, bounded by SCENARIO_TIMEOUT."""
    return asyncio.run(asyncio.wait_for(scenario, SCENARIO_TIMEOUT))


def unique_name(prefix: str) -> bytes:
    return f"{prefix}-{next(_names)}".encode()


@asynccontextmanager
async def proxied(toxi: ToxiproxyServer, server: ServerProcess) -> AsyncIterator[Proxy]:
    """A Toxiproxy proxy of its own on a free port in front of `server`'s NFS port."""
    name = unique_name("nfs").decode()
    proxy = await asyncio.to_thread(toxi.create_proxy, name, free_port(), (LOOPBACK, server.port))
    try:
        yield proxy
    finally:
        await asyncio.to_thread(toxi.destroy, proxy)


async def connect(
    port: int, policy: RetryPolicy, reconnect_attempts: int = 5, reconnect_delay: float = 0.05
) -> ClientStubs:
    """NFSv3 and MOUNT stubs over one TCP client of 127.0.0.1:`port`, as root."""
    client = await RpcSocketClient.connect(
        LOOPBACK,
        port,
        "tcp",
        policy=policy,
        credential=ROOT,
        reconnect_attempts=reconnect_attempts,
        reconnect_delay=reconnect_delay,
        max_record=MAX_RECORD,
    )
    return ClientStubs(client)


async def add_toxic(
    toxi: ToxiproxyServer,
    proxy: Proxy,
    type: str,
    stream: Stream,
    attributes: dict[str, int],
) -> str:
    return await asyncio.to_thread(toxi.add_toxic, proxy, type, stream, attributes)


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition()` until it is true; fail naming `what` after WAIT_TIMEOUT seconds."""
    try:
        async with asyncio.timeout(WAIT_TIMEOUT):
            while not condition():
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        raise AssertionError(f"no {what} within {WAIT_TIMEOUT} s") from None


def remove_args(directory: bytes, name: bytes) -> nfs3.REMOVE3args:
    return nfs3.REMOVE3args(diropargs3(nfs_fh3(directory), name))


async def lookup_status(stubs: ClientStubs, directory: bytes, name: bytes) -> nfs3.nfsstat3:
    found = await stubs.nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(diropargs3(nfs_fh3(directory), name)))
    return found.status


async def getattr_status(stubs: ClientStubs, handle: bytes) -> nfs3.nfsstat3:
    got = await stubs.nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(nfs_fh3(handle)))
    return got.status


@dataclass(frozen=True, slots=True)
class Workspace:
    """A directory of the test's own on the server, made by a direct (unproxied) client."""

    direct: ClientStubs
    directory: bytes


@asynccontextmanager
async def workspace(server: ServerProcess) -> AsyncIterator[Workspace]:
    direct = await connect(server.port, PATIENT)
    async with direct.client:
        root = await mount_root(direct)
        directory = await mkdir(direct, root, unique_name("test"))
        yield Workspace(direct, directory)


# -- slicer: record marking over a stream cut into a few bytes at a time

BIG = (bytes(range(251)) * (256 * 1024 // 251 + 1))[: 256 * 1024]
IN_FLIGHT = 64
PIECE = 256
STREAMS: tuple[Stream, Stream] = ("upstream", "downstream")


def slicer(delay_us: int) -> dict[str, int]:
    """Segments of 1 to 7 bytes, `delay_us` microseconds apart. (Go sleeps far longer than
    a few microseconds, so the 256 KiB transfer, some 130,000 segments, gets no delay.)"""
    return {"average_size": 4, "size_variation": 3, "delay": delay_us}


async def sliced_client(toxi: ToxiproxyServer, proxy: Proxy, delay_us: int) -> ClientStubs:
    for stream in STREAMS:
        await add_toxic(toxi, proxy, "slicer", stream, slicer(delay_us))
    return await connect(listen_port(proxy), PATIENT)


@check(
    "TOXI-SLICER-LARGE",
    "a 256 KiB WRITE and READ stay whole through a slicing proxy",
    "RFC 5531 §11",
)
def test_slicer_keeps_a_256_kib_write_and_read_whole(
    toxi: ToxiproxyServer, server: ServerProcess
) -> None:
    async def scenario() -> tuple[bytes, int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            stubs = await sliced_client(toxi, proxy, delay_us=0)
            async with stubs.client:
                handle = await create(stubs, space.directory, b"big")
                written = await write(stubs, handle, 0, BIG, stable_how.FILE_SYNC)
                assert written.committed == stable_how.FILE_SYNC
                data = await read(stubs, handle, 0, len(BIG))
                return data, stubs.client.engine.stats.retransmissions

    data, retransmissions = run(scenario())
    assert data == BIG
    assert retransmissions == 0  # every record came through whole the first time


@check(
    "TOXI-SLICER-MANY", "many calls in flight stay apart through a slicing proxy", "RFC 5531 §11"
)
def test_slicer_keeps_many_calls_in_flight_apart(
    toxi: ToxiproxyServer, server: ServerProcess
) -> None:
    async def scenario() -> tuple[list[bytes], int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            handle = await create(space.direct, space.directory, b"pieces")
            await write(space.direct, handle, 0, BIG[: IN_FLIGHT * PIECE], stable_how.FILE_SYNC)
            stubs = await sliced_client(toxi, proxy, delay_us=20)
            async with stubs.client:
                pieces = await asyncio.gather(
                    *(read(stubs, handle, i * PIECE, PIECE) for i in range(IN_FLIGHT))
                )
                return list(pieces), stubs.client.engine.stats.retransmissions

    pieces, retransmissions = run(scenario())
    assert pieces == [BIG[i * PIECE : (i + 1) * PIECE] for i in range(IN_FLIGHT)]
    assert retransmissions == 0


# -- latency and jitter: retransmissions and the duplicate request cache

LATENCY = {"latency": 1500, "jitter": 300}  # ms, downstream: replies come 1.2 to 1.8 s late


@dataclass(frozen=True, slots=True)
class SlowRemove:
    status: nfs3.nfsstat3  # what the REMOVE through the slow proxy answered
    retransmissions: int  # how often the client sent it again
    after_recreate: int  # of those, sent after the file had been made again
    recreated_survived: bool  # the file made again meanwhile is still there at the end


@check("TOXI-LATENCY", "latency beyond timeo retransmits and the cache answers", "RFC 1813 §4.5")
@pytest.mark.parametrize("drc", [True, False], ids=["drc", "no-drc"])
def test_latency_beyond_timeo_retransmits_and_the_cache_answers(
    toxi: ToxiproxyServer, request: pytest.FixtureRequest, drc: bool
) -> None:
    """REMOVE's replies are delayed well past timeo, so the client sends it again while the
    first reply is on its way. Meanwhile a direct client makes the file again: a
    retransmission that ran REMOVE again would remove that new file."""
    served: ServerProcess = request.getfixturevalue("server" if drc else "server_without_cache")

    async def scenario() -> SlowRemove:
        async with workspace(served) as space, proxied(toxi, served) as proxy:
            name = b"victim"
            await create(space.direct, space.directory, name)
            stubs = await connect(listen_port(proxy), EAGER)
            async with stubs.client:
                await add_toxic(toxi, proxy, "latency", "downstream", LATENCY)
                stats = stubs.client.engine.stats
                removing = asyncio.create_task(
                    stubs.nfs.NFSPROC3_REMOVE(remove_args(space.directory, name))
                )
                async with asyncio.timeout(WAIT_TIMEOUT):  # until the first REMOVE has run
                    while await lookup_status(space.direct, space.directory, name) == NFS3_OK:
                        await asyncio.sleep(POLL_INTERVAL)
                await create(space.direct, space.directory, name)
                recreated_at = stats.retransmissions
                await wait_for(lambda: stats.retransmissions > recreated_at, "a retransmission")
                removed = await removing
                # One more call on the same connection: once it is answered, the server has
                # handled every retransmission sent before it (a connection's calls are
                # answered in order).
                assert await getattr_status(stubs, space.directory) == NFS3_OK
                survived = await lookup_status(space.direct, space.directory, name) == NFS3_OK
                return SlowRemove(
                    removed.status,
                    stats.retransmissions,
                    stats.retransmissions - recreated_at,
                    survived,
                )

    outcome = run(scenario())
    assert outcome.retransmissions > 0 and outcome.after_recreate > 0
    assert outcome.status == NFS3_OK  # the first reply, from the first (and only) run
    assert outcome.recreated_survived == drc  # without the cache REMOVE ran again


# -- reset_peer and limit_data: a connection cut mid-record, reconnect, resend


@dataclass(frozen=True, slots=True)
class Cut:
    type: str
    stream: Stream
    attributes: dict[str, int]
    expected: nfs3.nfsstat3


CUTS = {
    # The call is cut after 40 of its ~130 bytes: the server never has it whole, so the
    # resent call is its first and only run.
    "limit_data-call": Cut("limit_data", "upstream", {"bytes": 40}, NFS3_OK),
    # The reply is cut after 10 bytes: REMOVE has run. The resent call comes on a new
    # connection, which Toxiproxy dials from a new port: to the server a new client, so
    # the cache cannot match it, REMOVE runs again and answers NOENT.
    "limit_data-reply": Cut("limit_data", "downstream", {"bytes": 10}, NFS3ERR_NOENT),
    # reset_peer swallows what comes next and resets both connections.
    "reset_peer-call": Cut("reset_peer", "upstream", {"timeout": 0}, NFS3_OK),
    "reset_peer-reply": Cut("reset_peer", "downstream", {"timeout": 0}, NFS3ERR_NOENT),
}


def ports_connected_to(port: int) -> set[int]:
    """The local ports of the established IPv4 TCP connections to 127.0.0.1:`port` on
    this machine (from /proc/net/tcp): how the server sees its clients."""
    ports: set[int] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if state == TCP_ESTABLISHED and remote == f"{LOOPBACK_HEX}:{port:04X}":
            ports.add(int(local.split(":")[1], 16))
    return ports


@dataclass(frozen=True, slots=True)
class Resent:
    status: nfs3.nfsstat3
    reconnects: int
    gone: nfs3.nfsstat3  # LOOKUP of the removed name afterwards
    new_ports: set[int]  # ports the server sees a client on now, and did not before
    old_ports: set[int]  # ports it saw a client on before, and does not now


@check("TOXI-CUT", "a cut connection is reconnected and the call resent", "RFC 5531 §11")
@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_a_cut_connection_is_reconnected_and_the_call_resent(
    toxi: ToxiproxyServer, server: ServerProcess, cut: Cut
) -> None:
    async def scenario() -> Resent:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            name = b"victim"
            await create(space.direct, space.directory, name)
            stubs = await connect(listen_port(proxy), PATIENT)
            async with stubs.client:
                # A call through the proxy first: then Toxiproxy's own connection is up.
                assert await getattr_status(stubs, space.directory) == NFS3_OK
                before = ports_connected_to(server.port)
                toxic = await add_toxic(toxi, proxy, cut.type, cut.stream, cut.attributes)
                removing = asyncio.create_task(
                    stubs.nfs.NFSPROC3_REMOVE(remove_args(space.directory, name))
                )
                await wait_for(lambda: stubs.client.reconnects >= 1, "reconnection")
                await asyncio.to_thread(toxi.remove_toxic, proxy, toxic)
                removed = await removing
                after = ports_connected_to(server.port)
                gone = await lookup_status(space.direct, space.directory, name)
                return Resent(
                    removed.status, stubs.client.reconnects, gone, after - before, before - after
                )

    resent = run(scenario())
    assert resent.reconnects >= 1
    assert resent.gone == NFS3ERR_NOENT  # removed, whatever the reply said
    assert resent.status == cut.expected
    # Why the cache cannot help: the server's client is Toxiproxy, and it came back from
    # another port (the reference client itself reconnects from its old port).
    assert len(resent.new_ports) == 1 and len(resent.old_ports) == 1


# -- timeout 0: a black hole

BLACK_HOLE = {"timeout": 0}  # swallow everything, never close


@check("TOXI-BLACK-HOLE-SOFT", "a black hole times a soft client out", "RFC 1813 §4.10")
@pytest.mark.parametrize("stream", STREAMS)
def test_a_black_hole_times_a_soft_client_out(
    toxi: ToxiproxyServer, server: ServerProcess, stream: Stream
) -> None:
    async def scenario() -> tuple[BaseException | nfs3.nfsstat3, int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            stubs = await connect(listen_port(proxy), SOFT)
            async with stubs.client:
                await add_toxic(toxi, proxy, "timeout", stream, BLACK_HOLE)
                try:
                    outcome: BaseException | nfs3.nfsstat3 = await getattr_status(
                        stubs, space.directory
                    )
                except RpcTimeout as error:
                    outcome = error
                return outcome, stubs.client.engine.stats.retransmissions

    outcome, retransmissions = run(scenario())
    assert isinstance(outcome, RpcTimeout)
    assert retransmissions == SOFT.retrans


@check("TOXI-BLACK-HOLE-HARD", "a hard client recovers when the black hole goes", "RFC 1813 §4.10")
@pytest.mark.parametrize("stream", STREAMS)
def test_a_hard_client_recovers_when_the_black_hole_goes(
    toxi: ToxiproxyServer, server: ServerProcess, stream: Stream
) -> None:
    async def scenario() -> tuple[nfs3.nfsstat3, int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            stubs = await connect(listen_port(proxy), EAGER)
            async with stubs.client:
                toxic = await add_toxic(toxi, proxy, "timeout", stream, BLACK_HOLE)
                calling = asyncio.create_task(getattr_status(stubs, space.directory))
                stats = stubs.client.engine.stats
                await wait_for(lambda: stats.retransmissions >= 1, "a retransmission")
                assert not calling.done()
                await asyncio.to_thread(toxi.remove_toxic, proxy, toxic)
                return await calling, stats.retransmissions

    status, retransmissions = run(scenario())
    assert status == NFS3_OK
    assert retransmissions >= 1


# -- down and up


@check("TOXI-DISABLED", "a disabled proxy fails calls; enabled, it serves again", "RFC 5531 §11")
def test_a_disabled_proxy_fails_calls_and_an_enabled_one_serves_again(
    toxi: ToxiproxyServer, server: ServerProcess
) -> None:
    """Down: the connection is dropped and new ones are refused, so the client's reconnect
    attempts run out and the call fails. Up: the same client's next call reconnects."""

    async def scenario() -> tuple[BaseException | None, nfs3.nfsstat3, int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            stubs = await connect(listen_port(proxy), EAGER, reconnect_attempts=3)
            async with stubs.client:
                assert await getattr_status(stubs, space.directory) == NFS3_OK
                await asyncio.to_thread(toxi.disable, proxy)
                failure: BaseException | None = None
                try:
                    await getattr_status(stubs, space.directory)
                except RpcConnectionError as error:
                    failure = error
                await asyncio.to_thread(toxi.enable, proxy)
                return (
                    failure,
                    await getattr_status(stubs, space.directory),
                    stubs.client.reconnects,
                )

    failure, status, reconnects = run(scenario())
    assert isinstance(failure, RpcConnectionError)
    assert status == NFS3_OK and reconnects == 1


@check(
    "TOXI-DOWN-HARD",
    "a hard client stalls while the proxy is down, then completes",
    "RFC 1813 §4.10",
)
def test_a_hard_client_stalls_while_the_proxy_is_down_and_completes_when_it_is_up(
    toxi: ToxiproxyServer, server: ServerProcess
) -> None:
    async def scenario() -> tuple[nfs3.nfsstat3, int, int]:
        async with workspace(server) as space, proxied(toxi, server) as proxy:
            stubs = await connect(listen_port(proxy), EAGER, reconnect_attempts=20)
            async with stubs.client:
                assert await getattr_status(stubs, space.directory) == NFS3_OK
                await asyncio.to_thread(toxi.disable, proxy)
                calling = asyncio.create_task(getattr_status(stubs, space.directory))
                stats = stubs.client.engine.stats
                await wait_for(lambda: stats.retransmissions >= 1, "a retransmission")
                assert not calling.done() and stubs.client.reconnects == 0
                await asyncio.to_thread(toxi.enable, proxy)
                return await calling, stubs.client.reconnects, stats.retransmissions

    status, reconnects, retransmissions = run(scenario())
    assert status == NFS3_OK
    assert reconnects == 1 and retransmissions >= 1
