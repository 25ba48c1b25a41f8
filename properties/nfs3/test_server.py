"""NFSv3 server: every reply is one the model allows, whatever the faults.

In every world of the registry (properties/worlds/registry.py), random sequences of
operations (create in all three modes, mkdir, symlink, remove, rmdir, rename, link, lookup,
getattr, setattr, read, write stable and unstable, commit, readdir and readdirplus) get the
replies the model file system allows, without faults and through dropped, duplicated,
delayed and reordered messages with the duplicate request cache on; every non-idempotent
call sent twice with one XID gets byte-identical replies and changes nothing more, and with
the cache off the suite finds the double execution and shrinks it to a single call; a
simulated partition that begins mid-call and lasts up to a minute loses no call and runs
none twice with the cache (without it, the lost reply's retransmission runs the call again,
and the suite shrinks that to two steps); a removed file's handle answers NFS3ERR_STALE
once its inode is reused and never reads the new file; forged, bit-flipped, cut and
extended handles get BADHANDLE or STALE, never NFS3_OK; a name holding '/' is refused with
ACCES or INVAL; after a crash at any point everything written FILE_SYNC or committed is
still there, every handle still works and the write verifier has changed; every mtime and
ctime, in every reply that carries one, agrees with what the calls did (properties/nfs3/
times.py); and no ctime goes back when the server's clock is stepped back, even across a
restart. Scenarios hold requests'
guards and verifiers to their word: SETATTR's ctime guard, a COMMIT of a range and a WRITE
DATA_SYNC across a crash, CREATE EXCLUSIVE retried with its verifier or another (across a
restart too), a READDIR resumed from an old cookie after the directory changed; each has a
planted bug (reference/nfs/mutants.py) its check must find, and `found_and_shrunk` keeps
the minimal example for `python3 -m bench detection`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition
from hypothesis.strategies import SearchStrategy

from faults.sim import FaultRates
from properties.baselines import OWN_WORLDS
from properties.harness import findings
from properties.harness.findings import FindingError, Rule, check
from properties.harness.recording import record_capabilities
from properties.harness.replay.file import run_context
from properties.harness.steps import RunLog
from properties.nfs3 import rules
from properties.nfs3.guards import (
    changed_times,
    committed_range,
    guarded_setattr,
    set_times,
    synced_write,
    unstable_listing,
)
from properties.nfs3.handles import (
    DIRECTORY_CALLS,
    Forgery,
    NonDirectory,
    Removal,
    StalenessRun,
    call,
    foreign_handle,
    forged_handle,
    forgeries,
    fresh_target,
    mount,
    not_a_directory,
    other_export_handle,
    reuse_inode,
)
from properties.nfs3.machine import MachineConfig, explored, run_machine
from properties.nfs3.model import ModelMismatch
from properties.nfs3.model.verdict import status_name
from properties.nfs3.optional import OPTIONAL, report_unsupported
from properties.nfs3.optional import capabilities as shown_capabilities
from properties.nfs3.verifiers import MADE, Change, exclusive_retry, resumed_listing
from properties.nfs3.wire import MKDIR, NON_IDEMPOTENT, RMDIR, sattr
from properties.worlds.registry import WORLDS
from properties.worlds.rules import REPEATABLE
from properties.worlds.sim import make_sim_target, sim_target_with
from properties.worlds.target import SIMULATED, Capabilities, TargetFactory
from reference.nfs.handles import HANDLE_SIZE, MAC_SIZE
from reference.nfs.mutants import ServerBugs
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_ACCES,
    NFS3ERR_INVAL,
    MKDIR3args,
    RMDIR3args,
    diropargs3,
)

T = TypeVar("T")
MAC_AT = HANDLE_SIZE - MAC_SIZE  # our handles' MAC: their last bytes
STEPS = settings(stateful_step_count=30)
# a planted bug that shows in a step or two: shorter runs shrink sooner
SHORT_RUNS = settings(stateful_step_count=12)
FEW_STEPS = settings(stateful_step_count=8)  # a planted bug that shows in two steps
# Somebody else's server: long runs, to reach what lies behind the first steps (file data,
# sizes, wcc_data, paging), in fewer examples so that a run stays bounded.
FOREIGN_STEPS = 200
FOREIGN_EXAMPLES = 25
REAL_SOCKET_FAULTY_EXAMPLES = 20  # each spends real time on delays and retransmissions
# each restarts a real server several times (SIGKILL, start: 0.3 s for `nfsprop serve`);
# the sim world runs the profile's full count of the same machine
REAL_CRASH_EXAMPLES = 20
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.1)
# a duplicated non-idempotent call: MKDIR, CREATE or SYMLINK (OK, then EXIST), or a
# SETATTR (the second run's wcc_data shows the first's change)
SHRUNK_STEPS = 1


def steps(world: str) -> settings:
    """The machine settings for `world`: long runs on a foreign server (FOREIGN_STEPS)."""
    if world in OWN_WORLDS:
        return STEPS
    examples = min(settings().max_examples, FOREIGN_EXAMPLES)
    return settings(STEPS, stateful_step_count=FOREIGN_STEPS, max_examples=examples)


def in_real_time(configured: settings, world: str, examples: int) -> settings:
    """`configured`, with at most `examples` examples outside the simulation."""
    if WORLDS[world].simulated:
        return configured
    return settings(configured, max_examples=min(settings().max_examples, examples))


@contextmanager
def repeatable(world: str) -> Iterator[None]:
    """Hypothesis stops a run whose same steps drew differently the second time
    (FlakyStrategyDefinition, alone or as all a FlakyFailure holds). In the simulation
    that is a bug of the suite and fails. On real sockets the server did it: its answers
    depend on timing (threads racing, a retransmission overtaking its original), which the
    RFC does not forbid; a WARN says so and the run ends there, with what it checked
    before. A FlakyFailure holding anything else (a finding seen once) still fails."""
    try:
        yield
    except (FlakyStrategyDefinition, FlakyFailure) as error:
        causes = error.exceptions if isinstance(error, FlakyFailure) else (error,)
        drew_differently = all(isinstance(cause, FlakyStrategyDefinition) for cause in causes)
        if WORLDS[world].simulated or not drew_differently:
            raise
        said = str(causes[0]).splitlines()[0]
        findings.current().warn(
            REPEATABLE,
            f"{world}: the server answered one example's steps differently when Hypothesis "
            f"ran them again, so the run ended early (Hypothesis: {said})",
        )


def explored_here(config: MachineConfig) -> MachineConfig:
    """`config` as this test's world explores it (its baseline decides: `explored`)."""
    return explored(config, findings.current().baseline)


