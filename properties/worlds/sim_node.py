"""The reference NFS server as a node of a simulated world, wired once for every world that
simulates one (the server properties' sim target, the caching clients' world).

Rules:
- The node serves NFSv3, NFSv2, MOUNT v3 and MOUNT v1 on port 2049 over a MemoryStore
  that outlives the node (it is the disk); each incarnation builds a fresh FileSystem on
  the node's wall clock whose write verifier comes from a PRNG seeded by (seed,
  incarnation), so runs replay exactly, and, when `drc` is on, a fresh (volatile)
  duplicate request cache (with the planted `bugs.drc`, off unless a test turns them on).
- `crash_and_restart()` is what a real crash does: the node crashes (its tasks, sockets
  and cache are gone), the store loses what was not durable, and the node starts again.
- `on_change`, when given, is called after every call that may have changed what the
  server holds (CHANGING), for worlds that record the server's history; `fs` is the
  running incarnation's FileSystem.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from faults.sim import NodeContext, SimWorld
from faults.sim.nodes import Address
from faults.sim.rpc import SimRpcServer
from reference.nfs.drc_policy import NFS3_NON_IDEMPOTENT, NFS_DRC_POLICY
from reference.nfs.fs import FileSystem
from reference.nfs.memory_store import MemoryStore
from reference.nfs.mount1_service import MountV1Service
from reference.nfs.mount_service import MountService
from reference.nfs.mutants import NO_BUGS, ServerBugs
from reference.nfs.nfs2_service import NfsV2Service
from reference.nfs.nfs3_service import NfsV3Service
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.stubs import CallContext
from reference.xdr.gen.nfs3 import NFSPROC3_COMMIT

NODE = "server"
ADDRESS: Address = (NODE, 2049)
EXPORT = b"/export"
# Procedures that may change what the server holds: the non-idempotent ones, and COMMIT,
# which is safe to repeat (so not cached) but makes UNSTABLE writes survive a crash.
CHANGING = NFS3_NON_IDEMPOTENT | {NFSPROC3_COMMIT}


class SimNfsServer:
    """The server node "server" of `world` (see the module rules)."""

    def __init__(
        self,
        world: SimWorld,
        *,
        drc: bool = True,
        seed: int = 0,
        on_change: Callable[[], None] | None = None,
        bugs: ServerBugs = NO_BUGS,
    ) -> None:
        self.world = world
        self.drc = drc
        self.bugs = bugs
        self.store = MemoryStore(seed=seed)
        self._seed = seed
        self._on_change = on_change
        self.fs: FileSystem
        world.add_node(NODE, self._start)

    def _start(self, node: NodeContext) -> None:
        verifiers = random.Random(f"verifier:{self._seed}:{node.incarnation}")
        self.fs = FileSystem(
            self.store,
            clock_ns=node.wall_clock_ns,
            random_bytes=verifiers.randbytes,
            bugs=self.bugs,
        )
        nfs = (
            NfsV3Service(self.fs) if self._on_change is None else _Watched(self.fs, self._on_change)
        )
        cache = (
            DuplicateRequestCache(policy=NFS_DRC_POLICY, bugs=self.bugs.drc) if self.drc else None
        )
        mount = MountService(self.fs, EXPORT)
        programs = [nfs, NfsV2Service(self.fs), mount, MountV1Service(mount)]
        SimRpcServer(node, ADDRESS[1], programs, cache)

    def crash_and_restart(self) -> None:
        self.world.crash(NODE)
        self.store.crash()
        self.world.restart(NODE)

    def close(self) -> None:
        self.store.close()


class _Watched(NfsV3Service):
    """NfsV3Service that reports every call that may have changed something."""

    def __init__(self, fs: FileSystem, changed: Callable[[], None]) -> None:
        super().__init__(fs)
        self._changed = changed

    def handler(self, number: int) -> Callable[[Any, CallContext], Any]:
        method = super().handler(number)
        if number not in CHANGING:
            return method

        def watched(args: Any, ctx: CallContext) -> Any:
            result = method(args, ctx)
            self._changed()
            return result

        return watched
