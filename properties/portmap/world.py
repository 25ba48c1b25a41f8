"""Where the port mapper properties find a port mapper: a simulated one, or the one a
socket world's server runs on its NFS port; each call says which execution answered it.

Rules:
- A PortmapEndpoint makes one port mapper call at a time (`call`, counted as a step of the
  test's Recorder) and gives its result with
  `answered`: whether the reply the client took came from the call's first execution
  (FIRST), from a later one (LATER: a copy of the call ran again, as it does on a port
  mapper without a duplicate request cache), or either, not known (EITHER).
- The example's programs are its own: `programs` are distinct transient program numbers
  (RFC 1833 §3: 0x40000000-0x5fffffff), fixed in the simulation (a fresh port mapper per
  example, so runs replay exactly) and unique per example on a socket world's server, which
  keeps its mappings between examples (`close()` unsets them).
- Simulation (SimPortmap): node "portmapper" serves PortmapService (with the run's planted
  bugs) on port 111, with a duplicate request cache when `drc` is on; node "client" calls
  it from port 800 with a hard retry policy, so every call is answered. After each call
  the world runs until idle: no copy of a call outlives its step. What answered is read
  from the trace: the port mapper's replies to the client in the order it sent them (one
  per execution, or the cached one again), and the first reply delivered to the client
  (the one it took), by payload digest; a reply equal to the first execution's is FIRST.
- Sockets (SocketPortmap): the target's `caller`, no network faults; a call the client
  retransmitted may have run twice (EITHER), one it did not ran once (FIRST); a caller
  whose retransmissions cannot be counted gives EITHER always. `close()` unsets every
  (program, version) of the example (VERSIONS) before it closes the target.
- `portmapper_answers(target)`: whether the target serves the port mapper on its NFS
  port, and if not, what it answered (a NULL call, bounded by NULL_TIMEOUT seconds).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from faults.sim import FaultRates, FaultSource, Kind, NodeContext, SimWorld, TraceEvent
from faults.sim.rpc import SimRpcClient, SimRpcServer
from properties.harness import findings
from properties.worlds.target import Target
from reference.rpc.aio_client import RpcSocketClient, WireMessage
from reference.rpc.client import RetryPolicy
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.errors import RpcError
from reference.rpc.portmap import NO_PORTMAP_BUGS, PortmapBugs, PortmapService
from reference.xdr.gen.portmap import PMAP_PORT, PMAP_VERS_Client, mapping

T = TypeVar("T")

TRANSIENT = 0x4000_0000  # RFC 1833 §3: transient program numbers start here
PROGRAMS = 2  # programs per example
VERSIONS = (1, 2)  # the versions of each program the machine maps
SLOTS = 4  # program numbers set aside per example (PROGRAMS of them used)
PORTMAPPER = ("portmapper", PMAP_PORT)
CLIENT = ("client", 800)
CLIENT_POLICY = RetryPolicy(timeo=0.01, retrans=3, hard=True, max_timeo=0.08)
MAX_EVENTS = 100_000
NULL_TIMEOUT = 10.0
_EXAMPLES = itertools.count()  # examples of this process on socket worlds


class Answered(enum.Enum):
    FIRST = "the first execution"
    LATER = "a later execution"
    EITHER = "an execution not known"


@dataclass(frozen=True)
class Reply(Generic[T]):
    value: T
    answered: Answered


Operation = Callable[[PMAP_VERS_Client], Coroutine[Any, Any, T]]


class PortmapEndpoint(Protocol):
    @property
    def programs(self) -> tuple[int, ...]: ...

    @property
    def sim(self) -> SimWorld | None: ...

    @property
    def wire(self) -> list[WireMessage] | None: ...

    def call(self, operation: Operation[T]) -> Reply[T]: ...

    def close(self) -> None: ...


class SimPortmap:
    """A simulated port mapper and its client (see the module rules)."""

    programs = tuple(range(TRANSIENT, TRANSIENT + PROGRAMS))
    wire = None

    def __init__(
        self,
        faults: FaultSource,
        rates: FaultRates | None,
        drc: bool,
        bugs: PortmapBugs = NO_PORTMAP_BUGS,
    ) -> None:
        self.sim = SimWorld(faults, rates)

        def start(context: NodeContext) -> None:
            cache = DuplicateRequestCache() if drc else None
            SimRpcServer(context, PORTMAPPER[1], [PortmapService(bugs)], cache)

        self.sim.add_node(PORTMAPPER[0], start)
        self.client = self.sim.add_node(CLIENT[0], lambda context: None)
        caller = SimRpcClient(self.client, PORTMAPPER, CLIENT[1], CLIENT_POLICY)
        self.stub = PMAP_VERS_Client(caller)

    def call(self, operation: Operation[T]) -> Reply[T]:
        findings.current().steps()
        first = len(self.sim.trace)
        task = self.client.spawn(operation(self.stub))
        task.add_done_callback(lambda _: None)  # its error is ours to raise, not the world's
        self.sim.run_until(task.done, max_events=MAX_EVENTS)
        self.sim.run_until_idle(max_events=MAX_EVENTS)
        events = [self.sim.trace[index] for index in range(first, len(self.sim.trace))]
        return Reply(task.result(), answered_by(events))

    def close(self) -> None:
        for name in (PORTMAPPER[0], CLIENT[0]):
            if self.sim.is_up(name):
                self.sim.crash(name)


def answered_by(events: list[TraceEvent]) -> Answered:
    """Which execution's reply the client took, from the trace of one call (module rules)."""
    replies = [
        event.digest
        for event in events
        if event.kind == Kind.SEND and _ends(event) == (PORTMAPPER, CLIENT)
    ]
    taken = next(
        event.digest
        for event in events
        if event.kind == Kind.DELIVER and _ends(event) == (PORTMAPPER, CLIENT)
    )
    return Answered.FIRST if taken == replies[0] else Answered.LATER


