"""A Target over real sockets: any NFSv3 server the suite can reach (the reference
`nfsprop serve`, NFS-Ganesha on 127.0.0.1, somebody else's server given by --target).

Rules:
- The client is the reference RpcSocketClient over TCP with AUTH_SYS `credential` (ROOT,
  uid and gid 0, unless the world says otherwise: --uid/--gid), NFS and MOUNT alike, with a
  hard-mount policy (like the sim target and Linux's default `hard`): a call is retried
  until answered, every HARD_MOUNT.timeo seconds; after a crash it reconnects from the
  same local port when it can and resends with the same XIDs. What bounds a run is
  `run()`'s timeout (RUN_TIMEOUT seconds), never the policy. MOUNT gets its own client
  (`mount_client`) when the server serves it on another port; `client` is NFS's. With a
  `scratch_dir`, `mount_caller` and `caller` are a ScratchMount and a ScratchNfs over
  them (properties/worlds/scratch.py): MNT of the export answers with that directory's
  handle, so it is the root for everything, '..' in it included.
- `proxy` (a fault proxy, not yet started, forwarding to the server) is started on the
  target's loop and carries the caller's calls, MOUNT included when it shares the
  NFS port; being on that loop, it decides (and draws from the fault source) only while
  `run()` drives the loop, in the caller's thread. `close()` closes it. `policy`
  replaces the hard mount's (a proxied target retransmits sooner, so dropped calls cost
  little time). Raw retransmissions (`send_raw`) always go straight to the server.
- `run()` runs a coroutine on the target's private event loop (asyncio.new_event_loop),
  so the target is usable from plain synchronous test code.
- `send_raw()` sends over UDP where the server serves it (its probed `features`), else
  over TCP. UDP: one socket that lives as long as the target, so every copy of a message
  comes from the same address and port, which duplicate request caches key on; a copy is
  resent every RAW_TIMEO seconds until a reply with its XID arrives, at most RAW_ATTEMPTS
  times. TCP: one connection that lives as long as the target (a retransmission on TCP is
  the same record again on the same connection); the message is sent once and its reply
  awaited for RAW_TIMEO * RAW_ATTEMPTS seconds; a connection the server closes is
  opened again for the next message; `reconnect` resets it and opens a new one from the
  same local port (a DRC keys on the client's address and port). XIDs from `next_xid()`
  start at 0x80000000; the stub client's start at 1 (on another connection: no DRC key
  can collide). A SocketRawClient does the raw sending: the target's own, and one per
  `another_client()`, each with a socket (a local port) of its own, on the target's loop
  and capture; `close_other_clients()` (the end of an example of a shared server) and
  `close()` close the others.
- `wire`, while an example holds the target (properties/worlds/shared.py sets it to a
  fresh list and back to None), collects every RPC message the target's clients and raw
  sends exchange with the server (reference/rpc/aio_client.py's WireMessage): the
  example's capture, which a failure writes as a pcap file; a restart of the server is
  in it too, as a message of direction RESTARTED with no bytes (a mark on the chart, no
  packet in the pcap).
- `crash_and_restart()` asks the server control to SIGKILL and restart the server (same
  store, same ports). `close()` closes the clients, then runs the `cleanup` given.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from faults.proxy.base import ProxyBase
from properties.harness import progress
from properties.worlds.options import MACHINE_NAME
from properties.worlds.probe import REFERENCE, Features
from properties.worlds.scratch import ScratchMount, ScratchNfs
from properties.worlds.target import Capabilities, SimulatedOnly
from reference.nfs.server_main import MAX_RECORD
from reference.rpc.aio_client import (
    RESTARTED,
    RpcSocketClient,
    WireMessage,
    reset_on_close,
    seen_on,
)
from reference.rpc.client import RetryPolicy
from reference.rpc.message import REPLY, peek_xid
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import AuthSys, Caller

T = TypeVar("T")

HOST = "127.0.0.1"
HARD_MOUNT = RetryPolicy(timeo=2.0, retrans=2, hard=True, max_timeo=10.0, backoff="linear")
ROOT = AuthSys(0, MACHINE_NAME, 0, 0)
RUN_TIMEOUT = 120.0
# A server may drop a copy that arrives while its original runs (its cache's in-progress
# entry): the copy is resent after RAW_TIMEO (RETRANSMIT in ganesha, two busy cores: 30 s
# at 0.5, 17 s at 0.1).
RAW_TIMEO = 0.1
RAW_ATTEMPTS = 100  # 10 s in all
# `reconnect` binds the raw connection's old local port again; a busy machine may not
# have freed it yet (EADDRINUSE, met once in CI): REBIND_ATTEMPTS tries, REBIND_WAIT apart
REBIND_ATTEMPTS = 20
REBIND_WAIT = 0.01
FIRST_RAW_XID = 0x8000_0000


class ServerControl(Protocol):
    """What a socket target needs of the server process it drives."""

    @property
    def port(self) -> int: ...  # NFS

    @property
    def mount_port(self) -> int: ...

    def restart(self) -> None: ...  # SIGKILL, then start again on the same store and ports


S = TypeVar("S", bound=ServerControl)


class _RawReplies(asyncio.DatagramProtocol):
    """Replies that arrive on the raw UDP socket, by XID."""

    def __init__(self, tap: Callable[[str, bytes, Any, str], None]) -> None:
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self.tap = tap
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.tap("reply", data, self.transport, "udp")
        known = peek_xid(data)
        waiter = None if known is None else self.waiting.get(known[0])
        if waiter is not None and not waiter.done():
            waiter.set_result(data)


class SocketRawClient:
    """Raw calls to `target`'s server from a socket of its own (see the module rules)."""

    def __init__(self, target: SocketTarget[Any]) -> None:
        self.target = target
        self._datagrams: asyncio.DatagramTransport | None = None
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._records = RecordReader(MAX_RECORD)
        self._replies = _RawReplies(target.tap)

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        known = peek_xid(message)
        if known is None:
            raise ValueError("send_raw needs a whole RPC call message")
        target = self.target
        if not target.features.udp:
            if reconnect:
                await self._reconnect_stream()
            return await self._send_tcp(message, known[0])
        if self._datagrams is None:
            transport, _ = await target.loop.create_datagram_endpoint(
                lambda: self._replies, remote_addr=(target.host, target.server.port)
            )
            self._datagrams = transport
        reply: asyncio.Future[bytes] = target.loop.create_future()
        self._replies.waiting[known[0]] = reply
        try:
            for _ in range(RAW_ATTEMPTS):  # the same bytes, as a retransmission would be
                self._datagrams.sendto(message)
                target.tap("call", message, self._datagrams, "udp")
                try:
                    return await asyncio.wait_for(asyncio.shield(reply), RAW_TIMEO)
                except TimeoutError:
                    continue
            return None
        finally:
            self._replies.waiting.pop(known[0], None)

    async def _send_tcp(self, message: bytes, xid: int) -> bytes | None:
        target = self.target
        if self._stream is None:
            self._stream = await asyncio.open_connection(target.host, target.server.port)
            self._records = RecordReader(MAX_RECORD)
        reader, writer = self._stream
        writer.write(frame(message))
        target.tap("call", message, writer, "tcp")
        deadline = target.loop.time() + RAW_TIMEO * RAW_ATTEMPTS
        try:
            await writer.drain()
            while (remaining := deadline - target.loop.time()) > 0:
                data = await asyncio.wait_for(reader.read(65536), remaining)
                if not data:
                    break
                for record in self._records.feed(data):
                    target.tap("reply", record, writer, "tcp")
                    if peek_xid(record) == (xid, REPLY):
                        return record
        except (TimeoutError, OSError):
            return None
        self._close_stream()  # closed by the server: the next message opens another
        return None

    async def _reconnect_stream(self) -> None:
        """Reset the raw connection (SO_LINGER 0: no TIME_WAIT) and open a new one from
        the same local port, so a cache keyed on the client's address and port knows it."""
        if self._stream is None:
            return
        writer = self._stream[1]
        local_port = writer.get_extra_info("sockname")[1]
        reset_on_close(writer.get_extra_info("socket"))
        writer.transport.abort()
        self._stream = None
        await asyncio.sleep(0)  # a yield, not a wait: the transport closes its socket
        for attempt in range(1, REBIND_ATTEMPTS + 1):
            try:
                self._stream = await asyncio.open_connection(
                    self.target.host, self.target.server.port, local_addr=(HOST, local_port)
                )
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or attempt == REBIND_ATTEMPTS:
                    raise
                await asyncio.sleep(REBIND_WAIT)
        self._records = RecordReader(MAX_RECORD)

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None

    def close(self) -> None:
        if self._datagrams is not None:
            self._datagrams.close()
            self._datagrams = None
        self._close_stream()


