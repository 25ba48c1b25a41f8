"""Several clients at once against one server: colliding XIDs, their own replies.

In every world, clients c1, c2 and c3, each with an address of its own, number their
calls with one XID sequence and send each twice (where the server keeps a duplicate
request cache): every reply answers the call it was sent for, never another client's call
with the same XID, and what one client wrote FILE_SYNC every client reads; in the
simulation through dropped, duplicated, delayed and reordered messages too, and with the
cache off. A cache that leaves the client's address out of its key is found and shrunk
to two clients making the shared name with one XID; a server whose READ answers from a
cache that writes do not empty is found and shrunk to a read, a write and a read.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from faults.sim import NoFaults
from properties.clients import rules
from properties.clients.machine import (
    FAULTY_NETWORK,
    SHARED,
    ClientsConfig,
    clients_machine_class,
    run_clients_machine,
)
from properties.harness import findings
from properties.harness.findings import FindingError, Rule, check
from properties.harness.replay.file import run_context
from properties.harness.steps import DATA_ARGUMENT, RecordedStep, RunLog, replay_steps
from properties.worlds.registry import WORLDS
from properties.worlds.sim import make_sim_target, sim_target_with
from properties.worlds.target import Capabilities, TargetFactory
from reference.nfs.mutants import ServerBugs
from reference.rpc.drc import DrcBugs

STEPS = settings(stateful_step_count=20)
REAL_SOCKET_EXAMPLES = 10  # each example's calls wait on a real server, twice over
SHORT_RUNS = settings(stateful_step_count=10)  # a planted bug shows in a few steps
# c1 and c2 send each call alike (c2 right after c1, so with the same XID and the same
# arguments): MKDIR, REMOVE and CREATE of the shared name, then both write and c3 reads
SAME_CALLS = [
    RecordedStep("start", DATA_ARGUMENT),
    *(
        RecordedStep(function, {"client": client, "which": SHARED, **kind})
        for function, kind in (
            ("make", {"directory": True}),
            ("remove", {}),
            ("make", {"directory": False}),
        )
        for client in ("c1", "c2")
    ),
    RecordedStep("write", {"client": "c1", "offset": 0}),
    RecordedStep("write", {"client": "c2", "offset": 2}),
    RecordedStep("read", {"client": "c3"}),
]


@check(
    "CLIENTS",
    "clients with colliding XIDs get their own replies and read each other's FILE_SYNC writes",
    "RFC 5531 §5, §9; RFC 1813 §4.5, §3.3.7",
)
def test_clients_with_colliding_xids_get_their_own_replies(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    """Duplicates only where the server keeps a cache (without one a copy runs again, as
    the RFC allows); network faults in the simulation, where raw calls cross them."""
    simulated = WORLDS[world].simulated
    config = ClientsConfig(
        drc=capabilities.drc,
        rates=FAULTY_NETWORK if simulated else None,
        duplicates=capabilities.drc,
    )
    configured = STEPS
    if not simulated:
        examples = min(settings().max_examples, REAL_SOCKET_EXAMPLES)
        configured = settings(STEPS, max_examples=examples)
    run_clients_machine(config, target_factory, configured, run_context(request, world))


@check(
    "CLIENTS-SAME-CALL",
    "two clients sending one call with one XID each get their own reply (OK, then EXIST)",
    "RFC 5531 §5, §9; RFC 1813 §4.5",
)
def test_two_clients_sending_one_call_with_one_xid_get_their_own_replies(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    """What the machine meets by chance, for certain: byte-identical calls (copies too,
    where the server keeps a cache) from two client addresses, so a cache that keys on
    the XID and the arguments but not the client answers the second with the first's."""
    config = ClientsConfig(drc=capabilities.drc, duplicates=capabilities.drc)
    log = RunLog()
    replay_steps(clients_machine_class(config, target_factory, log)(), SAME_CALLS, NoFaults())
    assert len(log.logs[-1]) == len(SAME_CALLS) - 1, log.logs[-1]  # every call answered


@check(
    "CLIENTS-NO-CACHE",
    "without a cache, clients get their own replies and read each other's FILE_SYNC writes",
    "RFC 1813 §3.3.7",
)
def test_without_a_cache_clients_read_each_others_writes(request: pytest.FixtureRequest) -> None:
    """No cache is involved in what a READ returns: each call sent once, no faults."""
    config = ClientsConfig(drc=False, duplicates=False)
    run_clients_machine(config, make_sim_target, STEPS, run_context(request, "sim"))


def hunt(bugs: ServerBugs, rule: Rule) -> list[str]:
    """Run the machine on a simulated server with `bugs` until it FAILs `rule`: the
    minimal failing run's steps (Hypothesis replays it last), kept for bench detection."""
    log = RunLog()
    search = settings(SHORT_RUNS, database=None, derandomize=True, max_examples=200)
    with pytest.raises(FindingError, match=f"^{rule.code}: "):
        run_clients_machine(ClientsConfig(), sim_target_with(bugs), search, log=log)
    shrunk = log.logs[-1]
    findings.current().found_shrunk("", shrunk)
    return shrunk


@check(
    "CLIENTS-CACHE-NO-ADDRESS",
    "a cache that leaves the client's address out of its key is found: two clients, one XID",
    "RFC 5531 §5, §9; RFC 1813 §4.5",
    planted="ServerBugs(drc=DrcBugs(ignore_client_address=True))",
)
def test_a_cache_that_ignores_the_client_address_is_found() -> None:
    shrunk = hunt(ServerBugs(drc=DrcBugs(ignore_client_address=True)), rules.OWN_REPLY)
    # one client makes the shared name, another makes it with the same XID and the same
    # arguments: the cache answers it the first client's NFS3_OK, not NFS3ERR_EXIST
    assert len(shrunk) == 2, shrunk
    (first, *_), (second, *_) = (step.split("\t") for step in shrunk)
    assert first.split()[0] != second.split()[0], shrunk  # two clients
    assert first.split()[1:] == second.split()[1:], shrunk  # one call, one XID
    assert first.split()[1:3] in (["CREATE", "s"], ["MKDIR", "s"]), shrunk


@check(
    "CLIENTS-STALE-READ-CACHE",
    "a server whose READ cache ignores writes is found: a read, a FILE_SYNC write, a read",
    "RFC 1813 §3.3.7, §3.3.6",
    planted="ServerBugs(read_cache_ignores_writes=True)",
)
def test_a_read_cache_that_ignores_writes_is_found() -> None:
    shrunk = hunt(ServerBugs(read_cache_ignores_writes=True), rules.FILE_SYNC)
    assert [step.split()[1] for step in shrunk] == ["READ", "WRITE", "READ"], shrunk