def _ends(event: TraceEvent) -> tuple[tuple[str, int], tuple[str, int]]:
    return (event.src, event.src_port), (event.dst, event.dst_port)


class SocketPortmap:
    """The port mapper of a socket world's server, through its target (module rules)."""

    sim = None

    def __init__(self, target: Target) -> None:
        self.target = target
        self.stub = PMAP_VERS_Client(target.caller)
        example = next(_EXAMPLES) % 0x8000
        # 2**12 processes of 2**15 examples of SLOTS programs: 2**29, the transient range
        base = TRANSIENT + ((os.getpid() % 0x1000) << 17) + example * SLOTS
        self.programs = tuple(range(base, base + PROGRAMS))

    @property
    def wire(self) -> list[WireMessage] | None:
        return self.target.wire

    def call(self, operation: Operation[T]) -> Reply[T]:
        findings.current().steps()
        before = self._retransmissions()
        value = self.target.run(operation(self.stub))
        once = before is not None and self._retransmissions() == before
        return Reply(value, Answered.FIRST if once else Answered.EITHER)

    def _retransmissions(self) -> int | None:
        caller = self.target.caller
        return caller.engine.stats.retransmissions if isinstance(caller, RpcSocketClient) else None

    def close(self) -> None:
        try:
            for program in self.programs:
                for version in VERSIONS:
                    self.target.run(self.stub.PMAPPROC_UNSET(mapping(program, version, 0, 0)))
        except RpcError:
            pass  # a server that stopped answering keeps them; the next examples use others
        finally:
            self.target.close()


def portmapper_answers(target: Target) -> str | None:
    """None if the target answers a port mapper NULL on its NFS port, else its answer."""
    null = PMAP_VERS_Client(target.caller).PMAPPROC_NULL()
    try:
        target.run(asyncio.wait_for(null, NULL_TIMEOUT))
    except RpcError as error:
        return str(error)
    except TimeoutError:
        return f"no answer to a port mapper NULL within {NULL_TIMEOUT:g} s"
    return None
