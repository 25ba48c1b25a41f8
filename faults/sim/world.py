"""The simulated world: nodes, a virtual clock, an in-memory network, one event queue.

Rules:
- One thread, no wall clock, no sockets: everything that happens is an event of the
  queue, run in (time, scheduling order). Every fault decision comes from the world's
  `FaultSource`, so the same source gives the same run and the same trace, byte for byte.
- Nodes are added with an `on_start(NodeContext)` callback that builds their state and
  bindings. `crash(name)` discards the node's bindings, listeners, streams, tasks, timers
  and the datagrams in flight to it (see nodes.py); `restart(name)` calls `on_start` again
  with a fresh context. A context of an older incarnation refuses to act (`NodeDown`).
- `partition(a, b)` cuts the network between two nodes until `heal(a, b)`: datagrams
  across the cut are lost, stream data is held and arrives at the heal (partitions.py).
- Each node has a wall clock, `wall_clock_ns(node)`: virtual time counted from
  WALL_EPOCH_NS, plus the node's clock jumps (`jump_clock`, which a crash keeps, as a
  machine's clock outlives its processes). Timers, the network and everything else keep
  virtual time, as monotonic clocks do.
- Timers belong to a node (discarded by its crash) or to the world (node None: harness
  timers that no crash touches). `call_at` refuses times in the past.
- Runs are bounded by `max_events` and raise `SimLimitExceeded` when it is reached.
- Exceptions raised by handlers, callbacks and unawaited tasks propagate out of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from faults.sim.clock import VirtualClock
from faults.sim.errors import NodeCrashed, NodeDown, SimError, WorldIdle
from faults.sim.faults import FaultSource, NoFaults
from faults.sim.medium import Medium
from faults.sim.message_faults import FaultRates, MessageFaults
from faults.sim.network import Datagrams
from faults.sim.nodes import AcceptHandler, Address, DatagramHandler, NodeRecord, lookup, running
from faults.sim.partitions import Partitions
from faults.sim.scheduler import EventQueue, TimerHandle
from faults.sim.streams import SimStream, connect, listen
from faults.sim.tasks import SimFuture, SimTask, sleep
from faults.sim.trace import Kind, Trace

T = TypeVar("T")

DEFAULT_MAX_EVENTS = 1_000_000
WALL_EPOCH_NS = 1_700_000_000 * 1_000_000_000  # virtual time 0 on the nodes' wall clocks


class SimWorld:
    """A deterministic world of nodes exchanging bytes over a faulty network."""

    def __init__(
        self,
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
        latency: float = 0.001,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency}")
        self.faults: FaultSource = faults if faults is not None else NoFaults()
        self.rates = rates if rates is not None else FaultRates()
        self.clock = VirtualClock()
        self.trace = Trace()
        self._queue = EventQueue(self.clock)
        self._nodes: dict[str, NodeRecord] = {}
        self._contexts: dict[str, NodeContext] = {}
        self._clock_offsets_ns: dict[str, int] = {}
        self.partitions = Partitions()
        self._medium = Medium(
            self.clock,
            self._queue,
            self.trace,
            MessageFaults(self.faults, self.rates),
            latency,
            self.partitions,
        )
        self._datagrams = Datagrams(self._medium, self._nodes)

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def latency(self) -> float:
        return self._medium.latency

    # Nodes -------------------------------------------------------------------------------

    def add_node(self, name: str, on_start: Callable[[NodeContext], None]) -> NodeContext:
        """Register a node and start it now: `on_start` gets its context."""
        if name in self._nodes:
            raise SimError(f"node {name!r} already exists")
        record = NodeRecord(name, on_start)
        self._nodes[name] = record
        return self._start(record, Kind.START)

    def node(self, name: str) -> NodeContext:
        """The context of the running incarnation of `name`."""
        running(self._nodes, name)
        return self._contexts[name]

    def is_up(self, name: str) -> bool:
        return lookup(self._nodes, name).up

    def crash(self, name: str) -> None:
        """Stop `name` and lose its volatile state and everything in flight to it."""
        record = running(self._nodes, name)
        record.up = False
        record.incarnation += 1
        self.trace.record(self.clock.now, Kind.CRASH, name)
        record.ports.clear()
        record.listeners.clear()
        for stream in list(record.streams):
            stream.reset_by_crash()
        tasks = list(record.tasks)
        record.tasks.clear()
        for task in tasks:
            task.kill(NodeCrashed(f"node {name!r} crashed at t={self.clock.now!r}"))

    def restart(self, name: str) -> NodeContext:
        """Start a crashed node again: its `on_start` rebuilds its state."""
        record = lookup(self._nodes, name)
        if record.up:
            raise SimError(f"node {name!r} is running; crash it before restarting it")
        record.incarnation += 1
        return self._start(record, Kind.RESTART)

    def wall_clock_ns(self, node: str) -> int:
        """What `node`'s wall clock reads now, in nanoseconds since the epoch."""
        offset = self._clock_offsets_ns.get(node, 0)
        return WALL_EPOCH_NS + round(self.clock.now * 1e9) + offset

    def jump_clock(self, node: str, seconds: float) -> None:
        """Step `node`'s wall clock by `seconds` (back if negative), as NTP may."""
        lookup(self._nodes, node)  # raises UnknownNode
        offset = self._clock_offsets_ns.get(node, 0) + round(seconds * 1e9)
        self._clock_offsets_ns[node] = offset
        self.trace.record(self.clock.now, Kind.CLOCK_JUMP, node, note=f"{seconds:+} s")

    def partition(self, a: str, b: str) -> None:
        """Cut the network between nodes `a` and `b` (see partitions.py) until `heal`."""
        for name in (a, b):
            lookup(self._nodes, name)  # raises UnknownNode
        self.partitions.cut(a, b)
        self.trace.record(self.clock.now, Kind.PARTITION, a, dst=b)

    def heal(self, a: str, b: str) -> None:
        """End the partition of `a` and `b`: the stream data held at it arrives now."""
        released = self.partitions.heal(a, b)
        self.trace.record(self.clock.now, Kind.HEAL, a, dst=b, note=f"{len(released)} held")
        for arrival in released:
            arrival()

    def _start(self, record: NodeRecord, kind: str) -> NodeContext:
        record.up = True
        context = NodeContext(self, record)
        self._contexts[record.name] = context
        note = f"incarnation {record.incarnation}"
        self.trace.record(self.clock.now, kind, record.name, note=note)
        record.on_start(context)
        return context

    # Datagrams and streams ---------------------------------------------------------------

    def bind(self, addr: Address, handler: DatagramHandler) -> None:
        """Deliver datagrams sent to `addr` to `handler(payload, source address)`."""
        self._datagrams.bind(addr, handler)

    def unbind(self, addr: Address) -> None:
        self._datagrams.unbind(addr)

    def send(self, src: Address, dst: Address, payload: bytes) -> None:
        """Send one datagram; the fault source decides whether and when it arrives."""
        self._datagrams.send(src, dst, payload)

    def listen(self, addr: Address, on_accept: AcceptHandler) -> None:
        """Accept stream connections to `addr`; `on_accept` gets the accepting end."""
        listen(self._nodes, addr, on_accept)

    def connect(self, src_node: str, dst_addr: Address) -> SimStream:
        """Open a stream from `src_node` (an ephemeral port) to a listener at `dst_addr`."""
        return connect(self._medium, self._nodes, src_node, dst_addr)

    # Timers and tasks --------------------------------------------------------------------

    def call_at(self, time: float, node: str | None, callback: Callable[[], object]) -> TimerHandle:
        """Run `callback` at virtual `time` on `node` (None: a world timer no crash discards)."""
        if time < self.clock.now:
            raise ValueError(f"call_at({time!r}) is in the past: now is {self.clock.now!r}")
        handle = TimerHandle(time, callback)
        record = None if node is None else running(self._nodes, node)
        incarnation = 0 if record is None else record.incarnation
        self._queue.schedule(time, self._fire_timer, (handle, record, incarnation))
        return handle

    def call_later(
        self, delay: float, node: str | None, callback: Callable[[], object]
    ) -> TimerHandle:
        if delay < 0:
            raise ValueError(f"call_later delay must be >= 0 seconds, got {delay!r}")
        return self.call_at(self.clock.now + delay, node, callback)

    def _fire_timer(self, arg: tuple[TimerHandle, NodeRecord | None, int]) -> None:
        handle, record, incarnation = arg
        if handle.cancelled:
            return
        if record is not None:
            if record.incarnation != incarnation:
                return
            note = _describe(handle.callback)
            self.trace.append_row((self.clock.now, Kind.TIMER, record.name, 0, "", 0, 0, 0, note))
        handle.callback()

    def spawn(self, coro: Coroutine[Any, Any, T], node: str) -> SimTask[T]:
        """Run `coro` as a task of `node`, starting at the current virtual time."""
        record = running(self._nodes, node)
        name = f"{node}/{getattr(coro, '__qualname__', type(coro).__name__)}"
        incarnation = record.incarnation

        def call_soon(step: Callable[[], None]) -> None:
            self._queue.schedule(self.clock.now, self._run_step, (record, incarnation, step))

        task = SimTask(coro, name, call_soon, lambda done: record.tasks.pop(done, None))
        record.tasks[task] = None
        self.trace.record(self.clock.now, Kind.SPAWN, node, note=name)
        return task

    @staticmethod
    def _run_step(arg: tuple[NodeRecord, int, Callable[[], None]]) -> None:
        record, incarnation, step = arg
        if record.incarnation == incarnation:
            step()

    # Trace and running -------------------------------------------------------------------

    def note(self, node: str, text: str) -> None:
        """Annotate the trace, e.g. "call INCREMENT xid=5", for the sequence chart."""
        self.trace.record(self.clock.now, Kind.NOTE, node, note=text)

    def run_until(
        self,
        predicate: Callable[[], bool] | None = None,
        *,
        deadline: float | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> bool:
        """Run events until `predicate()` holds (True) or, with a deadline, until the next
        event is later than it (False; the clock then reads the deadline). Going idle with
        the predicate still false and no deadline raises `WorldIdle`."""
        if predicate is None and deadline is None:
            raise ValueError("run_until needs a predicate or a deadline; see run_until_idle")
        satisfied = self._queue.run(predicate, deadline, max_events)
        if not satisfied and deadline is None:
            raise WorldIdle(
                "the world went idle before the predicate held: nothing left to happen "
                f"at t={self.clock.now!r}"
            )
        return satisfied

    def run_for(self, seconds: float, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """Run every event of the next `seconds` of virtual time."""
        self._queue.run(None, self.clock.now + seconds, max_events)

    def run_until_idle(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """Run until no event is left."""
        self._queue.run(None, None, max_events)

    @property
    def pending_events(self) -> int:
        return len(self._queue)


def _describe(callback: Callable[[], object]) -> str:
    """A short, deterministic name of a timer callback for the trace."""
    function: object = callback
    while isinstance(function, partial):
        function = function.func
    name = getattr(function, "__qualname__", type(function).__name__)
    return str(name).replace(".<locals>", "")


class NodeContext:
    """What code running on a node sees of the world: its own name, ports, timers, tasks.

    A context belongs to one incarnation of its node; after a crash it refuses to act.
    """

    __slots__ = ("_record", "incarnation", "name", "world")

    def __init__(self, world: SimWorld, record: NodeRecord) -> None:
        self.world = world
        self.name = record.name
        self.incarnation = record.incarnation
        self._record = record

    def __repr__(self) -> str:
        return f"<NodeContext {self.name} incarnation {self.incarnation}>"

    @property
    def now(self) -> float:
        return self.world.clock.now

    @property
    def alive(self) -> bool:
        return self._record.up and self._record.incarnation == self.incarnation

    def wall_clock_ns(self) -> int:
        """This node's wall clock (see SimWorld.jump_clock), in nanoseconds."""
        return self.world.wall_clock_ns(self.name)

    def _check_alive(self) -> None:
        if not self.alive:
            raise NodeDown(
                f"{self!r} is stale: the node crashed (now incarnation "
                f"{self._record.incarnation}); code of a crashed incarnation must not act"
            )

    def bind(self, port: int, handler: DatagramHandler) -> None:
        self._check_alive()
        self.world.bind((self.name, port), handler)

    def send(self, src_port: int, dst: Address, payload: bytes) -> None:
        self._check_alive()
        self.world.send((self.name, src_port), dst, payload)

    def listen(self, port: int, on_accept: AcceptHandler) -> None:
        self._check_alive()
        self.world.listen((self.name, port), on_accept)

    def connect(self, dst: Address) -> SimStream:
        self._check_alive()
        return self.world.connect(self.name, dst)

    def call_at(self, time: float, callback: Callable[[], object]) -> TimerHandle:
        self._check_alive()
        return self.world.call_at(time, self.name, callback)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        self._check_alive()
        return self.world.call_later(delay, self.name, callback)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> SimTask[T]:
        self._check_alive()
        return self.world.spawn(coro, self.name)

    def sleep(self, seconds: float) -> SimFuture[None]:
        self._check_alive()
        return sleep(self.world, seconds)

    def note(self, text: str) -> None:
        self.world.note(self.name, text)
