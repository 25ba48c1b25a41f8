"""The AFS service in the simulation world: one server, a few clients, a journal.

Rules:
- Node "server" serves AFS_PROGRAM on port 7000 (the AFS file server's port) with a
  duplicate request cache, over a FileTable that survives its crashes (the durable
  half); each start is a new AfsServer, hence a new epoch, with no promises. Its breaks
  run as node tasks over one soft SimRpcClient per client callback address; XIDs start
  at a per-incarnation base so a late reply to an earlier incarnation never matches.
- Each client node runs an AfsClient (copies in memory) calling the server from port
  7002 with a hard retry policy, and serves its callbacks on port 7001 (AFS's callback
  port). Its Caller is wrapped by a RecordingCaller that notes the epoch of every reply
  about a path: what the client was told, independent of what it did with it.
- The journal holds the server's events (reference.afs.events) and a Restarted marker per
  server restart, in the order they happened, across incarnations.
- `run(client, operation)` runs one client operation to completion in virtual time;
  `restart_server()` crashes and restarts the server at once; `deafen()` closes every
  client's callback port until that client's next operation (breaks sent meanwhile are
  lost); `wait(s)` lets `s` virtual seconds pass; `stop()` crashes every node at the
  end. Every fault decision comes from the world's FaultSource.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource, NodeContext, SimFuture, SimWorld
from faults.sim.rpc import SimRpcClient, SimRpcServer
from reference.afs.breaks import TaskBreakSender
from reference.afs.callbacks import CallbackState, ClientMutants
from reference.afs.client import AfsClient
from reference.afs.events import ServerEvent
from reference.afs.files import FileTable
from reference.afs.server import AfsServer, ServerMutants
from reference.rpc.client import RetryPolicy
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.stubs import Address, Caller, Procedure
from reference.xdr.gen.afs import (
    afs_fetch_args,
    afs_fetch_res,
    afs_status_res,
    afs_store_args,
    afs_store_res,
)

A = TypeVar("A")
R = TypeVar("R")
T = TypeVar("T")

SERVER = "server"
AFS_PORT = 7000
CALLBACK_PORT = 7001
CLIENT_PORT = 7002
FIRST_BREAK_PORT = 7100
CALLBACK_SECONDS = 10
CLIENT_POLICY = RetryPolicy(timeo=0.02, retrans=3, hard=True, max_timeo=0.1)
BREAK_POLICY = RetryPolicy(timeo=0.02, retrans=2, max_timeo=0.1)
RETRY_DELAY = 0.01
MAX_EVENTS = 200_000


@dataclass(frozen=True, slots=True)
class Restarted:
    """The harness restarted the server (its promises are gone)."""

    time: float


JournalEntry = ServerEvent | Restarted


@dataclass(frozen=True, slots=True)
class ReplySeen:
    """A client's Caller returned a reply about `path` carrying `epoch`."""

    time: float
    path: bytes
    epoch: int


class RecordingCaller:
    """A Caller that notes the epoch of every AFS reply about a path."""

    def __init__(self, inner: Caller, context: NodeContext) -> None:
        self.inner = inner
        self.context = context
        self.replies: list[ReplySeen] = []

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        result = await self.inner.call(procedure, args)
        if isinstance(args, afs_fetch_args | afs_store_args) and isinstance(
            result, afs_fetch_res | afs_status_res | afs_store_res
        ):
            self.replies.append(ReplySeen(self.context.now, args.path, result.epoch))
        return result


@dataclass
class SimAfsClient:
    name: str
    context: NodeContext
    client: AfsClient
    caller: RecordingCaller
    deaf: bool = False  # its callback port is closed: breaks to it are lost

    def serve_callbacks(self) -> None:
        cache = DuplicateRequestCache()
        SimRpcServer(self.context, CALLBACK_PORT, [self.client.callback_service], cache)
        self.deaf = False

    @property
    def callback_address(self) -> Address:
        return (self.name, CALLBACK_PORT)


@dataclass
class AfsWorld:
    world: SimWorld
    files: FileTable
    journal: list[JournalEntry] = field(default_factory=list)
    clients: dict[str, SimAfsClient] = field(default_factory=dict)

    def run(self, name: str, operation: Callable[[AfsClient], Coroutine[Any, Any, T]]) -> T:
        """Run `operation(client)` on client `name` until it returns (or raises)."""
        client = self.clients[name]
        if client.deaf:
            client.serve_callbacks()
        task = client.context.spawn(operation(client.client))
        task.add_done_callback(_awaited)  # its error is raised here, not by the world
        self.world.run_until(task.done, max_events=MAX_EVENTS)
        return task.result()

    def restart_server(self) -> None:
        self.world.crash(SERVER)
        self.journal.append(Restarted(self.world.now))
        self.world.restart(SERVER)

    def wait(self, seconds: float) -> None:
        self.world.run_for(seconds, max_events=MAX_EVENTS)

    def deafen(self) -> None:
        """Lose every callback break to every client until that client next runs an
        operation: a partition that heals when the client needs the server."""
        for client in self.clients.values():
            if not client.deaf:
                self.world.unbind((client.name, CALLBACK_PORT))
                client.deaf = True

    def stop(self) -> None:
        """Crash every node: closes the coroutines of tasks that never ran (a run that
        Hypothesis abandoned midway), so none is left unawaited."""
        for name in [SERVER, *self.clients]:
            if self.world.is_up(name):
                self.world.crash(name)


def make_afs_world(
    faults: FaultSource,
    rates: FaultRates,
    client_names: Iterable[str],
    initial: dict[bytes, bytes],
    server_mutants: ServerMutants | None = None,
    client_mutants: ClientMutants | None = None,
) -> AfsWorld:
    """A started world: the server holding `initial`, and one client per name."""
    files = FileTable()
    for path, data in initial.items():
        files.store(path, data)
    afs = AfsWorld(SimWorld(faults, rates), files)

    def start_server(context: NodeContext) -> None:
        breakers: dict[Address, Caller] = {}
        first_xid = ((context.incarnation + 1) << 20) & 0xFFFF_FFFF

        async def caller_for(address: Address) -> Caller:
            caller = breakers.get(address)
            if caller is None:
                port = FIRST_BREAK_PORT + len(breakers)
                caller = SimRpcClient(context, address, port, BREAK_POLICY, first_xid=first_xid)
                breakers[address] = caller
            return caller

        service = AfsServer(
            files,
            _clock(context),
            TaskBreakSender(context.spawn, caller_for),
            CALLBACK_SECONDS,
            afs.journal.append,
            server_mutants or ServerMutants(),
        )
        SimRpcServer(context, AFS_PORT, [service], DuplicateRequestCache())

    afs.world.add_node(SERVER, start_server)
    for index, name in enumerate(client_names):
        context = afs.world.add_node(name, lambda context: None)
        callbacks = CallbackState(client_mutants or ClientMutants())
        first_xid = (index + 1) << 28
        rpc = SimRpcClient(context, (SERVER, AFS_PORT), CLIENT_PORT, CLIENT_POLICY, None, first_xid)
        caller = RecordingCaller(rpc, context)
        client = AfsClient(
            caller,
            CALLBACK_PORT,
            _clock(context),
            context.sleep,
            None,
            callbacks,
            RETRY_DELAY,
        )
        afs.clients[name] = SimAfsClient(name, context, client, caller)
        afs.clients[name].serve_callbacks()
    return afs


def _clock(context: NodeContext) -> Callable[[], float]:
    return lambda: context.now


def _awaited(task: SimFuture[Any]) -> None:
    """A done callback that marks a task as awaited: its caller reads its result."""
