"""The simulation-world Target: the reference NFS server on a memory store, one client.

Rules:
- Node "server" runs NFSv3 and MOUNT v3 on port 2049 over a MemoryStore that outlives
  the node (it is the disk); each incarnation builds a fresh FileSystem whose write
  verifier comes from a PRNG seeded by the incarnation, so runs replay exactly.
- Node "client" runs a hard-mount RPC client (AUTH_SYS as root): calls are retried
  until answered, as the Linux client's default `hard` mount does.
- `partition(starts_in, lasts)` cuts the network between the two nodes with world timers
  (no crash cancels them), so a partition can begin in the middle of a call.
- Time is virtual: `run()` advances the world until the coroutine finishes, bounded by
  MAX_EVENTS (a run that exceeds it is a SimLimitExceeded, never a hang).
"""

from __future__ import annotations

import random
from collections.abc import Coroutine
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource, NodeContext, SimFuture, SimWorld
from faults.sim.nodes import Address
from faults.sim.rpc import SimRpcClient, SimRpcServer
from reference.nfs.drc_policy import NFS_DRC_POLICY
from reference.nfs.fs import FileSystem
from reference.nfs.memory_store import MemoryStore
from reference.nfs.mount_service import MountService
from reference.nfs.nfs3_service import NfsV3Service
from reference.rpc.client import RetryPolicy
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.message import peek_xid
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

T = TypeVar("T")

SERVER: Address = ("server", 2049)
CLIENT_PORT = 800
RAW_PORT = 801
MAX_EVENTS = 200_000
RAW_ATTEMPTS = 20
HARD_MOUNT = RetryPolicy(timeo=0.05, retrans=3, hard=True, max_timeo=0.4)
ROOT = AuthSys(0, b"nfsprop-client", 0, 0)


class SimTarget:
    name = "sim"
    export = b"/export"
    can_crash = True
    can_inject_faults = True
    can_partition = True
    can_jump_clock = True

    def __init__(
        self, faults: FaultSource, drc: bool = True, rates: FaultRates | None = None, seed: int = 0
    ) -> None:
        self.has_drc = drc
        self.world = SimWorld(faults, rates or FaultRates())
        self.store = MemoryStore(seed=seed)
        self.services: list[NfsV3Service] = []
        self._seed = seed
        self.world.add_node("server", self._start_server)
        self.client = self.world.add_node("client", lambda node: None)
        self.caller = SimRpcClient(self.client, SERVER, CLIENT_PORT, HARD_MOUNT, ROOT)
        self.nfs = NFS_V3_Client(self.caller)
        self.mount = MOUNT_V3_Client(self.caller)
        self._raw_replies: dict[int, SimFuture[bytes]] = {}
        self._next_raw_xid = 0x8000_0000
        self.client.bind(RAW_PORT, self._on_raw_reply)

    def _start_server(self, node: NodeContext) -> None:
        verifiers = random.Random(f"verifier:{self._seed}:{node.incarnation}")
        fs = FileSystem(
            self.store,
            clock_ns=node.wall_clock_ns,
            random_bytes=verifiers.randbytes,
        )
        service = NfsV3Service(fs)
        self.services.append(service)
        cache = DuplicateRequestCache(policy=NFS_DRC_POLICY) if self.has_drc else None
        SimRpcServer(node, SERVER[1], [service, MountService(fs, self.export)], cache)

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        task = self.client.spawn(operation)
        self.world.run_until(task.done, max_events=MAX_EVENTS)
        return task.result()

    async def send_raw(self, message: bytes) -> bytes | None:
        known = peek_xid(message)
        if known is None:
            raise ValueError("send_raw needs a whole RPC call message")
        reply: SimFuture[bytes] = SimFuture()
        self._raw_replies[known[0]] = reply
        for _ in range(RAW_ATTEMPTS):  # the same bytes, as a retransmission would be
            self.client.send(RAW_PORT, SERVER, message)
            await self.client.sleep(HARD_MOUNT.timeo)
            if reply.done():
                break
        self._raw_replies.pop(known[0], None)
        return reply.result() if reply.done() else None

    def _on_raw_reply(self, message: bytes, source: Address) -> None:
        known = peek_xid(message)
        waiting = None if known is None else self._raw_replies.get(known[0])
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    def next_xid(self) -> int:
        self._next_raw_xid += 1
        return self._next_raw_xid

    def crash_and_restart(self) -> None:
        self.world.crash("server")
        self.store.crash()
        self.world.restart("server")

    def partition(self, starts_in: float, lasts: float) -> None:
        world = self.world

        def cut() -> None:
            world.partition("client", "server")
            world.call_later(lasts, None, lambda: world.heal("client", "server"))

        world.call_later(starts_in, None, cut)

    def jump_clock(self, seconds: float) -> None:
        self.world.jump_clock("server", seconds)

    def close(self) -> None:
        self.store.close()


def make_sim_target(
    faults: FaultSource, drc: bool = True, rates: FaultRates | None = None, seed: int = 0
) -> SimTarget:
    return SimTarget(faults, drc, rates, seed)
