"""Replay files of the NFSv3 server machine: with the duplicate request cache off, the
retransmission property finds a double execution; the shrunk run is saved with its
recorded steps and fault decisions, and `nfsprop replay` runs those steps again without
Hypothesis: in the sim world with the very same trace, byte for byte; in the loopback,
ganesha and target worlds against a fresh (or the given) server."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import Phase, settings

from faults.sim import FaultRates
from properties.harness.profiles import SLOW_OK
from properties.harness.replay.file import ReplayFile, RunContext, load
from properties.harness.replay.run import replay_file
from properties.harness.steps import RunLog
from properties.nfs3.machine import MachineConfig, run_machine
from properties.nfs3.model import ModelMismatch
from properties.peers.reference_server import running_server
from properties.worlds.options import TargetUrl, WorldFlags
from properties.worlds.replay import recorded_flags, world_targets
from properties.worlds.sim import make_sim_target
from properties.worlds.target import TargetFactory
from tests.replay.commands import assert_replayed_byte_for_byte, edited, nfsprop_replay

NAME = "nfs-machine-without-cache"
FAULTY = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.1)
SEARCH = settings(
    stateful_step_count=30,
    database=None,
    derandomize=True,
    max_examples=200,
    phases=(Phase.generate, Phase.shrink),
    deadline=None,
    suppress_health_check=SLOW_OK,
)


Found = tuple[Path, MachineConfig, RunLog]


def find_failure(
    directory: Path, make_target: TargetFactory, context: RunContext, rates: FaultRates | None
) -> Found:
    """The saved replay file of the shrunk double execution, the config that ran it and
    its run log."""
    config, log = MachineConfig(drc=False, rates=rates, retransmit=True), RunLog()
    with pytest.raises(ModelMismatch, match=r"^AT-MOST-ONCE: ") as failure:
        run_machine(config, make_target, SEARCH, context, directory, log)
    [saved] = directory.glob(f"*-{NAME}-{context.world}-*.json")
    assert f"nfsprop replay {saved}" in "\n".join(failure.value.__notes__)
    return saved, config, log


@pytest.fixture(scope="module")
def sim_failure(tmp_path_factory: pytest.TempPathFactory) -> Found:
    directory = tmp_path_factory.mktemp("machine")
    return find_failure(directory, make_sim_target, RunContext(NAME), FAULTY)


def test_the_file_holds_the_shrunk_runs_steps_decisions_and_trace(
    sim_failure: Found,
) -> None:
    saved, config, log = sim_failure
    replay = load(saved)
    run = log.latest  # Hypothesis runs the minimal failing example last
    assert run is not None
    assert (replay.kind, replay.world, replay.target) == ("machine", "sim", None)
    assert replay.failure.startswith("ModelMismatch: AT-MOST-ONCE: ")
    assert replay.settings["machine"] == config.to_json()
    assert replay.operations == [step.to_json() for step in run.steps]
    functions = [step["function"] for step in replay.operations]
    assert functions[0] == "mount" and functions[1] in {"create", "mkdir", "symlink"}, functions
    assert len(functions) == 2, functions  # the mount and the one duplicated call
    assert replay.log == log.logs[-1]
    assert replay.faults == run.fault_decisions and replay.faults
    assert run.world is not None and replay.trace == run.world.trace.to_json()


def test_a_replay_runs_the_steps_again_with_the_same_trace_byte_for_byte(
    sim_failure: Found,
) -> None:
    assert_replayed_byte_for_byte(sim_failure[0], "AT-MOST-ONCE: ")


def test_without_its_last_step_the_run_passes_with_another_trace(
    sim_failure: Found, tmp_path: Path
) -> None:
    saved, _, _ = sim_failure
    shortened = edited(saved, tmp_path, lambda body: body["operations"].pop())
    _, outcome = replay_file(shortened)
    assert not outcome.reproduced
    assert outcome.trace_identical is False


def test_a_run_asking_for_decisions_the_recording_lacks_has_diverged(
    sim_failure: Found, tmp_path: Path
) -> None:
    saved, _, _ = sim_failure
    truncated = edited(saved, tmp_path, lambda body: body.update(faults=[]))
    _, outcome = replay_file(truncated)
    assert not outcome.reproduced
    assert outcome.message.startswith("the run diverged from the recording: replay ran out")


def test_nfsprop_replay_reruns_a_machine_file(sim_failure: Found) -> None:
    saved, _, _ = sim_failure
    done = nfsprop_replay(saved)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(machine) in world sim: 2 operations" in done.stdout
    assert "trace: identical to the recorded one" in done.stdout
    assert "reproduced: AT-MOST-ONCE: " in done.stdout


@pytest.mark.parametrize("world", ["loopback", "ganesha"])
def test_a_socket_world_failure_replays_against_a_fresh_server(tmp_path: Path, world: str) -> None:
    with world_targets(WorldFlags(world), drc=False) as make_target:
        saved, _, _ = find_failure(tmp_path, make_target, RunContext(NAME, world), None)
    replay, outcome = replay_file(saved)  # starts its own server, and stops it
    assert replay.world == world and replay.trace is None
    assert outcome.reproduced, outcome.message
    assert outcome.trace is None and outcome.trace_identical is None


def test_a_target_world_failure_replays_against_the_recorded_url(tmp_path: Path) -> None:
    """The replay file keeps the target's options (here --target-drc no and a scratch
    directory) and the replay runs with them."""
    with running_server(tmp_path / "server", drc=False) as server:
        url = str(TargetUrl("127.0.0.1", server.port, b"/export", server.mount_port))
        flags = WorldFlags("target", url, "no", scratch_dir="work")
        context = RunContext(NAME, "target", target=url, target_drc=False, scratch_dir="work")
        with world_targets(flags, False) as make_target:
            saved, _, _ = find_failure(tmp_path, make_target, context, None)
        replay: ReplayFile = load(saved)
        assert replay.target == url and recorded_flags(replay) == flags
        _, outcome = replay_file(saved)
    assert outcome.reproduced, outcome.message


def test_a_partition_failure_replays_with_the_same_trace_byte_for_byte(tmp_path: Path) -> None:
    """Without the cache, a partition that loses a reply makes the retransmission run the
    call again; the replay file keeps the partition step and replays it exactly."""
    config = MachineConfig(drc=False, partitions=True)
    context = RunContext("nfs-machine-partition")
    with pytest.raises(ModelMismatch):
        run_machine(config, make_sim_target, SEARCH, context, tmp_path)
    [saved] = tmp_path.glob("*-nfs-machine-partition-sim-*.json")
    replay = load(saved)
    assert replay.settings["machine"]["partitions"] is True
    functions = [step["function"] for step in replay.operations]
    assert functions[0] == "mount" and functions.count("partition") == 1, functions
    assert_replayed_byte_for_byte(saved)
