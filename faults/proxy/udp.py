"""The UDP fault proxy: one datagram is one RPC message.

Rules:
- The proxy listens on one UDP socket (IPv4; `target` is an address, not a name). Each
  client address (host, port) gets its own upstream socket, connected to the target, made
  when the client's first datagram arrives
  and kept while the proxy runs: a client's retransmissions reach the server from the same
  proxy address every time, so the server's duplicate request cache (keyed by client
  address and port) recognises them exactly as it would without the proxy — with the
  proxy's upstream address standing for the client.
- At most `max_clients` upstream sockets are kept; a new client beyond that closes the one
  used least recently (its late replies are lost; its next datagram gets a new socket, so
  the server sees a new client).
- Every datagram goes through ProxyCore.route(); copies to forward later wait on loop
  timers. At most `max_held` copies wait at once; a copy beyond that is lost (traced
  "lost ... proxy buffer full"), as a full router queue would lose it. A datagram the
  kernel will not take now (send buffer full, ICMP error) is lost too, and traced.
- Reading is in batches of at most READ_BATCH datagrams per wake-up of one socket, so a
  flood from one side cannot starve the other.
- `close()` stops reading, cancels every held copy (traced as lost) and closes every socket.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections import OrderedDict
from collections.abc import Collection

from faults.proxy.base import LOOPBACK, ProxyBase
from faults.proxy.core import Envelope, Plan
from faults.proxy.messages import DIRECTIONS, CallMemory, identify
from faults.sim.faults import FaultSource
from faults.sim.message_faults import FaultRates
from faults.sim.trace import Trace
from reference.rpc.stubs import Address

log = logging.getLogger("nfsprop.proxy")

MAX_DATAGRAM = 65535
READ_BATCH = 64
MAX_CLIENTS = 1024
MAX_HELD = 10_000


class _Client:
    """One client address and its upstream socket."""

    __slots__ = ("address", "memory", "sock")

    def __init__(self, address: Address, sock: socket.socket) -> None:
        self.address = address
        self.sock = sock
        self.memory = CallMemory()


class UdpProxy(ProxyBase):
    """A per-message fault proxy for RPC over UDP."""

    transport_name = "udp"

    def __init__(
        self,
        target: Address,
        *,
        listen: Address = (LOOPBACK, 0),
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
        trace: Trace | None = None,
        faulty: Collection[str] = DIRECTIONS,
        max_clients: int = MAX_CLIENTS,
        max_held: int = MAX_HELD,
    ) -> None:
        super().__init__(
            target, listen=listen, faults=faults, rates=rates, trace=trace, faulty=faulty
        )
        if max_clients < 1 or max_held < 0:
            raise ValueError("UdpProxy needs max_clients >= 1 and max_held >= 0")
        self.max_clients = max_clients
        self.max_held = max_held
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: socket.socket | None = None
        self._clients: OrderedDict[Address, _Client] = OrderedDict()
        self._held: dict[int, tuple[asyncio.TimerHandle, Envelope]] = {}
        self._tokens = itertools.count()

    async def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError(f"the proxy already listens on port {self.port}")
        loop = asyncio.get_running_loop()
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            listener.setblocking(False)
            listener.bind(self.listen)
        except BaseException:
            listener.close()
            raise
        self._loop = loop
        self._listener = listener
        self._port = listener.getsockname()[1]
        self.core.start(loop.time())
        loop.add_reader(listener.fileno(), self._from_clients)

    async def close(self) -> None:
        loop, listener = self._loop, self._listener
        if loop is None or listener is None:
            return
        self._listener = None
        loop.remove_reader(listener.fileno())
        listener.close()
        now = loop.time()
        for handle, envelope in self._held.values():
            handle.cancel()
            self.core.lost(envelope, now, "proxy closed")
        self._held.clear()
        for client in self._clients.values():
            self._close_client(client)
        self._clients.clear()
        self._port = None

    @property
    def clients(self) -> int:
        """How many client addresses have an upstream socket now."""
        return len(self._clients)

    # -- client → server

    def _from_clients(self) -> None:
        listener = self._listener
        assert listener is not None and self._loop is not None
        for _ in range(READ_BATCH):
            try:
                data, peer = listener.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error from an earlier reply: nothing to read
                continue
            address: Address = (peer[0], peer[1])
            try:
                client = self._client(address)
            except OSError as error:  # no socket to be had (descriptors exhausted, ...)
                log.warning("udp proxy: no upstream socket for %s:%d: %s", *address, error)
                continue
            self._messages_in[0] += 1
            self._bytes_in[0] += len(data)
            ident = identify(data, True, client.memory)
            envelope, plan = self.core.route(data, ident, address, self.target, self._loop.time())
            if self._waiters:
                self._wake_waiters()
            self._dispatch(envelope, plan, client, True)

    def _client(self, address: Address) -> _Client:
        clients = self._clients
        client = clients.get(address)
        if client is not None:
            clients.move_to_end(address)
            return client
        if len(clients) >= self.max_clients:
            _, oldest = clients.popitem(last=False)
            self._close_client(oldest)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(("", 0))
            sock.connect(self.target)
        except BaseException:
            sock.close()
            raise
        client = _Client(address, sock)
        clients[address] = client
        assert self._loop is not None
        self._loop.add_reader(sock.fileno(), self._from_server, client)
        return client

    def _close_client(self, client: _Client) -> None:
        assert self._loop is not None
        if client.sock.fileno() >= 0:
            self._loop.remove_reader(client.sock.fileno())
            client.sock.close()

    # -- server → client

    def _from_server(self, client: _Client) -> None:
        sock = client.sock
        assert self._loop is not None
        for _ in range(READ_BATCH):
            try:
                data = sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable: the server is not there (yet)
                continue
            self._messages_in[1] += 1
            self._bytes_in[1] += len(data)
            ident = identify(data, False, client.memory)
            envelope, plan = self.core.route(
                data, ident, self.target, client.address, self._loop.time()
            )
            if self._waiters:
                self._wake_waiters()
            self._dispatch(envelope, plan, client, False)

    # -- forwarding

    def _dispatch(self, envelope: Envelope, plan: Plan, client: _Client, to_server: bool) -> None:
        loop = self._loop
        assert loop is not None
        for copy in plan:
            if copy.delay <= 0:
                self._forward(envelope, client, to_server)
            elif len(self._held) >= self.max_held:
                self.core.lost(envelope, loop.time(), "proxy buffer full")
            else:
                token = next(self._tokens)
                handle = loop.call_later(copy.delay, self._release, token, client, to_server)
                self._held[token] = (handle, envelope)

    def _release(self, token: int, client: _Client, to_server: bool) -> None:
        _, envelope = self._held.pop(token)
        self._forward(envelope, client, to_server)

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _forward(self, envelope: Envelope, client: _Client, to_server: bool) -> None:
        try:
            if to_server:
                client.sock.send(envelope.payload)
            else:
                listener = self._listener
                if listener is None:
                    raise ConnectionAbortedError("proxy closed")
                listener.sendto(envelope.payload, client.address)
        except BlockingIOError:
            self.core.lost(envelope, self._now(), "socket buffer full")
        except OSError as error:
            self.core.lost(envelope, self._now(), error.strerror or type(error).__name__)
        else:
            self.core.delivered(envelope, self._now())
