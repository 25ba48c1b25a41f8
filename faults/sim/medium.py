"""What the datagram and stream layers share: clock, queue, trace, fault decisions,
latency and partitions.

Rules: one `Medium` per world; it holds references only, no state of its own, so the
network layers stay independent of each other and of the world facade.
"""

from dataclasses import dataclass

from faults.sim.clock import VirtualClock
from faults.sim.message_faults import MessageFaults
from faults.sim.partitions import Partitions
from faults.sim.scheduler import EventQueue
from faults.sim.trace import Trace


@dataclass(frozen=True, slots=True)
class Medium:
    clock: VirtualClock
    queue: EventQueue
    trace: Trace
    faults: MessageFaults
    latency: float
    partitions: Partitions
