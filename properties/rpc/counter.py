"""The at-most-once scenario: one client incrementing the counter service over a faulty
simulated network, and the check of what the server executed.

Rules: a run is a pure function of its FaultSource and its settings, so a failing run
replays from its recorded choices. The check is the RPC layer's at-most-once promise:
every call that got a reply was executed exactly once, and no call was executed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings

from faults.sim import FaultRates, FaultSource, NodeContext, RecordingFaults, SimWorld
from faults.sim.rpc import SimRpcClient, SimRpcServer
from properties.harness.replay.file import ReplayFile, failure_text, rates_settings
from reference.rpc.client import RetryPolicy
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.errors import RpcError
from reference.xdr.gen.counter import COUNTER_V1_Client

SERVER = ("server", 2049)
CLIENT_PORT = 700
FAULTY_NETWORK = FaultRates(drop=0.15, duplicate=0.15, delay=0.15, reorder=0.1, max_delay=0.02)
CLIENT_POLICY = RetryPolicy(timeo=0.01, retrans=4, max_timeo=0.08)
SERVICE_TIME = 0.002


class AtMostOnceViolation(AssertionError):
    """A call was executed more than once, or a replied call was never executed."""


@dataclass
class CounterRun:
    world: SimWorld
    increments: list[int]
    drc: bool
    rates: FaultRates
    service: CounterService
    replies: dict[int, int] = field(default_factory=dict)  # call index -> value
    failures: dict[int, str] = field(default_factory=dict)  # call index -> error
    xids: dict[int, int] = field(default_factory=dict)  # call index -> xid


def run_counter(
    faults: FaultSource,
    increments: list[int],
    drc: bool,
    rates: FaultRates = FAULTY_NETWORK,
) -> CounterRun:
    world = SimWorld(faults, rates)
    services: list[CounterService] = []

    def start_server(context: NodeContext) -> None:
        service = CounterService()
        services.append(service)
        cache = DuplicateRequestCache() if drc else None
        SimRpcServer(context, SERVER[1], [service], cache, service_time=SERVICE_TIME)

    world.add_node("server", start_server)
    client_node = world.add_node("client", lambda context: None)
    caller = SimRpcClient(client_node, SERVER, CLIENT_PORT, CLIENT_POLICY, first_xid=1)
    stub = COUNTER_V1_Client(caller)
    run = CounterRun(world, increments, drc, rates, services[0])

    async def increment(index: int, amount: int) -> None:
        run.xids[index] = caller.engine.stats.calls + 1
        try:
            run.replies[index] = await stub.COUNTERPROC_INCREMENT(amount)
        except RpcError as error:
            run.failures[index] = str(error)

    for index, amount in enumerate(increments):
        client_node.spawn(increment(index, amount))
    world.run_until_idle(max_events=100_000)
    return run


def check_at_most_once(run: CounterRun) -> None:
    executions = run.service.executions
    for (client, xid), count in sorted(executions.items()):
        if count > 1:
            raise AtMostOnceViolation(
                f"xid {xid} from {client} was executed {count} times\n"
                + run.world.trace.sequence_chart()
            )
    for index in run.replies:
        xid = run.xids[index]
        if executions[(("client", CLIENT_PORT), xid)] != 1:
            raise AtMostOnceViolation(f"call {index} (xid {xid}) got a reply but never ran")


def counter_replay(
    property_id: str,
    run: CounterRun,
    recorder: RecordingFaults,
    error: BaseException,
    seed: str | None = None,
) -> ReplayFile:
    """The replay file of a failed counter run (properties/harness/replay/file.py):
    `recorder` must be the fault source the run was given."""
    return ReplayFile(
        property=property_id,
        kind="counter",
        world="sim",
        failure=failure_text(error),
        settings={
            "profile": settings.get_current_profile_name(),
            "seed": seed,
            "drc": run.drc,
            "rates": rates_settings(run.rates),
        },
        operations=list(run.increments),
        faults=list(recorder.records),
        trace=run.world.trace.to_json(),
    )
