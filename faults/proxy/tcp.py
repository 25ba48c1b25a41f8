"""The RPC-record-aware TCP fault proxy: one record (RFC 5531 record marking) is one message.

Rules:
- Each client connection gets its own upstream connection to the target (a "link"). The
  client is not read until the upstream connection is made; if it cannot be made, the
  client connection is reset.
- Both directions go through a RecordReader; each whole record goes through
  ProxyCore.route() and its copies are forwarded as records of one fragment each (the
  proxy re-frames: how the sender cut a record into fragments is not passed on; cutting
  streams is Toxiproxy's slicer's job). Bytes of one record are never interleaved with
  another's: a record is written whole or not at all. (The common case — a read that is
  exactly one single-fragment record while the reader holds nothing — skips the reader and
  forwards the bytes as they came: the same result, cheaper.)
- Order: copies delivered at once, and delayed in-order copies, leave in the order their
  records arrived — a delayed record holds the records behind it, as TCP would. Reordered
  copies and the second copy of a duplicate are held aside by a timer and written when it
  fires, between whole records: later records overtake them.
- Sticky upstream ports (`sticky_ports=True`, the default): the proxy remembers, per client
  address (host, port), the local address of that client's last upstream connection and
  binds the next one there. A client that reconnects from the same port therefore reaches
  the server from the same proxy address and port again, so the server's duplicate request
  cache — keyed by client address and port, as knfsd's, Ganesha's and the reference
  server's are — answers its retransmissions with the cached replies. If that address
  cannot be bound (another connection holds it), a fresh port is used and the server sees
  a new client: a retransmitted non-idempotent call runs again. With `sticky_ports=False`
  every upstream connection comes from a fresh ephemeral port: that is what a plain
  proxy does, and what the server's cache then sees.
- Closing either side closes the other. When the client side ends, the upstream
  connection is reset (RST, so no TIME_WAIT keeps its port and the sticky port is free
  for the client's return). When the server side ends, the client side is closed after
  what was already written to it, and our end of the upstream connection answers with a
  reset. Copies still held for a closed side are lost (traced). A record larger than
  `max_record` resets both sides.
- Bounded buffers: a side is not read while the other side's transport buffer is over its
  high-water mark, nor while more than `max_held` bytes wait in the proxy for the other
  side; the reader holds at most one record of `max_record` bytes per direction.
- `reset_connections()` resets every client connection now (a cut cable, for tests);
  `close()` stops listening and resets every link.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import struct
from collections import OrderedDict, deque
from collections.abc import Collection
from typing import cast

from faults.proxy.base import LOOPBACK, ProxyBase
from faults.proxy.core import Envelope, Plan, ProxyCore
from faults.proxy.messages import DIRECTIONS, CallMemory, identify
from faults.sim.faults import FaultSource
from faults.sim.message_faults import FaultRates
from faults.sim.trace import Kind, Trace
from reference.rpc.aio_client import reset_on_close
from reference.rpc.errors import RecordTooLarge
from reference.rpc.record import LAST_FRAGMENT, MAX_FRAGMENT, RecordReader
from reference.rpc.stubs import Address

log = logging.getLogger("nfsprop.proxy")

MAX_RECORD = 4 << 20
MAX_HELD = 8 << 20
MAX_STICKY = 4096
CONNECT_TIMEOUT = 10.0
_HEADER = struct.Struct(">I")
_CLIENT, _SERVER = 0, 1


def _address(peer: object) -> Address:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return str(peer), 0


def _set_linger_reset(transport: asyncio.BaseTransport) -> None:
    """Make the transport's socket close with a reset (RST) instead of a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            reset_on_close(sock)


def _reset(transport: asyncio.Transport) -> None:
    """Close now with a reset: no FIN, no TIME_WAIT, unsent bytes dropped."""
    _set_linger_reset(transport)
    transport.abort()


