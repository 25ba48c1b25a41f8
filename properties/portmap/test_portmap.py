"""The port mapper: SET, UNSET, GETPORT and DUMP agree with a model of RFC 1833 §3.2.

In every world whose server runs a port mapper (the simulated one, `nfsprop serve`'s on
its NFS port), random SETs, UNSETs, GETPORTs and DUMPs of the example's own transient
programs get the model's answers; a server without one (NFS-Ganesha, go-nfs) is reported
UNSUPPORTED. In the simulation, through lost, duplicated and reordered messages, a port
mapper without a duplicate request cache (as rpcbind is) may answer FALSE to a SET or
UNSET only when the client took the reply of a copy that ran again, and with the cache it
answers exactly. Three planted bugs (reference/rpc/portmap.py PortmapBugs) are each found
and shrunk to two steps.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from faults.sim import FaultRates, ReplayFaults
from properties.harness import findings
from properties.harness.findings import FindingError, Rule, check
from properties.harness.replay.file import run_context
from properties.nfs3.handles import fresh_target
from properties.portmap import rules
from properties.portmap.machine import (
    PortmapConfig,
    PortmapRunLog,
    run_portmap_machine,
    sim_endpoints,
    world_endpoints,
)
from properties.portmap.world import Answered, SimPortmap, portmapper_answers
from properties.worlds.registry import WORLDS
from properties.worlds.target import TargetFactory
from reference.rpc.portmap import PortmapBugs
from reference.xdr.gen.portmap import IPPROTO_TCP, mapping

STEPS = settings(stateful_step_count=20)
FAULTY_EXAMPLES = 40  # per check: the faults draw many decisions per step
REAL_SOCKET_EXAMPLES = 10  # each example a fresh target of the shared server
FAULTY_NETWORK = FaultRates(drop=0.15, duplicate=0.15, delay=0.1, reorder=0.1, max_delay=0.02)
# SET's call delivered (0), its reply dropped (1), the retransmission and its reply
# delivered (0, 0): the datagram decisions of faults/sim/message_faults.py
REPLY_LOST = (0, 1, 0, 0)


def on_real_sockets(world: str) -> settings:
    if WORLDS[world].simulated:
        return STEPS
    return settings(STEPS, max_examples=min(settings().max_examples, REAL_SOCKET_EXAMPLES))


def faulty() -> settings:
    return settings(STEPS, max_examples=min(settings().max_examples, FAULTY_EXAMPLES))


@check("PMAP-MODEL", "SET, UNSET, GETPORT and DUMP answer as the model does", "RFC 1833 §3.2")
def test_port_mapper_replies_match_the_model(
    target_factory: TargetFactory, world: str, request: pytest.FixtureRequest
) -> None:
    if not WORLDS[world].simulated:
        with fresh_target(target_factory) as target:
            refused = portmapper_answers(target)
        if refused is not None:
            findings.current().unsupported(rules.SERVED, f"{world}: {refused}")
            return
    config = PortmapConfig()
    endpoints = world_endpoints(world, target_factory, config)
    run_portmap_machine(config, endpoints, on_real_sockets(world), run_context(request, world))


@check(
    "PMAP-FAULTS",
    "without a cache, SET and UNSET answer FALSE only where a copy of the call ran again",
    "RFC 1833 §3.2, RFC 5531 §8",
)
def test_without_a_cache_only_a_repeated_call_may_answer_false(
    request: pytest.FixtureRequest,
) -> None:
    config = PortmapConfig(drc=False, rates=FAULTY_NETWORK)
    context = run_context(request, "sim")
    run_portmap_machine(config, sim_endpoints(config), faulty(), context)


@check(
    "PMAP-FAULTS-CACHE",
    "with a duplicate request cache, replies are exact through network faults",
    "RFC 1833 §3.2, RFC 5531 §8",
)
def test_with_a_cache_replies_are_exact(request: pytest.FixtureRequest) -> None:
    config = PortmapConfig(drc=True, rates=FAULTY_NETWORK)
    log = PortmapRunLog()
    context = run_context(request, "sim")
    run_portmap_machine(config, sim_endpoints(config), faulty(), context, log=log)
    assert not log.excused, log.excused


@check(
    "PMAP-RETRANSMITTED",
    "a SET whose reply was lost runs again without a cache (FALSE), once with it (TRUE)",
    "RFC 1833 §3.2, RFC 5531 §8",
)
def test_a_lost_reply_is_told_apart_from_a_duplicate() -> None:
    key = mapping(0x4000_0000, 1, IPPROTO_TCP, 700)
    seen = {}
    for drc in (False, True):
        portmap = SimPortmap(ReplayFaults(REPLY_LOST), FAULTY_NETWORK, drc)
        reply = portmap.call(lambda stub: stub.PMAPPROC_SET(key))
        seen[drc] = (reply.value, reply.answered)
        portmap.close()
    assert seen == {False: (False, Answered.LATER), True: (True, Answered.FIRST)}, seen


def machine_finds(bugs: PortmapBugs, rule: Rule) -> list[str]:
    """Run the simulated machine with `bugs` until it FAILs `rule`: the shrunk steps (the
    failing one last, with what was allowed and what came back), kept for bench detection."""
    config = PortmapConfig(bugs=bugs)
    search = settings(database=None, derandomize=True, max_examples=200, stateful_step_count=6)
    with pytest.raises(FindingError, match=f"^{rule.code}: ") as failure:
        run_portmap_machine(config, sim_endpoints(config), search)
    steps = list(failure.value.steps)
    findings.current().found_shrunk("", steps)
    return steps


def two_steps(steps: list[str]) -> tuple[list[str], list[str]]:
    """A shrunk counterexample of two steps: the words of a SET that answered TRUE, and
    the failing call's words followed by what was allowed and what came back."""
    assert len(steps) == 2, steps
    first, failing = steps
    call, allowed, got = failing.split("\t")
    assert first.endswith(": TRUE") and first.startswith("SET "), steps
    return first.removesuffix(": TRUE").split(), [*call.split(), allowed, got]


