"""Datagrams: unreliable, unordered messages between addresses.

Rules:
- `send` never blocks and never fails because of the network: each datagram gets one
  `MessageFaults.decide()` decision (deliver, drop, duplicate, delay, reorder) and then
  arrives after the link latency plus the decision's delay, or never.
- A datagram is lost on arrival if its destination crashed or restarted since it was
  sent, or if nothing is bound to its destination port then. Losses are traced, not raised.
- A partition between the two nodes (partitions.py) loses a datagram when it is sent
  (no fault decision is drawn for it) or when it arrives.
- Sending from a crashed node or to a node that was never added is a programming error
  and raises.
- The trace gets a "send" event per datagram, a fault event per fault decision, and a
  "deliver" or "lost" event per copy that arrives.
"""

from dataclasses import dataclass
from zlib import crc32

from faults.sim.errors import AddressInUse
from faults.sim.medium import Medium
from faults.sim.message_faults import DELIVER_NOW, Deliver, Duplicate
from faults.sim.nodes import Address, DatagramHandler, NodeRecord, lookup, running
from faults.sim.trace import Kind, format_delay

_CUT = "partitioned"


@dataclass(slots=True)
class _InFlight:
    target: NodeRecord
    incarnation: int
    src: Address
    dst: Address
    payload: bytes
    digest: int


class Datagrams:
    """Datagram delivery between the nodes of one world."""

    __slots__ = (
        "_append",
        "_arrive",
        "_decide",
        "_latency",
        "_nodes",
        "_partitions",
        "_queue",
        "medium",
    )

    def __init__(self, medium: Medium, nodes: dict[str, NodeRecord]) -> None:
        self.medium = medium
        self._nodes = nodes
        self._append = medium.trace.append_row
        self._decide = medium.faults.decide
        self._queue = medium.queue
        self._latency = medium.latency
        self._partitions = medium.partitions
        self._arrive = self._arrive_one

    def bind(self, addr: Address, handler: DatagramHandler) -> None:
        record = running(self._nodes, addr[0])
        if addr[1] in record.ports:
            raise AddressInUse(f"datagram port {addr} is already bound; unbind it first")
        record.ports[addr[1]] = handler

    def unbind(self, addr: Address) -> None:
        lookup(self._nodes, addr[0]).ports.pop(addr[1], None)

    def send(self, src: Address, dst: Address, payload: bytes) -> None:
        nodes = self._nodes
        source = nodes.get(src[0])
        if source is None or not source.up:
            running(nodes, src[0])  # raises UnknownNode or NodeDown
        target = nodes.get(dst[0])
        if target is None:
            target = lookup(nodes, dst[0])  # raises UnknownNode
        if type(payload) is not bytes:
            payload = bytes(payload)
        now = self.medium.clock.now
        digest = crc32(payload)
        self._append((now, Kind.SEND, src[0], src[1], dst[0], dst[1], len(payload), digest, ""))
        if self._partitions.separated(src[0], dst[0]):
            self._append(
                (now, Kind.LOST, src[0], src[1], dst[0], dst[1], len(payload), digest, _CUT)
            )
            return
        packet = _InFlight(target, target.incarnation, src, dst, payload, digest)
        decision = self._decide()
        if decision is DELIVER_NOW:
            self._queue.schedule(now + self._latency, self._arrive, packet)
            return
        if isinstance(decision, Deliver):
            kind = Kind.REORDER if decision.reorder else Kind.DELAY
            delays: tuple[float, ...] = (decision.delay,)
            note = format_delay(decision.delay)
        elif isinstance(decision, Duplicate):
            kind = Kind.DUPLICATE
            delays = decision.delays
            note = "copies at " + ", ".join(map(format_delay, delays))
        else:
            kind = Kind.DROP
            delays = ()
            note = ""
        self._append((now, kind, src[0], src[1], dst[0], dst[1], len(payload), digest, note))
        for delay in delays:
            self._queue.schedule(now + self._latency + delay, self._arrive, packet)

    def _arrive_one(self, packet: _InFlight) -> None:
        target = packet.target
        handler: DatagramHandler | None = None
        if not target.up or target.incarnation != packet.incarnation:
            note = "destination crashed"
        elif self._partitions.separated(packet.src[0], packet.dst[0]):
            note = _CUT
        else:
            handler = target.ports.get(packet.dst[1])
            note = "" if handler is not None else "port not bound"
        src = packet.src
        dst = packet.dst
        kind = Kind.LOST if handler is None else Kind.DELIVER
        size = len(packet.payload)
        now = self.medium.clock.now
        self._append((now, kind, src[0], src[1], dst[0], dst[1], size, packet.digest, note))
        if handler is not None:
            handler(packet.payload, src)