class _Pipe:
    """The records going one way through a link, and the copies held for that way."""

    __slots__ = (
        "_batch",
        "_core",
        "_held_aside",
        "_link",
        "_loop",
        "_ordered",
        "_timer",
        "_tokens",
        "held_bytes",
        "transport",
    )

    def __init__(self, link: _Link, loop: asyncio.AbstractEventLoop, core: ProxyCore) -> None:
        self._link = link
        self._loop = loop
        self._core = core
        self.transport: asyncio.Transport | None = None
        self._batch: list[Envelope] = []
        self._ordered: deque[tuple[float, Envelope]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._held_aside: dict[int, tuple[asyncio.TimerHandle, Envelope]] = {}
        self._tokens = itertools.count()
        self.held_bytes = 0

    def add(self, envelope: Envelope, plan: Plan, now: float) -> None:
        """Take the copies `plan` asks for; those due now wait for `flush()`."""
        for copy in plan:
            if copy.out_of_order:
                if copy.delay <= 0:
                    self._batch.append(envelope)
                    continue
                token = next(self._tokens)
                handle = self._loop.call_later(copy.delay, self._release_aside, token)
                self._held_aside[token] = (handle, envelope)
                self._hold(len(envelope.payload))
            elif copy.delay <= 0 and not self._ordered:
                self._batch.append(envelope)
            else:
                ordered = self._ordered
                release = now + copy.delay
                if ordered and ordered[-1][0] > release:
                    release = ordered[-1][0]
                ordered.append((release, envelope))
                self._hold(len(envelope.payload))
                if self._timer is None:
                    self._timer = self._loop.call_at(release, self._release_ordered)

    def flush(self) -> None:
        """Write every copy that is due now, as one write."""
        batch = self._batch
        if not batch:
            return
        self._batch = []
        self._write(batch)

    def _write(self, envelopes: list[Envelope]) -> None:
        transport = self.transport
        now = self._loop.time()
        if transport is None or transport.is_closing():
            for envelope in envelopes:
                self._core.lost(envelope, now, "connection closed")
            return
        if len(envelopes) == 1:
            envelope = envelopes[0]
            framed = envelope.framed
            if framed is None:
                framed = _HEADER.pack(LAST_FRAGMENT | len(envelope.payload)) + envelope.payload
            transport.write(framed)
        else:
            parts: list[bytes] = []
            for envelope in envelopes:
                parts.append(_HEADER.pack(LAST_FRAGMENT | len(envelope.payload)))
                parts.append(envelope.payload)
            transport.write(b"".join(parts))
        if self._core.trace is not None:
            for envelope in envelopes:
                self._core.delivered(envelope, now)

    def _hold(self, size: int) -> None:
        self.held_bytes += size
        self._link.held_changed(self)

    def _unhold(self, size: int) -> None:
        self.held_bytes -= size
        self._link.held_changed(self)

    def _release_aside(self, token: int) -> None:
        _, envelope = self._held_aside.pop(token)
        self._unhold(len(envelope.payload))
        self._write([envelope])

    def _release_ordered(self) -> None:
        self._timer = None
        ordered = self._ordered
        now = self._loop.time()
        due: list[Envelope] = []
        while ordered and ordered[0][0] <= now:
            due.append(ordered.popleft()[1])
        if due:
            self._unhold(sum(len(envelope.payload) for envelope in due))
            self._write(due)
        if ordered:
            self._timer = self._loop.call_at(ordered[0][0], self._release_ordered)

    def discard(self, reason: str) -> None:
        """Lose every held copy (the destination is gone)."""
        now = self._loop.time()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lost = [envelope for _, envelope in self._ordered]
        for handle, envelope in self._held_aside.values():
            handle.cancel()
            lost.append(envelope)
        lost += self._batch
        self._ordered.clear()
        self._held_aside.clear()
        self._batch = []
        self.held_bytes = 0
        for envelope in lost:
            self._core.lost(envelope, now, reason)


class _Side(asyncio.Protocol):
    """One of a link's two connections."""

    def __init__(self, link: _Link, side: int) -> None:
        self.link = link
        self.side = side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a cast, not an isinstance check: uvloop's transports do not subclass asyncio's
        self.link.connected(self.side, cast(asyncio.Transport, transport))

    def data_received(self, data: bytes) -> None:
        self.link.received(self.side, data)

    def eof_received(self) -> bool:
        self.link.ended(self.side, "closed")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.ended(self.side, "closed" if exc is None else f"lost ({exc})")
        self.link.side_closed(self.side)

    def pause_writing(self) -> None:
        self.link.pause(1 - self.side, "buffer")

    def resume_writing(self) -> None:
        self.link.resume(1 - self.side, "buffer")


class _Link:
    """A client connection, its upstream connection and the records between them.

    Sides are _CLIENT and _SERVER; `pipes[side]` carries what `side` sends. The link is
    `ending` from the first close or reset on; it is finished (`closed` is done) once
    every connection it made is closed and no upstream connection is being made.
    """

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        loop = asyncio.get_running_loop()
        self.loop = loop
        core = proxy.core
        self.core = core
        self.transports: list[asyncio.Transport | None] = [None, None]
        self.open_sides: set[int] = set()
        self.readers = (RecordReader(proxy.max_record), RecordReader(proxy.max_record))
        self.memory = CallMemory()
        self.pipes = (_Pipe(self, loop, core), _Pipe(self, loop, core))
        self.pauses: tuple[set[str], set[str]] = (set(), set())
        self.client: Address = ("", 0)
        self.upstream: Address = ("", 0)
        self.ending = False
        self.closed: asyncio.Future[None] = loop.create_future()
        self.connecting: asyncio.Task[None] | None = None

    def endpoints(self, side: int) -> tuple[Address, Address]:
        """(source, destination) of what `side` sends, as the trace names them."""
        if side == _CLIENT:
            return self.client, self.proxy.target
        return self.proxy.target, self.client

    def connected(self, side: int, transport: asyncio.Transport) -> None:
        self.transports[side] = transport
        self.open_sides.add(side)
        self.pipes[1 - side].transport = transport
        if side == _SERVER:
            self.upstream = _address(transport.get_extra_info("sockname"))
            return
        self.client = _address(transport.get_extra_info("peername"))
        self.proxy.links.add(self)
        self.core.event(Kind.ACCEPT, self.client, self.proxy.address, self.loop.time())
        self.pause(_CLIENT, "connect")
        self.connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            sock = await self.proxy.open_upstream(self.client)
            if self.ending:
                sock.close()
            else:
                await self.loop.create_connection(lambda: _Side(self, _SERVER), sock=sock)
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            log.debug("proxy: no upstream connection for %s:%d: %s", *self.client, reason)
            now = self.loop.time()
            note = f"cannot connect to the target: {reason}"
            self.core.event(Kind.RESET, self.client, self.proxy.target, now, note)
            self.shut_down()
            return
        finally:
            self.connecting = None
            if self.ending:
                self._finish_if_done()
        if self.ending:
            self.shut_down()
            return
        self.proxy.remember_upstream(self.client, self.upstream)
        note = f"for client {self.client[0]}:{self.client[1]}"
        self.core.event(Kind.CONNECT, self.upstream, self.proxy.target, self.loop.time(), note)
        self.resume(_CLIENT, "connect")

    def received(self, side: int, data: bytes) -> None:
        proxy = self.proxy
        reader = self.readers[side]
        size = len(data)
        whole = None  # `data` itself when it is exactly one record of one fragment
        if size > 4 and not reader.in_record:
            (word,) = _HEADER.unpack_from(data)
            if word & LAST_FRAGMENT and (word & MAX_FRAGMENT) == size - 4 <= reader.max_record:
                whole = data
        if whole is not None:
            records = [data[4:]]
        else:
            try:
                records = reader.feed(data)
            except RecordTooLarge as error:
                log.warning("proxy: %s from %s:%d", error, *self.endpoints(side)[0])
                self.core.event(Kind.RESET, *self.endpoints(side), self.loop.time(), str(error))
                self.shut_down()
                return
        proxy.count(side, len(records), size)
        if not records:
            return
        src, dst = self.endpoints(side)
        pipe = self.pipes[side]
        from_client = side == _CLIENT
        memory = self.memory
        route = self.core.route
        now = self.loop.time()
        for record in records:
            envelope, plan = route(record, identify(record, from_client, memory), src, dst, now)
            envelope.framed = whole
            pipe.add(envelope, plan, now)
        if proxy.has_waiters:
            proxy.wake_waiters()
        pipe.flush()

    def ended(self, side: int, how: str) -> None:
        """`side` closed or was lost (the first time): end the other side too."""
        if self.ending:
            return
        self.ending = True
        src, dst = self.endpoints(side)
        self.core.event(Kind.CLOSE, src, dst, self.loop.time(), f"{how} by the {_name(side)}")
        for pipe in self.pipes:
            pipe.discard("connection closed")
        client, server = self.transports
        if side == _SERVER:
            # answer the server's FIN with a reset, as RpcSocketClient does, so that no
            # TIME_WAIT on its side keeps the sticky address pair busy
            if server is not None:
                _set_linger_reset(server)
            if client is not None and not client.is_closing():
                client.close()
        elif server is not None and not server.is_closing():
            _reset(server)

    def shut_down(self) -> None:
        """Reset both connections and lose everything held."""
        self.ending = True
        for pipe in self.pipes:
            pipe.discard("connection closed")
        for transport in self.transports:
            if transport is not None and not transport.is_closing():
                _reset(transport)
        self._finish_if_done()

    def side_closed(self, side: int) -> None:
        self.open_sides.discard(side)
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self.open_sides or self.connecting is not None:
            return
        self.proxy.links.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def held_changed(self, pipe: _Pipe) -> None:
        side = self.pipes.index(pipe)
        if pipe.held_bytes > self.proxy.max_held:
            self.pause(side, "held")
        else:
            self.resume(side, "held")

    def pause(self, side: int, reason: str) -> None:
        reasons = self.pauses[side]
        if not reasons:
            transport = self.transports[side]
            if transport is not None and not transport.is_closing():
                transport.pause_reading()
        reasons.add(reason)

    def resume(self, side: int, reason: str) -> None:
        reasons = self.pauses[side]
        if reason not in reasons:
            return
        reasons.discard(reason)
        transport = self.transports[side]
        if not reasons and transport is not None and not transport.is_closing():
            transport.resume_reading()


def _name(side: int) -> str:
    return "client" if side == _CLIENT else "server"


class TcpProxy(ProxyBase):
    """A per-record fault proxy for RPC over TCP."""

    transport_name = "tcp"

    def __init__(
        self,
        target: Address,
        *,
        listen: Address = (LOOPBACK, 0),
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
        trace: Trace | None = None,
        faulty: Collection[str] = DIRECTIONS,
        sticky_ports: bool = True,
        max_record: int = MAX_RECORD,
        max_held: int = MAX_HELD,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        super().__init__(
            target, listen=listen, faults=faults, rates=rates, trace=trace, faulty=faulty
        )
        if max_record < 1 or max_held < 0 or connect_timeout <= 0:
            raise ValueError("TcpProxy needs max_record >= 1, max_held >= 0, connect_timeout > 0")
        self.sticky_ports = sticky_ports
        self.max_record = max_record
        self.max_held = max_held
        self.connect_timeout = connect_timeout
        self.links: set[_Link] = set()
        self._sticky: OrderedDict[Address, Address] = OrderedDict()
        self._server: asyncio.Server | None = None
        self._family = socket.AF_INET
        self._target_sockaddr: tuple[object, ...] = target

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"the proxy already listens on port {self.port}")
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(*self.target, type=socket.SOCK_STREAM)
        self._family, _, _, _, self._target_sockaddr = infos[0]
        self._server = await loop.create_server(
            lambda: _Side(_Link(self), _CLIENT), *self.listen, reuse_address=True
        )
        self._port = _address(self._server.sockets[0].getsockname())[1]
        self.core.start(loop.time())

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        links = list(self.links)
        for link in links:
            link.shut_down()
            if link.connecting is not None:
                link.connecting.cancel()
        await asyncio.gather(*(link.closed for link in links))
        await server.wait_closed()
        self._port = None

    def reset_connections(self) -> int:
        """Reset every client connection (and so its upstream one); how many there were."""
        links = list(self.links)
        now = asyncio.get_running_loop().time()
        for link in links:
            self.core.event(Kind.RESET, link.client, self.target, now, "reset by the proxy")
            link.shut_down()
        return len(links)

    # -- for links

    @property
    def has_waiters(self) -> bool:
        return bool(self._waiters)

    def wake_waiters(self) -> None:
        self._wake_waiters()

    def count(self, side: int, messages: int, size: int) -> None:
        self._messages_in[side] += messages
        self._bytes_in[side] += size

    def remember_upstream(self, client: Address, upstream: Address) -> None:
        sticky = self._sticky
        sticky[client] = upstream
        sticky.move_to_end(client)
        if len(sticky) > MAX_STICKY:
            sticky.popitem(last=False)

    async def open_upstream(self, client: Address) -> socket.socket:
        """A socket connected to the target: from the client's sticky address when it has
        one and it can be bound, else from a fresh port."""
        loop = asyncio.get_running_loop()
        previous = self._sticky.get(client) if self.sticky_ports else None
        fresh: Address = ("", 0)
        for local in (previous, fresh) if previous is not None else (fresh,):
            sock = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(local)
                async with asyncio.timeout(self.connect_timeout):
                    await loop.sock_connect(sock, self._target_sockaddr)
            except OSError as error:
                sock.close()
                if local is fresh:
                    raise
                log.debug("proxy: sticky port %s for %s is busy (%s)", local, client, error)
                continue
            except BaseException:
                sock.close()
                raise
            return sock
        raise AssertionError("unreachable: the fresh port either connects or raises")
