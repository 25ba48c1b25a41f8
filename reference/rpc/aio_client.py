"""The RPC client engine on real sockets: a Caller bound to one server over UDP or TCP.

Rules:
- This is where real time enters: the engine gets `loop.time()`; one timer (loop.call_at)
  stands at the engine's next deadline and, when it fires, sends the retransmissions and
  fails the soft calls that `due()` returns. The engine decides everything else.
- A call's arguments are encoded before anything is sent (a bad value raises XdrError at
  once); its reply wakes the call's future, matched by XID in the engine; a call whose
  task is cancelled is cancelled in the engine too.
- UDP: one connected datagram socket; a lost datagram is the retry policy's business.
  ICMP errors (port unreachable) are only logged: the policy decides when to give up.
- TCP: calls and replies are framed records (many calls in flight on one connection). When
  the connection is lost, the client reconnects as soon as a call is pending (at once if
  one is), up to `reconnect_attempts` times with doubling delays, from the same local
  port when the system allows (so the server's duplicate request cache, keyed by client
  address and port, recognises the retransmissions, as the Linux client does), and
  resends every pending call with the same XID. A connection the server closes is closed
  here with a reset, so that no LAST_ACK or TIME_WAIT state keeps that port busy. If it
  cannot reconnect, the pending calls fail with RpcConnectionError naming the server and
  the cause; the next call tries again. A connection to the client's own address (a
  TCP self-connect: the server's port is closed and the system picked it as the local
  port) counts as refused, not as a server that never answers.
- Retransmissions that fall due while there is no connection are not sent: the resend
  after reconnecting covers them.
- Default retry policies follow nfs(5): UDP timeo 1.1 s doubling, retrans 3; TCP timeo
  60 s linear, retrans 2.
- `on_wire`, when set, is told every RPC message as it leaves or arrives, whole (a
  WireMessage: loop time, call or reply, transport, local and peer address, the bytes
  without record marking), for captures (pcap files of failures).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from reference.rpc.calls import result_of
from reference.rpc.client import Completion, Outgoing, RetryPolicy, RpcClientEngine
from reference.rpc.errors import RecordTooLarge, RpcError
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import AuthNone, Credential, Procedure

A = TypeVar("A")
R = TypeVar("R")

log = logging.getLogger("nfsprop.rpc.transport")


@dataclass(frozen=True)
class WireMessage:
    """One RPC message as it crossed a socket (see `on_wire`)."""

    time: float
    direction: str  # "call" (sent to the server), "reply" (received from it), RESTARTED
    transport: str  # "tcp" or "udp"
    local: tuple[str, int]
    peer: tuple[str, int]
    message: bytes


def seen_on(
    carrier: Any, time: float, direction: str, transport: str, message: bytes
) -> WireMessage | None:
    """The WireMessage of `message` on `carrier` (an asyncio transport or stream writer:
    anything with get_extra_info), None if its addresses are gone (a closed socket)."""
    local, peer = carrier.get_extra_info("sockname"), carrier.get_extra_info("peername")
    if local is None or peer is None:
        return None
    return WireMessage(time, direction, transport, local[:2], peer[:2], message)


WireTap = Callable[[WireMessage], None]
RESTARTED = "restarted"  # a capture's mark: the server was restarted (no bytes)

TRANSPORTS = ("tcp", "udp")
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s


def reset_on_close(sock: socket.socket) -> None:
    """Make closing `sock` send a reset, not a FIN: no TIME_WAIT or LAST_ACK keeps its
    address pair, so the same local port can connect again at once."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)


def default_policy(transport: str) -> RetryPolicy:
    """nfs(5)'s defaults for `transport`."""
    if transport == "tcp":
        return RetryPolicy(timeo=60.0, retrans=2, backoff="linear")
    return RetryPolicy(timeo=1.1, retrans=3, backoff="exponential")


class RpcConnectionError(RpcError):
    """The client could not reach its server (refused, unreachable, lost and not regained)."""


