"""Streams: reliable, ordered byte streams between a connecting node and a listener.

Rules:
- `connect` returns the connecting end at once; the listener's `on_accept` gets the other
  end one latency later. If nobody listens then (or the listener's node crashed), the
  connecting end is closed with reason "connection refused" one more latency later.
- Bytes arrive in order and intact, but a write is cut into segments whose sizes the fault
  source chooses, and each segment may be held back by a delay fault. Order is kept: a
  segment never arrives before the one written before it (ties run in scheduling order).
- Each end has `on_data(bytes)` and `on_close()` callbacks, to be set in `on_accept` or
  right after `connect`. Data arriving at an end without `on_data` is an error.
- `close()` ends the stream in both directions: the peer's `on_close` runs after every byte
  written before the close has arrived; data still travelling toward the closed end is lost.
- A crash resets every stream of the node: its ends close silently (the node's state is
  gone) and each peer's `on_close` runs one latency later, after the segments already
  sent. `close_reason` says which of these ended a stream.
- Writing to a closed end raises `StreamClosed`.
- A partition between the two nodes holds whatever reaches it (open, data, close, reset)
  and delivers it, in order, when it heals (partitions.py): a stream is never cut by it.
"""

from collections.abc import Callable
from functools import partial
from typing import TypeVar
from zlib import crc32

from faults.sim.errors import AddressInUse, SimError, StreamClosed
from faults.sim.medium import Medium
from faults.sim.nodes import AcceptHandler, Address, NodeRecord, lookup, running
from faults.sim.trace import Kind, format_delay

STREAM_NOTE = "stream"

A = TypeVar("A")


class SimStream:
    """One end of a simulated stream connection."""

    __slots__ = (
        "_last_arrival",
        "_medium",
        "_node",
        "_peer",
        "close_reason",
        "closed",
        "local",
        "on_close",
        "on_data",
        "remote",
    )

    def __init__(self, medium: Medium, node: NodeRecord, local: Address, remote: Address) -> None:
        self.local = local
        self.remote = remote
        self.on_data: Callable[[bytes], None] | None = None
        self.on_close: Callable[[], None] | None = None
        self.closed = False
        self.close_reason = ""
        self._medium = medium
        self._node = node
        self._peer: SimStream | None = None
        self._last_arrival = 0.0

    def __repr__(self) -> str:
        state = f"closed: {self.close_reason}" if self.closed else "open"
        return f"<SimStream {self.local} → {self.remote} {state}>"

    def write(self, data: bytes) -> None:
        if self.closed:
            raise StreamClosed(f"write on {self!r}; open a new connection")
        if type(data) is not bytes:
            data = bytes(data)
        medium = self._medium
        now = medium.clock.now
        local, remote = self.local, self.remote
        medium.trace.append_row(
            (now, Kind.SEND, *local, *remote, len(data), crc32(data), STREAM_NOTE)
        )
        sizes = medium.faults.segment_sizes(len(data))
        if len(sizes) > 1:
            note = "+".join(map(str, sizes))
            medium.trace.append_row((now, Kind.SEGMENT, *local, *remote, len(data), 0, note))
        offset = 0
        for size in sizes:
            piece = data if size == len(data) else data[offset : offset + size]
            offset += size
            delay = medium.faults.segment_delay()
            if delay:
                medium.trace.append_row(
                    (now, Kind.DELAY, *local, *remote, size, crc32(piece), format_delay(delay))
                )
            self._send_toward_peer(now + medium.latency + delay, _arrive_segment, (self, piece))

    def close(self) -> None:
        """Close both directions; the peer's `on_close` runs after the data sent so far."""
        if self.closed:
            return
        self._end("closed locally")
        self._send_toward_peer(self._medium.clock.now + self._medium.latency, _arrive_fin, self)

    def reset_by_crash(self) -> None:
        """The node of this end crashed: end it silently and send a reset to the peer."""
        if self.closed:
            return
        self._end("node crashed")
        self._send_toward_peer(self._medium.clock.now + self._medium.latency, _arrive_reset, self)

    def _send_toward_peer(self, time: float, action: Callable[[A], None], arg: A) -> None:
        time = max(time, self._last_arrival)
        self._last_arrival = time
        self._medium.queue.schedule(time, self._arrive, (action, arg))

    def _arrive(self, event: tuple[Callable[[A], None], A]) -> None:
        """Something this end sent reaches the peer's node, unless a partition holds it."""
        action, arg = event
        partitions = self._medium.partitions
        here, there = self.local[0], self.remote[0]
        if partitions.separated(here, there):
            partitions.hold(here, there, partial(action, arg))
            return
        action(arg)

    def _end(self, reason: str) -> None:
        self.closed = True
        self.close_reason = reason
        self._node.streams.pop(self, None)

    def _ended_by_peer(self, kind: str, reason: str) -> None:
        self._end(reason)
        self._medium.trace.append_row(
            (self._medium.clock.now, kind, *self.remote, *self.local, 0, 0, reason)
        )
        if self.on_close is not None:
            self.on_close()


