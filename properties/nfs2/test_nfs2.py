"""NFSv2 (RFC 1094): replies agree with the model over UDP and TCP, a retransmission runs
once, and every acknowledged write survives a crash.

In every world that serves NFSv2 and MOUNT v1 (the simulation and our own server on
loopback; a server without them is UNSUPPORTED, its probed feature `nfs2`), random
operation sequences over NFSv2 are judged by the NFSv3 model file system: over UDP (raw
datagrams, resent with their XID until answered) and over TCP; through dropped,
duplicated, delayed and reordered messages; with every non-idempotent call sent twice
with one XID; and across crashes. Two planted bugs are found and shrunk: the server
without its duplicate request cache, and a server whose v2 WRITEs are not synchronous.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from faults.sim import FaultRates
from properties.harness import findings
from properties.harness.findings import Rule, check
from properties.harness.replay.file import run_context
from properties.nfs2 import rules
from properties.nfs2.machine import Nfs2Config, Transport, run_nfs2_machine
from properties.nfs2.wire import NON_IDEMPOTENT
from properties.nfs3.handles import fresh_target
from properties.nfs3.optional import OPTIONAL
from properties.nfs3.test_server import in_real_time, machine_finds, repeatable
from properties.worlds.registry import WORLDS
from properties.worlds.sim import sim_target_with
from properties.worlds.target import Capabilities, TargetFactory
from reference.nfs.mutants import ServerBugs

TRANSPORTS = ("udp", "tcp")
STEPS = settings(stateful_step_count=30)
SIM_EXAMPLES = 25  # of the profile's count: the NFSv3 family explores the shared model more
REAL_EXAMPLES = 8  # on real sockets, each example retransmits in real time
REAL_CRASH_EXAMPLES = 2  # on real sockets, each example restarts the server several times
# the planted bugs show within four steps: runs of 20 find and shrink them sooner than 30
PLANTED_STEPS = settings(stateful_step_count=20)
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.1)


def examples(world: str, config: Nfs2Config) -> settings:
    """The machine settings for `world`: fewer examples on real sockets, fewest with
    crashes."""
    configured = settings(STEPS, max_examples=min(settings().max_examples, SIM_EXAMPLES))
    real = REAL_CRASH_EXAMPLES if config.crashes else REAL_EXAMPLES
    return in_real_time(configured, world, real)


def serves(make_target: TargetFactory, world: str, transport: Transport) -> bool:
    """Whether the world's server serves NFSv2 (and UDP, for `transport` udp); what it
    leaves out is an UNSUPPORTED finding."""
    if WORLDS[world].simulated and transport == "tcp":
        pytest.skip("the simulation's messages are datagrams: its NFSv2 runs are the udp ones")
    with fresh_target(make_target) as target:
        features = target.features
    needed = ("nfs2", "udp") if transport == "udp" else ("nfs2",)
    missing = [name for name in needed if not getattr(features, name)]
    answers = dict(features.answers)
    for name in missing:
        findings.current().unsupported(
            OPTIONAL[name], f"{world}: {answers.get(name, 'not offered')}"
        )
    return not missing


def run_where_served(
    make_target: TargetFactory, world: str, request: pytest.FixtureRequest, config: Nfs2Config
) -> None:
    """The machine of `config`, where the world's server serves what it needs."""
    if serves(make_target, world, config.transport):
        with repeatable(world):
            configured = examples(world, config)
            run_nfs2_machine(config, make_target, configured, run_context(request, world))


@check("NFS2-MODEL", "every NFSv2 reply is one the model file system allows", "RFC 1094 §2.2")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_nfs2_replies_agree_with_the_model(
    target_factory: TargetFactory, world: str, transport: Transport, request: pytest.FixtureRequest
) -> None:
    run_where_served(target_factory, world, request, Nfs2Config(transport=transport))


