"""A simulated world of caching NFS clients and one reference server whose history of
contents is recorded.

Rules:
- Node "server" is the simulated reference server (properties/worlds/sim_node.py), with
  its duplicate request cache; `crash_server()` crashes and restarts it (volatile writes
  lost).
- Nodes "c0", "c1", ... each run their own SimRpcClient (built with the mount options'
  retry policy, AUTH_SYS root) and one mounted NfsClient on the virtual clock.
- After every call that may change the file system, and after every crash, the server's
  view of the watched names in the export's root (file contents, or None when absent) and
  the root's listing are appended to a History with the virtual time. Checkers ask which
  values a name had during a window of time.
- `crash_after(n)` crashes (and restarts) the server right after it has executed n more
  calls that may change something (0: now), once that call's reply is on its way: a
  crash placed by protocol progress rather than by time, so a search finds the window
  between a WRITE and its COMMIT easily. `disarm()` cancels planned crashes.
- Faults come from the given FaultSource through a switch: `calm()` turns them off (every
  decision the boring one) for the end of a run.
- Runs are bounded by MAX_EVENTS per operation: a livelock is SimLimitExceeded, never a
  hang.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from faults.sim import FaultRates, FaultSource, NodeContext, SimWorld
from faults.sim.rpc import SimRpcClient
from properties.worlds.sim_node import ADDRESS, EXPORT, SimNfsServer
from reference.client import MountOptions, NfsClient
from reference.nfs.access import Identity
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.nfs.inode import ROOT_INO
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client, ftype3

T = TypeVar("T")
V = TypeVar("V")

CLIENT_PORT = 800
MAX_EVENTS = 200_000
ROOT = Identity(0, 0)
# Fast retransmission for the simulated network (latency 1 ms a hop).
SIM_MOUNT = MountOptions(timeo=0.05, retrans=3, hard=True, max_timeo=0.4)


class History(Generic[V]):
    """The values one thing had over time: (time, value) from the time it took the value."""

    def __init__(self, initial: V) -> None:
        self.changes: list[tuple[float, V]] = [(0.0, initial)]

    def record(self, now: float, value: V) -> None:
        if value != self.changes[-1][1]:
            self.changes.append((now, value))

    def during(self, start: float, end: float) -> list[V]:
        """Every value held at some instant of [start, end]."""
        values = [value for time, value in self.changes if start < time <= end]
        before = [value for time, value in self.changes if time <= start]
        return ([before[-1]] if before else []) + values


class SwitchableFaults:
    """A FaultSource that passes decisions to `inner` until `calm` is set."""

    def __init__(self, inner: FaultSource) -> None:
        self.inner = inner
        self.calm = False

    def choose(self, label: str, weights: Sequence[float]) -> int:
        return 0 if self.calm else self.inner.choose(label, weights)


@dataclass
class ClientNode:
    name: str
    context: NodeContext
    caller: SimRpcClient
    client: NfsClient | None = None

    @property
    def nfs(self) -> NfsClient:
        assert self.client is not None, f"{self.name} is not mounted"
        return self.client


@dataclass
class ServerState:
    """What the server holds now: watched names -> contents (None: absent)."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    names: tuple[str, ...] = ()


class ClientWorld:
    """N clients, one server, one recorded history."""

    def __init__(
        self,
        faults: FaultSource,
        options: Sequence[MountOptions],
        rates: FaultRates | None = None,
        watch: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        self.faults = SwitchableFaults(faults)
        self.world = SimWorld(self.faults, rates or FaultRates())
        self.server = SimNfsServer(self.world, seed=seed, on_change=self._changed)
        self.watch = tuple(watch)
        self.files: dict[str, History[bytes | None]] = {name: History(None) for name in watch}
        self.listing: History[tuple[str, ...]] = History(())
        self._countdowns: list[int] = []
        self.crashes = 0
        self.nodes: list[ClientNode] = []
        for index, option in enumerate(options):
            name = f"c{index}"
            context = self.world.add_node(name, lambda node: None)
            caller = SimRpcClient(
                context,
                ADDRESS,
                CLIENT_PORT,
                option.retry_policy(),
                AuthSys(0, name.encode(), 0, 0),
                first_xid=(index + 1) << 24,
            )
            node = ClientNode(name, context, caller)
            self.nodes.append(node)
            node.client = self.run(index, self._mount(node, option))

    async def _mount(self, node: ClientNode, options: MountOptions) -> NfsClient:
        context = node.context
        return await NfsClient.mount(
            NFS_V3_Client(node.caller),
            MOUNT_V3_Client(node.caller),
            EXPORT,
            lambda: context.now,
            options,
            name=node.name,
        )

    # -- driving -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.world.now

    def client(self, index: int) -> NfsClient:
        return self.nodes[index].nfs

    def run(self, index: int, operation: Coroutine[Any, Any, T]) -> T:
        """Run `operation` on client `index` until it finishes; its result or error."""
        task = self.nodes[index].context.spawn(operation)
        task.add_done_callback(lambda _: None)  # its error is ours to raise, not the world's
        self.world.run_until(task.done, max_events=MAX_EVENTS)
        return task.result()

    def advance(self, seconds: float) -> None:
        self.world.run_for(seconds, max_events=MAX_EVENTS)

    def crash_server(self) -> None:
        self.server.crash_and_restart()
        self.crashes += 1
        self.snapshot()

    def crash_after(self, calls: int) -> None:
        """Crash the server right after its `calls`-th next changing call (0: now)."""
        if calls <= 0:
            self.crash_server()
        else:
            self._countdowns.append(calls)

    def disarm(self) -> None:
        self._countdowns.clear()

    def _changed(self) -> None:
        self.snapshot()
        if not self._countdowns:
            return
        self._countdowns = [count - 1 for count in self._countdowns]
        if 0 in self._countdowns:
            self._countdowns = [count for count in self._countdowns if count > 0]
            self.world.note("server", "planned crash")
            self.world.call_later(0.0, None, self.crash_server)

    def calm(self) -> None:
        """No more faults from now on."""
        self.faults.calm = True

    # -- the server's side -------------------------------------------------------------

    def server_state(self) -> ServerState:
        fs = self.server.fs
        root = fs.root_handle()
        files: dict[str, bytes | None] = {}
        for name in self.watch:
            files[name] = _content(fs, root, name.encode())
        entries = self.server.store.entries(ROOT_INO, 0, 1 << 20)
        return ServerState(files, tuple(sorted(entry.name.decode() for entry in entries)))

    def content_of_handle(self, handle: bytes) -> bytes | None:
        """The contents of the file `handle` names now (None if it is gone)."""
        try:
            attributes = self.server.fs.getattr(handle)
            return self.server.fs.read(handle, 0, attributes.size, ROOT).data
        except NfsError:
            return None

    def snapshot(self) -> None:
        state = self.server_state()
        now = self.world.now
        for name, content in state.files.items():
            self.files[name].record(now, content)
        self.listing.record(now, state.names)


def _content(fs: FileSystem, root: bytes, name: bytes) -> bytes | None:
    try:
        handle = fs.lookup(root, name, ROOT).handle
        attributes = fs.getattr(handle)
    except NfsError:
        return None
    if attributes.type != ftype3.NF3REG:
        return None
    return fs.read(handle, 0, attributes.size, ROOT).data
