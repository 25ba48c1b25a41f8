"""MOUNT v3: MNT, UMNT, UMNTALL, DUMP and EXPORT agree with a model of the mount list.

In every world of the registry, random sequences of MOUNT calls on the export, two
directories the example made in it, a missing path, the export's parent and a path
climbing out by '..' get the answers RFC 1813 §5 allows (properties/mount/machine.py):
the export mounts, always to its root; what names nothing, or lies outside every export,
is refused; DUMP never lists a pair nobody mounted, one UMNT or UMNTALL removed, or one
pair twice, while losing entries (the list is advisory) is only a WARN; EXPORT lists the
export. The same holds across server restarts where the world can restart its server,
and through dropped, duplicated, delayed and reordered messages in the simulation. Each
FAIL rule has a planted bug (reference/nfs/mutants.py) that the machine finds and shrinks.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from faults.sim import FaultRates
from properties.harness import findings
from properties.harness.findings import FindingError, Rule, check
from properties.harness.plugin import world_options
from properties.harness.replay.file import run_context
from properties.harness.steps import RunLog
from properties.mount import rules
from properties.mount.machine import MountConfig, run_mount_machine
from properties.worlds.registry import WORLDS
from properties.worlds.sim import make_sim_target, sim_target_with
from properties.worlds.target import Capabilities, TargetFactory
from reference.nfs.mutants import ServerBugs

STEPS = settings(stateful_step_count=20)
# On real sockets a run is a few dozen round trips; a restart costs a server start.
SOCKET_EXAMPLES = 10
SOCKET_RESTART_EXAMPLES = 4
SOCKET_STEPS = 50
SOCKET_RESTART_STEPS = 20
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.1)
FAULTY_EXAMPLES = 50  # each fault costs retransmissions: half the profile's count, at most


def in_world(world: str, request: pytest.FixtureRequest, examples: int, steps: int) -> settings:
    """The machine's settings in `world`: on real sockets at most `examples` examples of
    `steps` steps. The target world with --scratch-dir is skipped: the suite's
    directories live in the scratch directory, whose path MNT does not know."""
    if world_options(request.config).scratch_dir is not None:
        pytest.skip(f"{world}: with --scratch-dir the example's directories have no MNT path")
    if WORLDS[world].simulated:
        return STEPS
    most = min(settings().max_examples, examples)
    return settings(STEPS, max_examples=most, stateful_step_count=steps)


@check(
    "MOUNT-MODEL",
    "MNT, UMNT, UMNTALL, DUMP and EXPORT agree with a model of the mount list",
    "RFC 1813 §5.2",
)
def test_mount_calls_agree_with_the_model(
    target_factory: TargetFactory, world: str, request: pytest.FixtureRequest
) -> None:
    configured = in_world(world, request, SOCKET_EXAMPLES, SOCKET_STEPS)
    run_mount_machine(MountConfig(), target_factory, configured, run_context(request, world))


@check(
    "MOUNT-RESTART",
    "across server restarts the export mounts to its root and DUMP lists nothing unmounted",
    "RFC 1813 §5, §5.2.1, §5.2.2",
)
def test_mount_calls_agree_with_the_model_across_restarts(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.crashes:
        pytest.skip(f"{world}: the world cannot restart its server")
    configured = in_world(world, request, SOCKET_RESTART_EXAMPLES, SOCKET_RESTART_STEPS)
    config = MountConfig(crashes=True)
    run_mount_machine(config, target_factory, configured, run_context(request, world))


@check(
    "MOUNT-FAULTS",
    "MOUNT calls agree with the model through dropped, duplicated, delayed, reordered messages",
    "RFC 1813 §5.2, RFC 5531 §8",
)
def test_mount_calls_agree_with_the_model_through_network_faults(
    request: pytest.FixtureRequest,
) -> None:
    """The simulation's faults: MOUNT has no reply cache, so a call may run twice; MNT,
    UMNT and UMNTALL are idempotent in effect, and the model holds to that."""
    config = MountConfig(rates=FAULTY_NETWORK, crashes=True)
    configured = settings(STEPS, max_examples=min(settings().max_examples, FAULTY_EXAMPLES))
    run_mount_machine(config, make_sim_target, configured, run_context(request))


def machine_finds(bugs: ServerBugs, rule: Rule) -> list[str]:
    """Run the machine on a simulated server with `bugs` until it FAILs `rule`: the
    minimal failing run's steps (Hypothesis replays it last), kept for bench detection."""
    log = RunLog()
    search = settings(STEPS, database=None, derandomize=True, max_examples=200)
    with pytest.raises(FindingError, match=f"^{rule.code}: "):
        run_mount_machine(MountConfig(), sim_target_with(bugs), search, log=log)
    shrunk = [step.split("\t")[0] for step in log.logs[-1]]
    findings.current().found_shrunk("", log.logs[-1])
    return shrunk


@check(
    "UMNT-KEEPS-ENTRY",
    "a server whose UMNT leaves the entry listed is found: MNT, then UMNT of the directory",
    "RFC 1813 §5.2.2, §5.2.3",
    planted="ServerBugs(umnt_keeps_the_entry=True)",
)
def test_a_server_whose_umnt_keeps_the_entry_is_found() -> None:
    shrunk = machine_finds(ServerBugs(umnt_keeps_the_entry=True), rules.DUMP_UNMOUNTED)
    mounted = shrunk[0].removeprefix("MNT ")
    assert shrunk == [f"MNT {mounted}", "DUMP", f"UMNT {mounted}", "DUMP"], shrunk
    assert "/nfsprop-mnt-" in mounted, shrunk  # one of the example's own directories


@check(
    "MNT-LISTS-TWICE",
    "a server whose repeated MNT lists the pair again is found: MNT of a directory twice",
    "RFC 1813 §5.2.2",
    planted="ServerBugs(mnt_lists_a_pair_twice=True)",
)
def test_a_server_that_lists_a_mount_twice_is_found() -> None:
    shrunk = machine_finds(ServerBugs(mnt_lists_a_pair_twice=True), rules.DUMP_DUPLICATE)
    mounted = shrunk[0].removeprefix("MNT ")
    assert shrunk == [f"MNT {mounted}", "DUMP", f"MNT {mounted}", "DUMP"], shrunk
    assert "/nfsprop-mnt-" in mounted, shrunk


@check(
    "MNT-OUTSIDE-ROOT",
    "a server that mounts a path outside the export as its root is found: one MNT",
    "RFC 1813 §5.2.1",
    planted="ServerBugs(mnt_outside_answers_the_root=True)",
)
def test_a_server_that_mounts_outside_its_export_is_found() -> None:
    shrunk = machine_finds(ServerBugs(mnt_outside_answers_the_root=True), rules.MNT_OUTSIDE)
    assert shrunk == ["MNT /"], shrunk  # the sim's export is /export: its parent; no DUMP