@check(
    "NFS2-MODEL-FAULTS",
    "NFSv2 replies match the model through dropped, duplicated, delayed and reordered messages",
    "RFC 1094 §1.3, RFC 5531 §8",
)
def test_nfs2_replies_agree_through_network_faults(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.drc:
        pytest.skip(f"{world}: without a duplicate request cache a retransmission runs twice")
    # on real sockets the fault proxy carries the TCP caller's messages
    transport: Transport = "udp" if WORLDS[world].simulated else "tcp"
    run_where_served(
        target_factory, world, request, Nfs2Config(rates=FAULTY_NETWORK, transport=transport)
    )


@check(
    "NFS2-RETRANSMIT",
    "an NFSv2 call sent twice with one XID gets the first reply and runs once",
    "RFC 1094 §1.3, RFC 5531 §8",
)
def test_v2_retransmissions_get_the_first_reply(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.drc:
        pytest.skip(f"{world}: the server keeps no duplicate request cache")
    run_where_served(target_factory, world, request, Nfs2Config(retransmit=True))


@check(
    "NFS2-CRASH",
    "NFSv2 handles and every acknowledged write survive crashes",
    "RFC 1094 §1.3, §2.2.9",
)
def test_v2_writes_and_handles_survive_crashes(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.crashes:
        pytest.skip(f"{world}: the suite cannot crash this server")
    run_where_served(target_factory, world, request, Nfs2Config(crashes=True))


def v2_machine_finds(config: Nfs2Config, make_target: TargetFactory, rule: Rule) -> list[str]:
    """The NFSv2 machine run until it FAILs `rule`: the shrunk run's steps."""
    return machine_finds(config, make_target, rule, PLANTED_STEPS, run_nfs2_machine)


@check(
    "NFS2-RETRANSMIT-NO-CACHE",
    "without the cache, a double execution over NFSv2 is found and shrunk to one call",
    "RFC 1094 §1.3, RFC 5531 §8",
    planted="the server without its duplicate request cache",
)
def test_v2_without_the_cache_a_double_execution_is_found(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    if not capabilities.drc_off:
        pytest.skip(f"{world}: the duplicate request cache cannot be turned off")
    if serves(target_factory, world, "udp"):
        config = Nfs2Config(drc=False, retransmit=True)
        with repeatable(world):
            shrunk = v2_machine_finds(config, target_factory, rules.AT_MOST_ONCE)
        assert len(shrunk) == 1, shrunk
        duplicated = {call.name.removeprefix("NFSPROC_") for call in NON_IDEMPOTENT}
        assert shrunk[0].split()[0] in duplicated, shrunk


@check(
    "NFS2-WRITES-UNSTABLE",
    "a server whose NFSv2 WRITEs are not synchronous is found and shrunk",
    "RFC 1094 §1.3, §2.2.9",
    planted="ServerBugs.nfs2_writes_are_unstable",
)
def test_v2_unstable_writes_are_found() -> None:
    buggy = sim_target_with(ServerBugs(nfs2_writes_are_unstable=True))
    shrunk = v2_machine_finds(Nfs2Config(crashes=True), buggy, rules.DURABLE)
    kinds = [line.split()[0] for line in shrunk]
    assert kinds == ["CREATE", "WRITE", "CRASH"], shrunk


@check(
    "NFS2-STALE-REUSED",
    "a server whose handles outlive their object's generation is found and shrunk",
    "RFC 1094 §2.3.1, §2.3.3",
    planted="ServerBugs.generations_unchecked",
)
def test_v2_handles_of_reused_inodes_are_found() -> None:
    buggy = sim_target_with(ServerBugs(generations_unchecked=True))
    shrunk = v2_machine_finds(Nfs2Config(), buggy, rules.STALENESS)
    # made, removed, its inode reused by the next object made, the old handle used
    kinds = [line.split()[0] for line in shrunk]
    assert kinds[:2] == ["CREATE", "REMOVE"] and len(kinds) == 4, shrunk
    assert "removed" in shrunk[-1], shrunk