def _describe(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused — is the server running?"
    if isinstance(error, TimeoutError):
        return "no answer (timed out) — is the host reachable and the port open?"
    return f"{error.strerror or error} — check the host and port"


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, client: RpcSocketClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.client._on_message(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp to %s: %s", self.client.target, exc)


class _Stream(asyncio.Protocol):
    def __init__(self, client: RpcSocketClient, max_record: int) -> None:
        self.client = client
        self.reader = RecordReader(max_record)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            records = self.reader.feed(data)
        except RecordTooLarge as error:
            log.warning("tcp from %s: %s", self.client.target, error)
            assert self.transport is not None
            self.transport.abort()
            return
        for record in records:
            self.client._on_message(record)

    def eof_received(self) -> bool:
        """The server closed the connection. Close ours with a reset, not a FIN, so that
        neither side keeps the address pair (LAST_ACK here, TIME_WAIT there) and the
        reconnection can come from the same port."""
        assert self.transport is not None
        reset_on_close(self.transport.get_extra_info("socket"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.client._on_connection_lost(self, exc)


class RpcSocketClient:
    """Use `await RpcSocketClient.connect(...)`; then `await client.call(procedure, args)`."""

    def __init__(
        self,
        host: str,
        port: int,
        transport: str,
        engine: RpcClientEngine,
        reconnect_attempts: int,
        reconnect_delay: float,
        connect_timeout: float,
        max_record: int,
    ) -> None:
        self.host = host
        self.port = port
        self.transport = transport
        self.engine = engine
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay = reconnect_delay
        self.connect_timeout = connect_timeout
        self.max_record = max_record
        self.reconnects = 0
        self._loop = asyncio.get_running_loop()
        self._waiters: dict[int, asyncio.Future[Completion]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._datagrams: asyncio.DatagramTransport | None = None
        self._stream: _Stream | None = None
        self._local_address: tuple[str, int] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False
        self.on_wire: WireTap | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port} over {self.transport}"

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        transport: str = "tcp",
        policy: RetryPolicy | None = None,
        credential: Credential | None = None,
        first_xid: int | None = None,
        reconnect_attempts: int = 5,
        reconnect_delay: float = 0.1,
        connect_timeout: float = 10.0,
        max_record: int = 1 << 20,
    ) -> RpcSocketClient:
        """A client of host:port. `policy` None: default_policy(transport); `credential`
        None: AUTH_NONE; `first_xid` None: random."""
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be 'tcp' or 'udp', not {transport!r}")
        if reconnect_attempts < 1 or reconnect_delay < 0:
            raise ValueError("need reconnect_attempts >= 1 and reconnect_delay >= 0")
        engine = RpcClientEngine(
            policy or default_policy(transport),
            credential or AuthNone(),
            random.SystemRandom().getrandbits(32) if first_xid is None else first_xid,
        )
        client = cls(
            host,
            port,
            transport,
            engine,
            reconnect_attempts,
            reconnect_delay,
            connect_timeout,
            max_record,
        )
        try:
            if transport == "udp":
                await client._open_datagrams()
            else:
                await client._open_stream(reuse_local_port=False)
        except OSError as error:
            raise RpcConnectionError(
                f"cannot connect to {client.target}: {_describe(error)}"
            ) from error
        return client

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        encoded = procedure.encode_args(args)
        if self._closed:
            raise RpcConnectionError(f"the client of {self.target} is closed")
        outgoing = self.engine.start_call(
            procedure.program, procedure.version, procedure.number, encoded, self._loop.time()
        )
        future: asyncio.Future[Completion] = self._loop.create_future()
        self._waiters[outgoing.xid] = future
        self._send(outgoing)
        self._arm_timer()
        try:
            completion = await future
        finally:
            self._waiters.pop(outgoing.xid, None)
            self.engine.cancel(outgoing.xid)
        return result_of(procedure, completion)

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        self._fail_pending(RpcConnectionError(f"the client of {self.target} was closed"))
        if self._datagrams is not None:
            self._datagrams.close()
        stream = self._stream
        if stream is not None and stream.transport is not None:
            stream.transport.close()
            await stream.closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- sending and receiving

    def _send(self, outgoing: Outgoing) -> None:
        if self._datagrams is not None:
            self._datagrams.sendto(outgoing.message)
            self._tap("call", outgoing.message, self._datagrams)
            return
        stream = self._stream
        if stream is not None and stream.transport is not None:
            stream.transport.write(frame(outgoing.message))
            self._tap("call", outgoing.message, stream.transport)
        elif self._reconnecting is None and not self._closed:
            self._reconnecting = self._loop.create_task(self._reconnect())

    def _tap(self, direction: str, message: bytes, transport: asyncio.BaseTransport | None) -> None:
        if self.on_wire is None or transport is None:
            return
        seen = seen_on(transport, self._loop.time(), direction, self.transport, message)
        if seen is not None:
            self.on_wire(seen)

    def _on_message(self, message: bytes) -> None:
        stream = self._stream
        carrier = self._datagrams if stream is None else stream.transport
        self._tap("reply", message, carrier)
        action = self.engine.receive(message)
        if isinstance(action, Outgoing):
            self._send(action)
        elif action is not None:
            self._complete(action)

    def _complete(self, completion: Completion) -> None:
        future = self._waiters.pop(completion.xid, None)
        if future is not None and not future.done():
            future.set_result(completion)

    def _fail_pending(self, error: RpcError) -> None:
        for xid, future in list(self._waiters.items()):
            self.engine.cancel(xid)
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()

    # -- the retransmission timer

    def _arm_timer(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline is None or self._closed:
            return
        if self._timer is None or deadline < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        self._timer = None
        for action in self.engine.due(max(self._loop.time(), deadline)):
            if isinstance(action, Outgoing):
                self._send(action)
            else:
                self._complete(action)
        self._arm_timer()

    # -- connections

    async def _open_datagrams(self) -> None:
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _Datagrams(self), remote_addr=(self.host, self.port)
        )
        self._datagrams = transport

    async def _open_stream(self, reuse_local_port: bool) -> None:
        """Connect; with `reuse_local_port`, first from the previous connection's address.
        The socket is bound before connecting even to a fresh port: bind() picks a port no
        other socket holds, which connect() alone does not, so it can be bound again."""
        infos = await self._loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        previous = self._local_address if reuse_local_port else None
        fresh: tuple[str, int] = ("", 0)
        for local in [previous, fresh] if previous else [fresh]:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(local)
                async with asyncio.timeout(self.connect_timeout):
                    await self._loop.sock_connect(sock, address)
                if sock.getsockname() == sock.getpeername():
                    raise ConnectionRefusedError(
                        errno.ECONNREFUSED, "connected to itself: nothing listens there"
                    )
            except OSError as error:
                sock.close()
                if local is fresh:
                    raise
                log.debug("reconnecting from %s failed (%s); using any port", local, error)
                continue
            except BaseException:
                sock.close()
                raise
            _, protocol = await self._loop.create_connection(
                lambda: _Stream(self, self.max_record), sock=sock
            )
            self._local_address = sock.getsockname()
            self._stream = protocol
            return

    def _on_connection_lost(self, stream: _Stream, exc: Exception | None) -> None:
        if stream is not self._stream:
            return
        self._stream = None
        log.debug("tcp connection to %s lost: %s", self.target, exc or "closed by the server")
        if self.engine.pending and self._reconnecting is None and not self._closed:
            self._reconnecting = self._loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self.reconnect_delay
        try:
            for attempt in range(self.reconnect_attempts):
                try:
                    await self._open_stream(reuse_local_port=True)
                except OSError as error:
                    if attempt == self.reconnect_attempts - 1:
                        self._fail_pending(
                            RpcConnectionError(
                                f"lost the connection to {self.target} and could not"
                                f" reconnect in {self.reconnect_attempts} attempts:"
                                f" {_describe(error)}"
                            )
                        )
                        return
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                self.reconnects += 1
                for outgoing in self.engine.resend_all():
                    self._send(outgoing)
                return
        finally:
            self._reconnecting = None