@check(
    "PMAP-SET-OVERWRITES",
    "a SET that replaces a mapped key's port is found: two SETs of one key",
    "RFC 1833 §3.2 (PMAPPROC_SET)",
    planted="PortmapBugs(set_overwrites=True)",
)
def test_a_set_that_overwrites_is_found() -> None:
    mapped, failing = two_steps(machine_finds(PortmapBugs(set_overwrites=True), rules.SET))
    assert failing == [*mapped, "FALSE", "TRUE"], (mapped, failing)


@check(
    "PMAP-UNSET-ONE-PROTOCOL",
    "an UNSET that removes one protocol only is found: a SET, then UNSET naming another",
    "RFC 1833 §3.2 (PMAPPROC_UNSET)",
    planted="PortmapBugs(unset_one_protocol=True)",
)
def test_an_unset_of_one_protocol_is_found() -> None:
    mapped, failing = two_steps(machine_finds(PortmapBugs(unset_one_protocol=True), rules.UNSET))
    # SET P v prot port ...; UNSET P v other-prot port: TRUE allowed, FALSE came back
    assert failing[0] == "UNSET" and failing[1:3] == mapped[1:3], (mapped, failing)
    assert failing[3] != mapped[3] and failing[-2:] == ["TRUE", "FALSE"], (mapped, failing)


@check(
    "PMAP-GETPORT-ANY-PROTOCOL",
    "a GETPORT that ignores the protocol is found: a SET, then GETPORT of another protocol",
    "RFC 1833 §3.2 (PMAPPROC_GETPORT)",
    planted="PortmapBugs(getport_any_protocol=True)",
)
def test_a_getport_that_ignores_the_protocol_is_found() -> None:
    mapped, failing = two_steps(
        machine_finds(PortmapBugs(getport_any_protocol=True), rules.GETPORT)
    )
    # SET P v prot port N; GETPORT P v other-prot: 0 allowed, N came back
    assert failing[0] == "GETPORT" and failing[1:3] == mapped[1:3], (mapped, failing)
    assert failing[3] != mapped[3] and failing[-2:] == ["0", mapped[-1]], (mapped, failing)