def listen(nodes: dict[str, NodeRecord], addr: Address, on_accept: AcceptHandler) -> None:
    record = running(nodes, addr[0])
    if addr[1] in record.listeners:
        raise AddressInUse(f"stream port {addr} is already listening")
    record.listeners[addr[1]] = on_accept


def connect(
    medium: Medium, nodes: dict[str, NodeRecord], src_node: str, dst_addr: Address
) -> SimStream:
    source = running(nodes, src_node)
    target = lookup(nodes, dst_addr[0])
    client = SimStream(medium, source, (src_node, source.allocate_port()), dst_addr)
    source.streams[client] = None
    now = medium.clock.now
    medium.trace.append_row((now, Kind.CONNECT, *client.local, *dst_addr, 0, 0, ""))
    client._send_toward_peer(
        now + medium.latency, _arrive_open, (client, target, target.incarnation)
    )
    return client


def _arrive_open(arg: tuple[SimStream, NodeRecord, int]) -> None:
    client, target, incarnation = arg
    medium = client._medium
    now = medium.clock.now
    on_accept = target.listeners.get(client.remote[1])
    if on_accept is None or not target.up or target.incarnation != incarnation:
        medium.trace.append_row(
            (now, Kind.LOST, *client.local, *client.remote, 0, 0, "connection refused")
        )
        medium.queue.schedule(now + medium.latency, _arrive_refusal, client)
        return
    server = SimStream(medium, target, client.remote, client.local)
    server._peer = client
    client._peer = server
    server._last_arrival = now
    target.streams[server] = None
    medium.trace.append_row((now, Kind.ACCEPT, *client.local, *client.remote, 0, 0, ""))
    on_accept(server)


def _arrive_refusal(client: SimStream) -> None:
    if not client.closed:
        client._ended_by_peer(Kind.RESET, "connection refused")


def _arrive_segment(arg: tuple[SimStream, bytes]) -> None:
    sender, piece = arg
    receiver = sender._peer
    medium = sender._medium
    now = medium.clock.now
    if receiver is None or receiver.closed:
        medium.trace.append_row(
            (now, Kind.LOST, *sender.local, *sender.remote, len(piece), crc32(piece), "closed")
        )
        return
    medium.trace.append_row(
        (now, Kind.DELIVER, *sender.local, *sender.remote, len(piece), crc32(piece), STREAM_NOTE)
    )
    if receiver.on_data is None:
        raise SimError(
            f"{receiver!r} received data but has no on_data handler; set stream.on_data in "
            "on_accept or right after connect()"
        )
    receiver.on_data(piece)


def _arrive_fin(sender: SimStream) -> None:
    receiver = sender._peer
    if receiver is not None and not receiver.closed:
        receiver._ended_by_peer(Kind.CLOSE, "closed by peer")


def _arrive_reset(sender: SimStream) -> None:
    receiver = sender._peer
    if receiver is not None and not receiver.closed:
        receiver._ended_by_peer(Kind.RESET, "reset by peer: its node crashed")
