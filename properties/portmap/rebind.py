"""The rebinding scenario: a client that finds the counter service through the port mapper
keeps working across restarts that move the service to another port.

Rules:
- Three nodes of one simulated world, every fault decision from the run's FaultSource:
  "portmapper" serves PortmapService (with the run's planted bugs) on port 111 without a
  duplicate request cache, as rpcbind does; "server" serves the counter service
  (reference/rpc/counter_service.py, volatile: a restart starts it at 0) with a duplicate
  request cache on port FIRST_SERVICE_PORT + its incarnation (a crash and a restart each
  count one), so every restart moves it, and registers that port: it asks GETPORT when it
  starts and every REGISTER_CHECK seconds, UNSETs and SETs its mapping when the answer is
  another port (or none), and stops once STEADY_CHECKS answers in a row named its port.
  Once is not enough without a cache at the port mapper: a delayed copy of an UNSET, or
  of an earlier incarnation's SET, may run after the SET and undo it (copies arrive at
  most 2 * max_delay late, well within the checks);
  "client" calls the counter through a RebindingCaller (reference/rpc/portmap.py), whose
  transport is a hard SimRpcClient that `rebind` points at another port, resending its
  pending call there with the same XID (SimTransport), and whose Patience is the node's
  virtual time (SimPatience).
- Operations run one at a time, each to completion: an increment (an int) is one INCREMENT
  call through the client; RESTART crashes and restarts the server at once. A run stops
  at the first increment never answered (the check fails there anyway).
- The check: every increment was answered (a ServiceUnreachable is a violation), and its
  value is the sum of the increments since the last restart: each ran exactly once at the
  live incarnation (the cache keeps a retransmission, or a resend after a rebind, from
  running twice; an incarnation's death takes its executions with it).
- A run is a pure function of its FaultSource, operations and RebindConfig, so a failing
  run replays from its recorded choices (the family REBIND, kind "rebind", registered in
  properties/families.py); `saving_rebind_failures` leaves its replay file.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

from faults.sim import FaultRates, FaultSource, NodeContext, RecordingFaults, SimFuture, SimWorld
from faults.sim.rpc import SimRpcClient, SimRpcServer
from properties.harness.replay.family import Evidence, Family
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import (
    SETTINGS_ERRORS,
    ReplayOutcome,
    recorded_faults,
    run_and_check,
    settings_error,
)
from reference.rpc.client import RetryPolicy
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.errors import RpcError, RpcTimeout
from reference.rpc.portmap import (
    NO_PORTMAP_BUGS,
    PortmapBugs,
    PortmapService,
    RebindingCaller,
    RebindPolicy,
    Running,
)
from reference.rpc.stubs import Procedure
from reference.xdr.gen.counter import COUNTER_PROGRAM, COUNTER_V1, COUNTER_V1_Client
from reference.xdr.gen.portmap import IPPROTO_UDP, PMAP_PORT, PMAP_VERS_Client, mapping

A = TypeVar("A")
R = TypeVar("R")

RESTART = "restart"
Operation = int | str  # an increment's amount, or RESTART
PORTMAPPER = ("portmapper", PMAP_PORT)
SERVER = "server"
CLIENT = "client"
FIRST_SERVICE_PORT = 3000  # incarnation n serves on FIRST_SERVICE_PORT + n
REGISTRAR_PORT = 900  # the server's port mapper client
CLIENT_PORTMAP_PORT = 801
CLIENT_SERVICE_PORT = 802
KEY = (COUNTER_PROGRAM, COUNTER_V1, IPPROTO_UDP)
PORTMAP_POLICY = RetryPolicy(timeo=0.01, retrans=3, max_timeo=0.08)
SERVICE_POLICY = RetryPolicy(timeo=0.01, retrans=3, hard=True, max_timeo=0.08)
REBIND_POLICY = RebindPolicy(patience=0.2, rebinds=10)
REGISTER_CHECK = 0.1  # seconds between a server's checks of its mapping
STEADY_CHECKS = 3  # answers in a row naming its port after which a server stops checking
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.02)
MAX_EVENTS = 200_000
CHART_LINES = 60


class RebindViolation(AssertionError):
    """An increment was never answered, or answered a value the model does not allow."""


@dataclass(frozen=True)
class RebindConfig:
    rates: FaultRates = FAULTY_NETWORK
    bugs: PortmapBugs = NO_PORTMAP_BUGS

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        return cls(FaultRates(**body["rates"]), PortmapBugs(**body["bugs"]))


class SimTransport:
    """A Rebindable over a SimRpcClient: `rebind` sends its later messages to another port
    of the same node, and its pending calls there at once, with their XIDs."""

    def __init__(self, client: SimRpcClient) -> None:
        self.client = client

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        return await self.client.call(procedure, args)

    def rebind(self, port: int) -> None:
        client = self.client
        client.server = (client.server[0], port)
        client.context.note(f"rebind to port {port}")
        for outgoing in client.engine.resend_all():
            client.context.send(client.port, client.server, outgoing.message)


class SimPatience:
    """A Patience on the virtual time of node `context`."""

    def __init__(self, context: NodeContext) -> None:
        self.context = context

    def start(self, call: Any) -> SimFuture[Any]:
        task = self.context.spawn(call)
        task.add_done_callback(lambda _: None)  # its error is the caller's to read
        return task

    def wait(self, running: Running[Any], seconds: float) -> SimFuture[None]:
        assert isinstance(running, SimFuture), running
        woken: SimFuture[None] = SimFuture()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        def answered(_: SimFuture[Any]) -> None:
            timer.cancel()
            wake()

        timer = self.context.call_later(seconds, wake)
        running.add_done_callback(answered)
        return woken

    def sleep(self, seconds: float) -> SimFuture[None]:
        return self.context.sleep(seconds)


@dataclass
class RebindRun:
    world: SimWorld
    operations: list[Operation]
    config: RebindConfig
    replies: dict[int, int] = field(default_factory=dict)  # operation index -> value
    failures: dict[int, str] = field(default_factory=dict)  # operation index -> error


async def register(portmapper: PMAP_VERS_Client, port: int, context: NodeContext) -> None:
    """Map KEY to `port` until STEADY_CHECKS answers in a row say so (module rules)."""
    program, version, protocol = KEY
    steady = 0
    while steady < STEADY_CHECKS:
        try:
            if await portmapper.PMAPPROC_GETPORT(mapping(program, version, protocol, 0)) == port:
                steady += 1
            else:
                steady = 0
                await portmapper.PMAPPROC_UNSET(mapping(program, version, protocol, 0))
                await portmapper.PMAPPROC_SET(mapping(program, version, protocol, port))
        except RpcTimeout:
            steady = 0  # asked again at the next check
        await context.sleep(REGISTER_CHECK)


def run_rebinding(
    faults: FaultSource, operations: list[Operation], config: RebindConfig
) -> RebindRun:
    world = SimWorld(faults, config.rates)

    def start_portmapper(context: NodeContext) -> None:
        SimRpcServer(context, PORTMAPPER[1], [PortmapService(config.bugs)])

    def start_server(context: NodeContext) -> None:
        port = FIRST_SERVICE_PORT + context.incarnation
        SimRpcServer(context, port, [CounterService()], DuplicateRequestCache())
        first_xid = (context.incarnation + 1) << 20  # an old incarnation's replies never match
        registrar = SimRpcClient(
            context, PORTMAPPER, REGISTRAR_PORT, PORTMAP_POLICY, None, first_xid
        )
        context.spawn(register(PMAP_VERS_Client(registrar), port, context))

    world.add_node(PORTMAPPER[0], start_portmapper)
    world.add_node(SERVER, start_server)
    client = world.add_node(CLIENT, lambda context: None)
    portmapper = SimRpcClient(client, PORTMAPPER, CLIENT_PORTMAP_PORT, PORTMAP_POLICY)
    transport = SimRpcClient(
        client, (SERVER, 0), CLIENT_SERVICE_PORT, SERVICE_POLICY, None, 1 << 28
    )
    caller = RebindingCaller(
        portmapper, SimTransport(transport), KEY, SimPatience(client), REBIND_POLICY, config.bugs
    )
    stub = COUNTER_V1_Client(caller)
    run = RebindRun(world, operations, config)
    try:
        for index, operation in enumerate(operations):
            if operation == RESTART:
                world.crash(SERVER)
                world.restart(SERVER)
                continue
            task = client.spawn(stub.COUNTERPROC_INCREMENT(int(operation)))
            task.add_done_callback(lambda _: None)  # its error is ours to read, not the world's
            world.run_until(task.done, max_events=MAX_EVENTS)
            try:
                run.replies[index] = task.result()
            except RpcError as error:
                run.failures[index] = str(error)
                break
    finally:  # also when Hypothesis abandons the run midway: no coroutine left unawaited
        for name in (PORTMAPPER[0], SERVER, CLIENT):
            if world.is_up(name):
                world.crash(name)  # ends the tasks left: the registration, a call given up on
    return run


def check_rebinding(run: RebindRun) -> None:
    value = 0
    for index, operation in enumerate(run.operations):
        if operation == RESTART:
            value = 0
            continue
        value += int(operation)
        if index in run.failures:
            _violation(run, f"INCREMENT {operation} was never answered: {run.failures[index]}")
        if run.replies[index] != value:
            _violation(
                run,
                f"INCREMENT {operation} answered {run.replies[index]}; the model says {value}"
                " (the increments since the last restart, each run once)",
            )


def operations_text(operations: list[Operation]) -> list[str]:
    return ["RESTART the server" if op == RESTART else f"INCREMENT {op}" for op in operations]


def _violation(run: RebindRun, message: str) -> None:
    steps = "\n".join(f"  {n}. {step}" for n, step in enumerate(operations_text(run.operations), 1))
    chart = run.world.trace.sequence_chart(last=CHART_LINES)
    raise RebindViolation(f"{message}\nsteps:\n{steps}\ntrace:\n{chart}")


def saving_rebind_failures(
    context: RunContext, run: RebindRun, recorder: RecordingFaults, directory: Path | None = None
) -> AbstractContextManager[None]:
    """A block that leaves `run`'s replay file when it raises: `recorder` must be the fault
    source the run was given."""

    def evidence() -> Evidence:
        trace = run.world.trace.to_json()
        return Evidence(list(run.operations), list(recorder.records), trace)

    return REBIND.saving_failures(context, run.config, evidence, directory)


def replay_rebinding(replay: ReplayFile, config: RebindConfig) -> ReplayOutcome:
    """The recorded operations again, with the recorded fault decisions, then the check."""
    try:
        operations = [_operation(item) for item in replay.operations]
    except SETTINGS_ERRORS as error:
        raise settings_error(replay, error) from None
    return run_and_check(
        replay,
        lambda: run_rebinding(recorded_faults(replay), operations, config),
        lambda run: run.world.trace.to_json(),
        check_rebinding,
    )


def _operation(item: object) -> Operation:
    if item == RESTART:
        return RESTART
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    raise ValueError(f"an operation is an increment or {RESTART!r}, not {item!r}")


REBIND = Family("rebind", RebindConfig, replay_rebinding)
