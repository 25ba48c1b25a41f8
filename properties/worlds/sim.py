"""The simulation-world Target: the reference NFS server on a memory store, one client.

Rules:
- Node "server" is the simulated reference server (properties/worlds/sim_node.py): NFSv3
  and MOUNT v3 on port 2049 over a MemoryStore that outlives its crashes.
- Node "client" runs a hard-mount RPC client (AUTH_SYS as root): calls are retried
  until answered, as the Linux client's default `hard` mount does. It is the target's
  `caller` for NFS and MOUNT alike (one port).
- Raw calls (`send_raw`) leave port RAW_PORT of a client node: the same bytes resent
  every HARD_MOUNT.timeo until a reply with their XID comes, at most RAW_ATTEMPTS times
  (a SimRawClient). `another_client()` adds a node of its own ("client2", "client3", ...)
  with a SimRawClient of its own: another client address, on the same faulty network.
- `partition(starts_in, lasts)` cuts the network between the two nodes with world timers
  (no crash cancels them), so a partition can begin in the middle of a call.
- Time is virtual: `run()` advances the world until the coroutine finishes, bounded by
  MAX_EVENTS (a run that exceeds it is a SimLimitExceeded, never a hang).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource, NodeContext, SimFuture, SimWorld
from faults.sim.nodes import Address
from faults.sim.rpc import SimRpcClient
from properties.harness import progress
from properties.worlds.probe import REFERENCE
from properties.worlds.sim_node import ADDRESS, EXPORT, NODE, SimNfsServer
from properties.worlds.target import SIMULATED, TargetFactory
from reference.nfs.mutants import NO_BUGS, ServerBugs
from reference.rpc.client import RetryPolicy
from reference.rpc.message import peek_xid
from reference.rpc.stubs import AuthSys

T = TypeVar("T")

CLIENT_PORT = 800
RAW_PORT = 801
MAX_EVENTS = 200_000
RAW_ATTEMPTS = 20
HARD_MOUNT = RetryPolicy(timeo=0.05, retrans=3, hard=True, max_timeo=0.4)
ROOT = AuthSys(0, b"nfsprop-client", 0, 0)


class SimRawClient:
    """Raw calls from port RAW_PORT of `node` to the server (see the module rules)."""

    def __init__(self, node: NodeContext) -> None:
        self.node = node
        self._replies: dict[int, SimFuture[bytes]] = {}
        node.bind(RAW_PORT, self._on_reply)

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        known = peek_xid(message)
        if known is None:
            raise ValueError("send_raw needs a whole RPC call message")
        reply: SimFuture[bytes] = SimFuture()
        self._replies[known[0]] = reply
        for _ in range(RAW_ATTEMPTS):  # the same bytes, as a retransmission would be
            self.node.send(RAW_PORT, ADDRESS, message)
            await self.node.sleep(HARD_MOUNT.timeo)
            if reply.done():
                break
        self._replies.pop(known[0], None)
        return reply.result() if reply.done() else None

    def _on_reply(self, message: bytes, source: Address) -> None:
        known = peek_xid(message)
        waiting = None if known is None else self._replies.get(known[0])
        if waiting is not None and not waiting.done():
            waiting.set_result(message)


class SimTarget:
    name = "sim"
    export = EXPORT
    capabilities = SIMULATED
    features = REFERENCE
    credential = ROOT
    wire = None  # the simulation keeps a trace instead (faults.sim.trace)

    def __init__(
        self,
        faults: FaultSource,
        drc: bool = True,
        rates: FaultRates | None = None,
        seed: int = 0,
        bugs: ServerBugs = NO_BUGS,
    ) -> None:
        self.sim = SimWorld(faults, rates or FaultRates())
        self.server = SimNfsServer(self.sim, drc=drc, seed=seed, bugs=bugs)
        self.client = self.sim.add_node("client", lambda node: None)
        self.caller = self.mount_caller = SimRpcClient(
            self.client, ADDRESS, CLIENT_PORT, HARD_MOUNT, ROOT
        )
        self._raw = SimRawClient(self.client)
        self._other_clients = 0
        self._next_raw_xid = 0x8000_0000

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        task = self.client.spawn(operation)
        self.sim.run_until(task.done, max_events=MAX_EVENTS)
        return task.result()

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        return await self._raw.send_raw(message, reconnect)

    def next_xid(self) -> int:
        self._next_raw_xid += 1
        return self._next_raw_xid

    def another_client(self) -> SimRawClient:
        self._other_clients += 1
        node = self.sim.add_node(f"client{self._other_clients + 1}", lambda node: None)
        return SimRawClient(node)

    def crash_and_restart(self) -> None:
        progress.current().restarts += 1
        self.server.crash_and_restart()

    def partition(self, starts_in: float, lasts: float) -> None:
        world = self.sim

        def cut() -> None:
            world.partition("client", NODE)
            world.call_later(lasts, None, lambda: world.heal("client", NODE))

        world.call_later(starts_in, None, cut)

    def jump_clock(self, seconds: float) -> None:
        self.sim.jump_clock(NODE, seconds)

    def close(self) -> None:
        self.server.close()


def make_sim_target(
    faults: FaultSource, drc: bool = True, rates: FaultRates | None = None, seed: int = 0
) -> SimTarget:
    return SimTarget(faults, drc, rates, seed)


def sim_target_with(bugs: ServerBugs) -> TargetFactory:
    """make_sim_target, its server with the planted `bugs` (for a check that must find them)."""

    def make(faults: FaultSource, drc: bool = True, rates: FaultRates | None = None) -> SimTarget:
        return SimTarget(faults, drc, rates, bugs=bugs)

    return make