@check("PROBE", "the optional features of NFSv3 the server offers", "RFC 1813 §3.3")
def test_optional_features_are_probed(
    target_factory: TargetFactory, request: pytest.FixtureRequest
) -> None:
    with fresh_target(target_factory) as target:
        features = target.features
    report_unsupported(features)
    record_capabilities(request, shown_capabilities(features))


@check("MODEL", "every reply is one the model file system allows", "RFC 1813 §3.3")
def test_replies_match_the_model(
    target_factory: TargetFactory, world: str, request: pytest.FixtureRequest
) -> None:
    config = explored_here(MachineConfig())
    with repeatable(world):
        run_machine(config, target_factory, steps(world), run_context(request, world))


@check(
    "MODEL-FAULTS",
    "replies match the model through dropped, duplicated, delayed and reordered messages",
    "RFC 1813 §4.5, RFC 5531 §8",
)
def test_replies_match_the_model_through_network_faults(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.network_faults:
        pytest.skip(f"{world}: this world sends messages without a fault proxy")
    if not capabilities.drc:
        pytest.skip(f"{world}: without a duplicate request cache a retransmission runs twice")
    configured = in_real_time(STEPS, world, REAL_SOCKET_FAULTY_EXAMPLES)
    config = explored_here(MachineConfig(rates=FAULTY_NETWORK))
    with repeatable(world):
        run_machine(config, target_factory, configured, run_context(request, world))


@check(
    "RETRANSMIT",
    "a call sent twice with one XID gets the first reply and runs once",
    "RFC 1813 §4.5, RFC 5531 §8",
)
def test_retransmissions_with_the_cache_get_the_first_reply(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    if not capabilities.drc:
        pytest.skip(f"{world}: the server keeps no duplicate request cache")
    config = explored_here(MachineConfig(retransmit=True))
    with repeatable(world):
        run_machine(config, target_factory, steps(world), run_context(request, world))


def machine_finds(
    config: object,
    make_target: TargetFactory,
    rule: Rule | None = None,
    steps: settings = STEPS,
    run: Callable[..., None] = run_machine,
) -> list[str]:
    """Run the machine (`run`: the NFSv3 one unless said) until it FAILs (`rule`, if
    given): the minimal failing run's steps (Hypothesis replays it last), kept for bench
    detection."""
    log = RunLog()
    search = settings(steps, database=None, derandomize=True, max_examples=200)
    with pytest.raises(ModelMismatch, match=f"^{rule.code}: " if rule else ""):
        run(config, make_target, search, log=log)
    shrunk = log.logs[-1]
    findings.current().found_shrunk("", shrunk)
    return shrunk


@check(
    "RETRANSMIT-NO-CACHE",
    "without the cache, the suite finds a double execution and shrinks it to one call",
    "RFC 1813 §4.5",
    planted="the NFSv3 server without its duplicate request cache",
)
def test_without_the_cache_a_double_execution_is_found_and_shrunk(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    if not capabilities.drc_off:
        pytest.skip(f"{world}: the duplicate request cache cannot be turned off")
    config = MachineConfig(drc=False, retransmit=True)
    with repeatable(world):
        shrunk = machine_finds(config, target_factory, rules.AT_MOST_ONCE)
        assert len(shrunk) == SHRUNK_STEPS, shrunk
        duplicated = {call.name.removeprefix("NFSPROC3_") for call in NON_IDEMPOTENT}
        assert shrunk[0].split()[0] in duplicated, shrunk


@check(
    "CRASH",
    "after a crash, what was committed is there, handles work, the verifier changed",
    "RFC 1813 §3.3.7, §3.3.21, §4.8",
)
def test_a_crash_loses_nothing_committed(
    target_factory: TargetFactory,
    world: str,
    capabilities: Capabilities,
    request: pytest.FixtureRequest,
) -> None:
    needs_crashes(world, capabilities)
    config = explored_here(MachineConfig(crashes=True))
    configured = in_real_time(steps(world), world, REAL_CRASH_EXAMPLES)
    with repeatable(world):
        run_machine(config, target_factory, configured, run_context(request, world))


@check(
    "WRITE-KEEPS-TIMES",
    "a server whose WRITE leaves mtime and ctime alone is found: a write after a later change",
    "RFC 1813 §2.6, §3.3.7",
    planted="ServerBugs(write_keeps_times=True)",
)
def test_a_server_whose_writes_keep_their_times_is_found() -> None:
    keeps_times = with_target(sim_target_with(ServerBugs(write_keeps_times=True)), changed_times)
    assert found_and_shrunk(keeps_times, TIMED_CHANGES, rules.CHANGE_TIME) == ("write",)


@check(
    "WCC-PRE-TIMES-AFTER",
    "a server whose wcc_data pre-op times are taken after the change is found: one change",
    "RFC 1813 §2.6 (wcc_attr)",
    planted="ServerBugs(wcc_pre_op_times_after=True)",
)
def test_a_server_whose_pre_op_times_come_after_is_found() -> None:
    late = sim_target_with(ServerBugs(wcc_pre_op_times_after=True))
    shrunk = machine_finds(MachineConfig(), late, rules.WCC_PRE_TIMES, SHORT_RUNS)
    assert len(shrunk) == 1, shrunk  # the root's pre-op: the mount step saw its times


@check(
    "FAILED-ATTRIBUTES",
    "a server whose failed replies carry another object's attributes is found: two steps",
    "RFC 1813 §2.6 (post_op_attr, wcc_data), §3.3",
    planted="ServerBugs(failed_replies_show_the_root=True)",
)
def test_a_server_whose_failed_replies_show_another_object_is_found() -> None:
    wrong = sim_target_with(ServerBugs(failed_replies_show_the_root=True))
    shrunk = machine_finds(MachineConfig(), wrong, rules.TYPE, FEW_STEPS)
    # an object made (#1), then a call about it that fails: its reply shows the root's type
    assert len(shrunk) == 2 and "#1" in shrunk[1].split("\t")[0], shrunk


TIMED_CHANGES = (st.sampled_from(("write", "truncate", "rename", "rename across")),)


@check(
    "CHANGE-TIMES",
    "a WRITE, a truncation and a RENAME give what they change a time no earlier than before",
    "RFC 1813 §2.6 (fattr3, wcc_data), §3.3.7, §3.3.2, §3.3.14",
)
def test_changes_take_their_times_from_now(target_factory: TargetFactory) -> None:
    each_example(target_factory, changed_times, TIMED_CHANGES)


@check(
    "RENAME-KEEPS-TIMES",
    "a server whose RENAME leaves its directories' times is found: within one directory",
    "RFC 1813 §3.3.14, §2.6 (wcc_data)",
    planted="ServerBugs(rename_keeps_directory_times=True)",
)
def test_a_server_whose_rename_keeps_times_is_found() -> None:
    stale = with_target(
        sim_target_with(ServerBugs(rename_keeps_directory_times=True)), changed_times
    )
    assert found_and_shrunk(stale, TIMED_CHANGES, rules.CHANGE_TIME) == ("rename",)


@check(
    "READDIRPLUS-UNSTABLE",
    "READDIRPLUS shows a file's attributes with its uncommitted UNSTABLE writes",
    "RFC 1813 §3.3.17, §3.3.7, §2.6 (fattr3)",
)
def test_readdirplus_shows_uncommitted_writes(target_factory: TargetFactory, world: str) -> None:
    each_example(target_factory, unstable_listing, SYNCED, world)


@check(
    "READDIRPLUS-ON-DISK",
    "a server whose READDIRPLUS shows the attributes on disk is found: one small write",
    "RFC 1813 §3.3.17, §2.6 (fattr3)",
    planted="ServerBugs(readdirplus_attributes_on_disk=True)",
)
def test_a_server_whose_listing_lags_behind_writes_is_found() -> None:
    lagging = with_target(
        sim_target_with(ServerBugs(readdirplus_attributes_on_disk=True)), unstable_listing
    )
    assert found_and_shrunk(lagging, SYNCED, rules.SIZE) == (0, 1)


@check(
    "READDIRPLUS-SECONDS",
    "a server whose READDIRPLUS entries cut times to seconds is found: an entry and a listing",
    "RFC 1813 §2.6 (fattr3), §3.3.17",
    planted="ServerBugs(readdirplus_times_in_seconds=True)",
)
def test_a_server_whose_listed_times_are_cut_is_found() -> None:
    cut = sim_target_with(ServerBugs(readdirplus_times_in_seconds=True))
    shrunk = machine_finds(MachineConfig(), cut, rules.ATTR_STEADY, SHORT_RUNS)
    # an entry made, maybe a step for the clock to leave a whole second, the listing
    assert len(shrunk) <= 3 and shrunk[-1].startswith("READDIRPLUS "), shrunk


# Partitions and clock jumps are simulated only (on real sockets, the Toxiproxy black
# hole plays the partition's part: properties/rpc/test_toxiproxy.py), so these run in the
# sim world, once.


@check("CLOCK", "a clock stepped back never takes an object's ctime back", "RFC 1813 §4.11")
def test_a_clock_stepped_back_never_takes_file_times_back(request: pytest.FixtureRequest) -> None:
    config = MachineConfig(crashes=True, clock_jumps=True)
    run_machine(config, make_sim_target, STEPS, run_context(request, "sim"))


@check("PARTITION", "partitions heal and every call runs once", "RFC 1813 §4.5")
def test_partitions_heal_and_every_call_runs_once(request: pytest.FixtureRequest) -> None:
    config = MachineConfig(partitions=True)
    run_machine(config, make_sim_target, STEPS, run_context(request, "sim"))


@check(
    "PARTITION-NO-CACHE",
    "without the cache, a partition that loses a reply is found",
    "RFC 1813 §4.5",
    planted="the NFSv3 server without its duplicate request cache",
)
def test_without_the_cache_a_partition_that_loses_a_reply_is_found() -> None:
    shrunk = machine_finds(MachineConfig(drc=False, partitions=True), make_sim_target)
    partitions = [step for step in shrunk if step.startswith("PARTITION")]
    assert partitions == ["PARTITION client and server in 0.0015 s, for 0.3 s"], shrunk
    # maybe an object to act on, the cut, and the call whose reply it cut: run twice, that
    # call shows it (EXIST, NOENT, or its wcc_data's pre-op size or times)
    assert len(shrunk) <= 3 and shrunk.index(partitions[0]) == len(shrunk) - 2, shrunk


@check("STALENESS", "a removed file's handle is stale once its inode is reused", "RFC 1813 §2.6")
def test_a_reused_inode_makes_the_old_handle_stale(target_factory: TargetFactory) -> None:
    runs: list[StalenessRun] = []

    @given(st.integers(0, 3), st.sampled_from(["remove", "rename over"]))
    def reuse(extra_files: int, removal: Removal) -> None:
        with fresh_target(target_factory) as target:
            runs.append(reuse_inode(target, extra_files, removal))

    reuse()
    if not any(run.reused for run in runs):
        pytest.skip("the server never reused an inode: staleness after reuse is untested")
    assert all(run.getattr_status == run.read_status for run in runs if run.reused)


@check("FORGED", "forged and damaged handles get BADHANDLE or STALE", "RFC 1813 §2.6")
@given(forgery=forgeries, of_root=st.booleans())
def test_forged_handles_get_badhandle_or_stale(
    target_factory: TargetFactory, world: str, forgery: Forgery, of_root: bool
) -> None:
    """Strict on our own server: a damaged handle it takes as the undamaged one fails."""
    forged_handle(target_factory, forgery, of_root, strict=world in OWN_WORLDS)


@check(
    "FORGED-UNCHECKED",
    "a server that does not check its handles' MAC is found: a MAC byte changed, strictly",
    "RFC 1813 §2.6",
    planted="ServerBugs(handle_mac_unchecked=True)",
)
def test_a_server_that_does_not_check_handles_is_found() -> None:
    unchecked = sim_target_with(ServerBugs(handle_mac_unchecked=True))
    scenario = with_target(unchecked, forged_handle)
    shrunk = found_and_shrunk(scenario, (forgeries, st.booleans()), rules.FORGED_SAME)
    assert shrunk == (Forgery("byte", MAC_AT, b"\0"), False), shrunk  # the MAC's first byte


FOREIGN_OBJECTS = (st.sampled_from(("root", "file")),)


@check(
    "FOREIGN-INSTANCE",
    "handles of another server instance get BADHANDLE or STALE, never an object",
    "RFC 1813 §2.6 (NFS3ERR_BADHANDLE, NFS3ERR_STALE)",
)
def test_handles_of_another_server_instance_are_refused(target_factory: TargetFactory) -> None:
    each_example(target_factory, foreign_handle, FOREIGN_OBJECTS)


@check(
    "FOREIGN-INSTANCE-TRUSTED",
    "a server that trusts handles (no MAC, no volume check) is found with another's handle",
    "RFC 1813 §2.6",
    planted="ServerBugs(handle_mac_unchecked=True, handle_volume_unchecked=True)",
)
def test_a_server_that_trusts_another_instances_handles_is_found() -> None:
    bugs = ServerBugs(handle_mac_unchecked=True, handle_volume_unchecked=True)
    trusting = with_target(sim_target_with(bugs), foreign_handle)
    # the other instance's root handle names this one's root: its inode number
    assert found_and_shrunk(trusting, FOREIGN_OBJECTS, rules.FORGED_OTHER) == ("root",)


@check(
    "FOREIGN-EXPORT",
    "handles another export of the server would give get BADHANDLE or STALE",
    "RFC 1813 §2.6 (NFS3ERR_STALE), §4.1",
)
def test_handles_of_another_export_are_refused() -> None:
    each_example(make_sim_target, other_export_handle, FOREIGN_OBJECTS)


@check(
    "FOREIGN-EXPORT-TRUSTED",
    "a server that checks handles' MAC but not their export is found: the root's",
    "RFC 1813 §2.6",
    planted="ServerBugs(handle_volume_unchecked=True)",
)
def test_a_server_that_ignores_a_handles_export_is_found() -> None:
    blind = with_target(
        sim_target_with(ServerBugs(handle_volume_unchecked=True)), other_export_handle
    )
    assert found_and_shrunk(blind, FOREIGN_OBJECTS, rules.FORGED_OTHER) == ("root",)


@check("SLASH-NAMES", "a name holding '/' is refused", "RFC 1813 §3.2")
@pytest.mark.parametrize("existing", [False, True], ids=["alone", "under-an-existing-dir"])
def test_names_holding_a_slash_are_refused(
    target_factory: TargetFactory, world: str, existing: bool
) -> None:
    """A filename3 is one path component: MKDIR of b"a/b" is ACCES or INVAL, whether or not
    a directory "a" exists (the known findings' own check: the machines leave it out)."""
    with fresh_target(target_factory) as target:
        root = mount(target)
        if existing:
            made = call(target, MKDIR, MKDIR3args(diropargs3(root, b"a"), sattr()))
            assert made.status == NFS3_OK, made.status
        reply = call(target, MKDIR, MKDIR3args(diropargs3(root, b"a/b"), sattr()))
    if reply.status not in (NFS3ERR_ACCES, NFS3ERR_INVAL):
        findings.current().fail(
            rules.NAME_SLASH,
            f"MKDIR b'a/b' in the root{' beside a directory a' if existing else ''}: expected "
            f"one of NFS3ERR_ACCES, NFS3ERR_INVAL, got {status_name(reply.status)}",
        )


@check("DOT-NAMES", "RMDIR of '.' or '..' in the export's root is refused", "RFC 1813 §3.3.13")
@pytest.mark.parametrize("name", [b".", b".."], ids=["dot", "dotdot"])
def test_rmdir_of_dots_is_refused(target_factory: TargetFactory, name: bytes) -> None:
    """The machines' own odd names, on their own: a known answer here (go-nfs removes its
    export on RMDIR ".") is reported without ending every machine run early."""
    with fresh_target(target_factory) as target:
        root = mount(target)
        reply = call(target, RMDIR, RMDIR3args(diropargs3(root, name)))
    if reply.status == NFS3_OK:
        findings.current().fail(rules.DOTS, f"RMDIR {name!r} in the export's root answered NFS3_OK")


@check(
    "NOT-DIRECTORIES",
    "a file's or symlink's handle given as a directory answers NFS3ERR_NOTDIR",
    "RFC 1813 §2.6",
)
@pytest.mark.parametrize("operation", DIRECTORY_CALLS)
@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_directory_operations_on_a_non_directory_answer_notdir(
    target_factory: TargetFactory, kind: NonDirectory, operation: str
) -> None:
    """The machines' odd kinds, on their own: a world whose baseline knows NOTDIR draws
    only directories where one belongs (a server that follows a symlink changes what the
    model follows), and this check still tests every directory operation."""
    with fresh_target(target_factory) as target:
        if kind == "symlink" and not target.features.symlink:
            findings.current().unsupported(OPTIONAL["symlink"], "SYMLINK is not offered")
            return
        not_a_directory(target, kind, operation)


Example = tuple[Any, ...]


def found_and_shrunk(
    scenario: Callable[[Example], object], strategies: Sequence[SearchStrategy[Any]], rule: Rule
) -> Example:
    """Run `scenario` on the strategies' examples until one FAILs `rule`: the minimal
    failing example (Hypothesis replays it last), kept with its steps for bench detection."""
    tried: list[Example] = []

    @given(st.tuples(*strategies))
    def search(example: Example) -> None:
        tried.append(example)
        scenario(example)

    with pytest.raises(FindingError, match=f"^{rule.code}: ") as found:
        search()
    shown = f"{scenario.__name__}{tried[-1]!r}"
    findings.current().found_shrunk(shown, found.value.steps)
    return tried[-1]


def with_target(make_target: TargetFactory, scenario: Callable[..., T]) -> Callable[[Example], T]:
    """`scenario` on `make_target`'s targets, given one example's values as a tuple."""

    def on_target(example: Example) -> T:
        return scenario(make_target, *example)

    on_target.__name__ = scenario.__name__
    return on_target


def each_example(
    make_target: TargetFactory,
    scenario: Callable[..., None],
    strategies: Sequence[SearchStrategy[Any]],
    world: str | None = None,
) -> None:
    """`scenario` on `make_target`'s targets for every example of `strategies`; in
    `world`, at most REAL_CRASH_EXAMPLES of them outside the simulation."""
    search = given(st.tuples(*strategies))(with_target(make_target, scenario))
    if world is not None:
        search = in_real_time(settings(), world, REAL_CRASH_EXAMPLES)(search)
    search()


def needs_crashes(world: str, capabilities: Capabilities) -> None:
    """Skip, saying why, in a world that cannot crash its server."""
    if not capabilities.crashes:
        pytest.skip(f"{world}: the world cannot crash its server")


GUARDED = (
    st.sampled_from((0, 1, 4096)),  # the file's length
    st.none() | st.sampled_from((0, 1, 5000)),  # the size to set
    st.none() | st.sampled_from((0o600, 0o640)),  # the mode to set
    st.booleans(),  # the guard in sync with the file's ctime
)


@check(
    "GUARDS",
    "a SETATTR guarded by the file's ctime applies; guarded by another, NOT_SYNC, no change",
    "RFC 1813 §3.3.2",
)
def test_setattr_keeps_its_ctime_guard(target_factory: TargetFactory) -> None:
    each_example(target_factory, guarded_setattr, GUARDED)


@check(
    "GUARD-IGNORED",
    "a server that ignores SETATTR's ctime guard is found: an empty SETATTR out of sync",
    "RFC 1813 §3.3.2",
    planted="ServerBugs(ignore_setattr_guard=True)",
)
def test_a_server_that_ignores_setattr_guards_is_found() -> None:
    ignores_guards = sim_target_with(ServerBugs(ignore_setattr_guard=True))
    shrunk = found_and_shrunk(with_target(ignores_guards, guarded_setattr), GUARDED, rules.GUARD)
    assert shrunk == (0, None, None, False), shrunk


TIMED = (
    st.sampled_from((1_000_000_000, 1_234_567_890, 1_600_000_000)),  # seconds: in the past
    st.sampled_from((0, 1, 500_000_000, 999_999_999)),  # nanoseconds
    st.sampled_from(("mtime", "atime", "both")),  # the times set
)


@check(
    "SETATTR-TIMES",
    "SETATTR sets a client's time as sent (at the server's granularity), the server's time now",
    "RFC 1813 §3.3.2",
)
def test_setattr_sets_times_as_asked(target_factory: TargetFactory) -> None:
    each_example(target_factory, set_times, TIMED)


@check(
    "SERVER-TIME-IGNORED",
    "a server that ignores SET_TO_SERVER_TIME is found: the mtime set to a client's time stays",
    "RFC 1813 §3.3.2",
    planted="ServerBugs(server_time_setattr_ignored=True)",
)
def test_a_server_that_ignores_server_time_is_found() -> None:
    ignores = sim_target_with(ServerBugs(server_time_setattr_ignored=True))
    shrunk = found_and_shrunk(with_target(ignores, set_times), TIMED, rules.TIMES_SET)
    assert shrunk == (1_000_000_000, 0, "mtime"), shrunk


COMMITTED = (
    st.sampled_from((0, 1, 4096)),  # bytes written UNSTABLE before the range
    st.sampled_from((0, 1, 5000)),  # the gap between them and the range
    st.sampled_from((1, 4096, 9000)),  # the range's length
)


@check(
    "COMMIT-RANGE",
    "what a COMMIT of a range acknowledged survives a crash",
    "RFC 1813 §3.3.21, §4.8",
)
def test_a_committed_range_is_durable(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    needs_crashes(world, capabilities)
    each_example(target_factory, committed_range, COMMITTED, world)


@check(
    "COMMIT-RANGE-IGNORED",
    "a server whose COMMIT of a range makes nothing durable is found: one byte, committed",
    "RFC 1813 §3.3.21, §4.8",
    planted="ServerBugs(commit_of_a_range_syncs_nothing=True)",
)
def test_a_server_whose_ranged_commit_syncs_nothing_is_found() -> None:
    loses_ranges = sim_target_with(ServerBugs(commit_of_a_range_syncs_nothing=True))
    shrunk = found_and_shrunk(with_target(loses_ranges, committed_range), COMMITTED, rules.DURABLE)
    assert shrunk == (0, 0, 1), shrunk


SYNCED = (
    st.sampled_from((0, 1, 5000)),  # the offset
    st.sampled_from((1, 4096, 9000)),  # the length
)


@check(
    "DATA-SYNC",
    "what a WRITE answered DATA_SYNC acknowledged survives a crash",
    "RFC 1813 §3.3.7, §4.8",
)
def test_a_data_sync_write_is_durable(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    needs_crashes(world, capabilities)
    each_example(target_factory, synced_write, SYNCED, world)


@check(
    "DATA-SYNC-UNSTABLE",
    "a server that answers DATA_SYNC and keeps the data unstable is found: one byte",
    "RFC 1813 §3.3.7, §4.8",
    planted="ServerBugs(data_sync_writes_are_unstable=True)",
)
def test_a_server_whose_data_sync_is_unstable_is_found() -> None:
    unstable = sim_target_with(ServerBugs(data_sync_writes_are_unstable=True))
    shrunk = found_and_shrunk(with_target(unstable, synced_write), SYNCED, rules.DURABLE)
    assert shrunk == (0, 1), shrunk


def retries(capabilities: Capabilities) -> tuple[SearchStrategy[bool], SearchStrategy[bool]]:
    """Exclusive create's retries: the same verifier or not; a restart between where the
    world can restart its server."""
    return st.booleans(), st.booleans() if capabilities.crashes else st.just(False)


@check(
    "EXCLUSIVE-RETRY",
    "CREATE EXCLUSIVE again: its verifier gets the file it made, even after a restart; "
    "another, EXIST",
    "RFC 1813 §3.3.8",
)
def test_exclusive_create_keeps_its_verifier(
    target_factory: TargetFactory, world: str, capabilities: Capabilities
) -> None:
    each_example(target_factory, exclusive_retry, retries(capabilities), world)


@check(
    "EXCLUSIVE-VERIFIER-IN-MEMORY",
    "a server that keeps CREATE EXCLUSIVE's verifier in memory is found: a retry after a restart",
    "RFC 1813 §3.3.8",
    planted="ServerBugs(exclusive_verifier_in_memory=True)",
)
def test_a_server_that_forgets_create_verifiers_is_found() -> None:
    forgets = sim_target_with(ServerBugs(exclusive_verifier_in_memory=True))
    scenario = with_target(forgets, exclusive_retry)
    shrunk = found_and_shrunk(scenario, retries(SIMULATED), rules.CREATE_RETRY)
    assert shrunk == (True, True), shrunk


@check(
    "EXCLUSIVE-VERIFIER-IGNORED",
    "a server that ignores CREATE EXCLUSIVE's verifier is found: another verifier",
    "RFC 1813 §3.3.8",
    planted="ServerBugs(exclusive_create_ignores_verifier=True)",
)
def test_a_server_that_ignores_create_verifiers_is_found() -> None:
    ignores = sim_target_with(ServerBugs(exclusive_create_ignores_verifier=True))
    scenario = with_target(ignores, exclusive_retry)
    shrunk = found_and_shrunk(scenario, retries(SIMULATED), rules.CREATE_VERIFIER)
    assert shrunk == (False, False), shrunk


LISTINGS = (
    st.integers(12, 60),  # entries
    st.lists(st.sampled_from(list(MADE)), min_size=1, max_size=3).map(tuple),  # between pages
    st.booleans(),  # READDIRPLUS
    st.booleans(),  # names as long as name_max: a page or two of entries each
)


@check(
    "READDIR-RESUME",
    "a listing resumed after a change lists the untouched entries once, or is BAD_COOKIE",
    "RFC 1813 §3.3.16",
)
def test_a_resumed_listing_is_consistent(target_factory: TargetFactory, world: str) -> None:
    resumed: list[bool] = []

    @in_real_time(settings(), world, FOREIGN_EXAMPLES)  # each makes up to 60 entries
    @given(*LISTINGS)
    def listing(entries: int, changes: tuple[Change, ...], plus: bool, long_names: bool) -> None:
        resumed.append(resumed_listing(target_factory, entries, changes, plus, long_names))

    listing()
    if not any(resumed):
        pytest.skip("every first page held the whole directory: resuming is untested")


@check(
    "READDIR-POSITIONS",
    "a server whose cookies are positions in the listing is found: an entry removed before",
    "RFC 1813 §3.3.16",
    planted="ServerBugs(readdir_cookies_are_positions=True)",
)
def test_a_server_whose_cookies_are_positions_is_found() -> None:
    positions = sim_target_with(ServerBugs(readdir_cookies_are_positions=True))
    scenario = with_target(positions, resumed_listing)
    shrunk = found_and_shrunk(scenario, LISTINGS, rules.RESUMED_LISTING)
    assert shrunk == (12, ("remove a listed entry",), False, False), shrunk
