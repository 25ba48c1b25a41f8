"""The RPC server engine on real sockets: asyncio UDP and TCP transports.

Rules:
- This is where real time enters: every message goes to `RpcServer.handle(message,
  client, transport, loop.time())`, and whatever it returns is sent back at once. The
  engine is synchronous, so the calls of one TCP connection are answered in the order
  they arrived, and any number of them may be in flight.
- TCP and UDP listen on the same port number, as RPC services do (a portmapper maps one
  (program, version) to one port per protocol). With port 0, TCP binds first to a free
  port and UDP then binds that number; if UDP finds it taken, both are given up and the
  pair is tried again on a fresh port, a bounded number of times.
- UDP: one datagram is one call; the reply goes to the datagram's source address.
- TCP: a connection's bytes go through a RecordReader (record marking); each complete
  record is one call and its reply is framed as one record. A record over `max_record`
  bytes is logged (logger "nfsprop.rpc.transport") and closes that connection only.
  While a connection's peer does not read its replies (the write buffer is full), the
  server stops reading that connection's calls.
- Nothing a peer sends kills the server: an exception while handling one message is
  logged and that message goes unanswered (a client retransmits).
- `drop_connections()` aborts every TCP connection without answering what is in flight,
  as a server crash would; clients must reconnect. `close()` stops listening, closes every
  connection and returns once they are closed. `host` is an address (a name with several
  addresses would get several TCP ports). ThreadedServer runs a server with asyncio.run
  in a background thread, for blocking callers (Hypothesis examples, rpcinfo, benchmarks).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from types import TracebackType
from typing import Self, cast

from reference.rpc.errors import RecordTooLarge
from reference.rpc.record import RecordReader, frame
from reference.rpc.server import RpcServer
from reference.rpc.service_thread import ServiceThread
from reference.rpc.stubs import Address

log = logging.getLogger("nfsprop.rpc.transport")

BIND_ATTEMPTS = 8


def _address(peer: object) -> Address:
    """(host, port) of a socket address (IPv6 addresses carry two more fields)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return str(peer), 0


def _answer(
    server: RpcServer, message: bytes, client: Address, transport: str, now: float
) -> bytes | None:
    """The engine's reply to one message, or None; never raises."""
    try:
        return server.handle(message, client, transport, now)
    except Exception:
        log.exception("%s message from %s:%d could not be handled", transport, *client)
        return None


class _DatagramServer(asyncio.DatagramProtocol):
    def __init__(self, server: RpcServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's datagram transports do not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        now = asyncio.get_running_loop().time()
        reply = _answer(self.server, data, _address(addr), "udp", now)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp: %s", exc)


class _StreamServer(asyncio.Protocol):
    """One TCP connection."""

    def __init__(self, server: RpcServer, max_record: int, connections: set[_StreamServer]) -> None:
        self.server = server
        self.reader = RecordReader(max_record)
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.client: Address = ("", 0)
        self.loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.client = _address(transport.get_extra_info("peername"))
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        try:
            records = self.reader.feed(data)
        except RecordTooLarge as error:
            log.warning("tcp connection from %s:%d: %s", *self.client, error)
            transport.close()
            return
        now = self.loop.time()
        for record in records:
            reply = _answer(self.server, record, self.client, "tcp", now)
            if reply is not None:
                transport.write(frame(reply))

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


class RpcSocketServer:
    """`server` served over UDP and/or TCP on host:port (port 0: a free port, see `.port`)."""

    def __init__(
        self,
        server: RpcServer,
        host: str = "127.0.0.1",
        port: int = 0,
        udp: bool = True,
        tcp: bool = True,
        max_record: int = 1 << 20,
    ) -> None:
        if not (udp or tcp):
            raise ValueError("RpcSocketServer needs at least one of udp=True, tcp=True")
        self.server = server
        self.host = host
        self.requested_port = port
        self.udp = udp
        self.tcp = tcp
        self.max_record = max_record
        self._port: int | None = None
        self._listener: asyncio.Server | None = None
        self._datagrams: asyncio.DatagramTransport | None = None
        self._connections: set[_StreamServer] = set()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has no port yet: await start() first")
        return self._port

    async def start(self) -> None:
        if self._port is not None:
            raise RuntimeError(f"the server is already listening on port {self._port}")
        attempts = BIND_ATTEMPTS if self.requested_port == 0 and self.tcp and self.udp else 1
        for attempt in range(attempts):
            try:
                await self._bind()
                return
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                if attempt == attempts - 1:
                    raise OSError(
                        error.errno,
                        f"cannot listen on {self.host}:{self.requested_port}: {error.strerror}"
                        " — is another server using that port? (port 0 picks a free one)",
                    ) from error
                log.debug("udp port taken after tcp bound it (%s); trying another", error)

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        port = self.requested_port
        if self.tcp:
            self._listener = await loop.create_server(
                self._new_connection, self.host, port, reuse_address=True
            )
            port = _address(self._listener.sockets[0].getsockname())[1]
        if self.udp:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _DatagramServer(self.server), local_addr=(self.host, port)
                )
            except OSError:
                await self._stop_listening()
                raise
            self._datagrams = transport
            port = _address(transport.get_extra_info("sockname"))[1]
        self._port = port

    def _new_connection(self) -> _StreamServer:
        return _StreamServer(self.server, self.max_record, self._connections)

    def drop_connections(self) -> int:
        """Abort every TCP connection, unanswered calls and all; how many there were."""
        connections = list(self._connections)
        for connection in connections:
            assert connection.transport is not None
            connection.transport.abort()
        return len(connections)

    async def _stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
            self._listener = None

    async def close(self) -> None:
        if self._datagrams is not None:
            self._datagrams.close()
            self._datagrams = None
        listener, self._listener = self._listener, None
        if listener is not None:
            # Stop accepting, then let connections already accepted finish being set up
            # (a task makes the transport, a callback calls connection_made) before closing
            # the listener: Python 3.11 leaks a connection accepted while it closes.
            loop = asyncio.get_running_loop()
            for sock in listener.sockets:
                loop.remove_reader(sock.fileno())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            listener.close()
        connections = list(self._connections)
        for connection in connections:
            assert connection.transport is not None
            connection.transport.close()
        await asyncio.gather(*(connection.closed for connection in connections))
        if listener is not None:
            await listener.wait_closed()
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class ThreadedServer(ServiceThread[RpcSocketServer]):
    """`sockets` served from a daemon thread (see reference.rpc.service_thread); the port is
    known once `__enter__` returns; `call_soon(fn)` runs `fn` on the server's loop (e.g.
    `threaded.call_soon(threaded.sockets.drop_connections)`)."""

    def __init__(self, sockets: RpcSocketServer) -> None:
        super().__init__(sockets, "rpc-server")
        self.sockets = sockets

    @property
    def port(self) -> int:
        return self.sockets.port