class SocketTarget(Generic[S]):
    def __init__(
        self,
        name: str,
        server: S,
        export: bytes,
        capabilities: Capabilities,
        cleanup: Callable[[], None],
        *,
        host: str = HOST,
        proxy: ProxyBase | None = None,
        features: Features = REFERENCE,
        policy: RetryPolicy = HARD_MOUNT,
        credential: AuthSys = ROOT,
        scratch_dir: bytes | None = None,
    ) -> None:
        self.name = name
        self.credential = credential
        self.scratch_dir = scratch_dir
        self.server = server
        self.export = export
        self.capabilities = capabilities
        self.features = features
        self.sim = None
        self.host = host
        self.proxy = proxy
        self._policy = policy
        self._cleanup = cleanup
        self._loop = asyncio.new_event_loop()
        self._raw = SocketRawClient(self)
        self._other_clients: list[SocketRawClient] = []
        self._wire: list[WireMessage] | None = None
        self._next_raw_xid = FIRST_RAW_XID
        try:
            if proxy is not None:
                self._loop.run_until_complete(proxy.start())
            self.client = self._connect(
                server.port if proxy is None else proxy.port, proxy is not None
            )
            self.mount_client = (
                self.client
                if server.mount_port == server.port
                else self._connect(server.mount_port, False)
            )
            self.caller: RpcSocketClient | ScratchNfs = self.client
            self.mount_caller: Caller = self.mount_client
            if scratch_dir is not None:
                self.caller = nfs = ScratchNfs(self.client)
                self.mount_caller = ScratchMount(self.mount_client, nfs, export, scratch_dir, name)
        except BaseException:
            if proxy is not None:
                self._loop.run_until_complete(proxy.close())
            self._loop.close()
            cleanup()
            raise

    def _connect(self, port: int, proxied: bool) -> RpcSocketClient:
        host = HOST if proxied else self.host
        return self._loop.run_until_complete(
            RpcSocketClient.connect(
                host,
                port,
                "tcp",
                self._policy,
                self.credential,
                first_xid=1,
                max_record=MAX_RECORD,
            )
        )

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(operation, RUN_TIMEOUT))

    @property
    def wire(self) -> list[WireMessage] | None:
        return self._wire

    @wire.setter
    def wire(self, capture: list[WireMessage] | None) -> None:
        """Capture into `capture` (None: stop); the clients tap only while it is set."""
        self._wire = capture
        for client in (self.client, self.mount_client):
            client.on_wire = None if capture is None else capture.append

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def _keep(self, message: WireMessage) -> None:
        if self._wire is not None:
            self._wire.append(message)

    def tap(self, direction: str, message: bytes, transport: Any, kind: str) -> None:
        """Keep a raw send's message (`transport`: its asyncio transport or stream writer)."""
        if self.wire is None or transport is None:
            return
        seen = seen_on(transport, self._loop.time(), direction, kind, message)
        if seen is not None:
            self._keep(seen)

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        return await self._raw.send_raw(message, reconnect)

    def another_client(self) -> SocketRawClient:
        client = SocketRawClient(self)
        self._other_clients.append(client)
        return client

    def close_other_clients(self) -> None:
        for client in self._other_clients:
            client.close()
        self._other_clients.clear()

    def next_xid(self) -> int:
        self._next_raw_xid += 1
        return self._next_raw_xid

    def crash_and_restart(self) -> None:
        progress.current().restarts += 1
        self.server.restart()
        server = (self.host, self.server.port)
        self._keep(WireMessage(self._loop.time(), RESTARTED, "", server, server, b""))

    def jump_clock(self, seconds: float) -> None:
        raise SimulatedOnly(
            f"{self.name}: clock jumps are simulated only; a real server reads its machine's clock"
        )

    def partition(self, starts_in: float, lasts: float) -> None:
        raise SimulatedOnly(
            f"{self.name}: partitions are simulated only; on real sockets the Toxiproxy "
            "timeout toxic is the black hole (properties/rpc/test_toxiproxy.py)"
        )

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self.client.close())
            if self.mount_client is not self.client:
                self._loop.run_until_complete(self.mount_client.close())
            self._raw.close()
            self.close_other_clients()
            if self.proxy is not None:
                self._loop.run_until_complete(self.proxy.close())
            self._loop.run_until_complete(asyncio.sleep(0))
        finally:
            self._loop.close()
            self._cleanup()
