"""Simulated RPC calls per second: the whole stack (generated stub, client engine, sim
network, server engine with its duplicate request cache, counter service) in one process.

Rules: one sequential client, no faults, trace on (as the properties run it); the
figure is calls completed per second of wall time, best of a few runs.
"""

from bench.table import best_rate, print_table
from faults.sim import NodeContext, NoFaults, SimWorld
from faults.sim.rpc import SimRpcClient, SimRpcServer
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.xdr.gen.counter import COUNTER_V1_Client

CALLS = 20_000
TARGET = 20_000.0


def simulate_calls() -> int:
    world = SimWorld(NoFaults())

    def start_server(node: NodeContext) -> None:
        SimRpcServer(node, 2049, [CounterService()], DuplicateRequestCache())

    world.add_node("server", start_server)
    client = world.add_node("client", lambda node: None)
    stub = COUNTER_V1_Client(SimRpcClient(client, ("server", 2049), 700))

    async def calls() -> None:
        for _ in range(CALLS):
            await stub.COUNTERPROC_INCREMENT(1)

    client.spawn(calls())
    world.run_until_idle(max_events=10 * CALLS)
    return CALLS


def main() -> None:
    rate = best_rate(simulate_calls, repeats=3)
    print_table(
        "Simulated RPC calls (counter INCREMENT, full stack, one process)",
        ["measure", "calls/s", "target", "ratio to target"],
        [["sim world", rate, TARGET, rate / TARGET]],
    )
