"""The deterministic simulation world: virtual time, an in-memory network, fault sources.

Nodes exchange bytes (datagrams and streams) and run callbacks and coroutines on a virtual
clock; every fault decision comes from one `FaultSource`, so a run, and its trace, is a pure
function of that source. The modules, one job each:

- clock.py: the virtual clock.
- faults.py: fault sources (Hypothesis, seeded, replay, recording, none).
- message_faults.py: fault rates and per-message decisions.
- scheduler.py: the event queue.
- nodes.py: node bookkeeping and incarnations.
- medium.py: what the datagram and stream layers share (clock, queue, trace, faults).
- network.py: datagrams.  streams.py: streams.  partitions.py: cut links.
- tasks.py: futures and coroutine tasks.
- trace.py: the trace, its JSON and its sequence chart.
- world.py: the `SimWorld` facade and `NodeContext`.
- rpc.py: the RPC engines (client Caller, server node) wired into the world.
- errors.py: the errors a user of the simulation sees.
"""

from faults.sim.clock import VirtualClock
from faults.sim.errors import (
    AddressInUse,
    NodeCrashed,
    NodeDown,
    SimError,
    SimLimitExceeded,
    StreamClosed,
    TaskFailed,
    UnknownNode,
    WorldIdle,
)
from faults.sim.faults import (
    Choice,
    FaultSource,
    HypothesisFaults,
    NoFaults,
    PrefetchedFaults,
    RecordingFaults,
    ReplayExhausted,
    ReplayFaults,
    SeededFaults,
)
from faults.sim.message_faults import (
    DELAY_BUCKETS,
    SEGMENT_SIZES,
    Decision,
    Deliver,
    Drop,
    Duplicate,
    FaultRates,
    MessageFaults,
)
from faults.sim.nodes import Address
from faults.sim.scheduler import TimerHandle
from faults.sim.streams import SimStream
from faults.sim.tasks import SimFuture, SimTask, sleep
from faults.sim.trace import Kind, Trace, TraceEvent
from faults.sim.world import NodeContext, SimWorld

__all__ = [
    "DELAY_BUCKETS",
    "SEGMENT_SIZES",
    "Address",
    "AddressInUse",
    "Choice",
    "Decision",
    "Deliver",
    "Drop",
    "Duplicate",
    "FaultRates",
    "FaultSource",
    "HypothesisFaults",
    "Kind",
    "MessageFaults",
    "NoFaults",
    "NodeContext",
    "NodeCrashed",
    "NodeDown",
    "PrefetchedFaults",
    "RecordingFaults",
    "ReplayExhausted",
    "ReplayFaults",
    "SeededFaults",
    "SimError",
    "SimFuture",
    "SimLimitExceeded",
    "SimStream",
    "SimTask",
    "SimWorld",
    "StreamClosed",
    "TaskFailed",
    "TimerHandle",
    "Trace",
    "TraceEvent",
    "UnknownNode",
    "VirtualClock",
    "WorldIdle",
    "sleep",
]
