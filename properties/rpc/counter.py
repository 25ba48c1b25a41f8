"""The at-most-once scenario: one client incrementing the counter service over a faulty
simulated network, and the check of what the server executed.

Rules: a run is a pure function of its FaultSource and its CounterConfig, so a failing
run replays from its recorded choices. The check is the RPC layer's at-most-once promise:
every call that got a reply was executed exactly once, and no call was executed twice.
`saving_counter_failures` leaves the replay file of the counter family (COUNTER,
registered in properties/families.py), whose operations are the increments.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from faults.sim import FaultRates, FaultSource, NodeContext, RecordingFaults, SimWorld
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
from reference.rpc.errors import RpcError
from reference.xdr.gen.counter import COUNTER_V1_Client

SERVER = ("server", 2049)
CLIENT_PORT = 700
FAULTY_NETWORK = FaultRates(drop=0.15, duplicate=0.15, delay=0.15, reorder=0.1, max_delay=0.02)
CLIENT_POLICY = RetryPolicy(timeo=0.01, retrans=4, max_timeo=0.08)
SERVICE_TIME = 0.002


class AtMostOnceViolation(AssertionError):
    """A call was executed more than once, or a replied call was never executed."""


@dataclass(frozen=True)
class CounterConfig:
    drc: bool
    rates: FaultRates = FAULTY_NETWORK

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        if not isinstance(body["drc"], bool):
            raise TypeError("drc must be true or false")
        return cls(body["drc"], FaultRates(**body["rates"]))


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


def saving_counter_failures(
    context: RunContext, run: CounterRun, recorder: RecordingFaults, directory: Path | None = None
) -> AbstractContextManager[None]:
    """A block that leaves `run`'s replay file when it raises: `recorder` must be the fault
    source the run was given."""

    def evidence() -> Evidence:
        trace = run.world.trace.to_json()
        return Evidence(list(run.increments), list(recorder.records), trace)

    config = CounterConfig(run.drc, run.rates)
    return COUNTER.saving_failures(context, config, evidence, directory)


def replay_counter(replay: ReplayFile, config: CounterConfig) -> ReplayOutcome:
    """The recorded increments again, with the recorded fault decisions, then the check."""
    try:
        amounts = [int(amount) for amount in replay.operations]
    except SETTINGS_ERRORS as error:
        raise settings_error(replay, error) from None
    return run_and_check(
        replay,
        lambda: run_counter(recorded_faults(replay), amounts, config.drc, config.rates),
        lambda run: run.world.trace.to_json(),
        check_at_most_once,
    )


COUNTER = Family("counter", CounterConfig, replay_counter)
