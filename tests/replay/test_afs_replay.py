"""Replay files of the AFS machine: a server that forgets to break callbacks is caught, the
shrunk run is saved with its recorded steps, fault decisions, mutants and trace, and
`nfsprop replay` runs those steps again without Hypothesis, with the same trace byte for
byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

from properties.afs.checks import CallbackSafetyViolation
from properties.afs.machine import AfsMachineConfig, AfsRunLog, run_afs_machine
from properties.harness.profiles import SLOW_OK
from properties.harness.replay.file import RunContext, load
from properties.harness.replay.run import replay_file
from reference.afs.server import ServerMutants
from tests.replay.commands import assert_replayed_byte_for_byte, edited, nfsprop_replay

NAME = "afs-forgotten-breaks"
HUNT = settings(
    database=None,
    derandomize=True,
    suppress_health_check=SLOW_OK,
    deadline=None,
    stateful_step_count=20,
    max_examples=1000,
    phases=(Phase.generate, Phase.shrink),
)


@pytest.fixture(scope="module")
def afs_failure(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AfsRunLog]:
    directory = tmp_path_factory.mktemp("afs")
    config, log = AfsMachineConfig(server_mutants=ServerMutants(forget_breaks=True)), AfsRunLog()
    with pytest.raises(CallbackSafetyViolation) as failure:
        run_afs_machine(config, HUNT, RunContext(NAME), directory, log)
    [saved] = directory.glob(f"*-{NAME}-sim-*.json")
    assert f"nfsprop replay {saved}" in "\n".join(failure.value.__notes__)
    return saved, log


def test_the_file_holds_the_shrunk_runs_steps_mutants_decisions_and_trace(
    afs_failure: tuple[Path, AfsRunLog],
) -> None:
    saved, log = afs_failure
    replay = load(saved)
    run = log.latest  # Hypothesis runs the minimal failing example last
    assert run is not None
    assert (replay.kind, replay.world) == ("afs", "sim")
    assert replay.failure.startswith("CallbackSafetyViolation: ")
    assert replay.settings["afs"]["server_mutants"] == {
        "forget_breaks": True,
        "first_writer_wins": False,
    }
    assert replay.operations == [step.to_json() for step in run.steps]
    functions = [step["function"] for step in replay.operations]
    assert functions == ["start", "open", "write", "open"], functions
    assert replay.log == log.logs[-1]
    assert replay.faults == run.fault_decisions
    assert run.world is not None and replay.trace == run.world.trace.to_json()


def test_a_replay_has_the_same_failure_and_trace_byte_for_byte(
    afs_failure: tuple[Path, AfsRunLog],
) -> None:
    assert_replayed_byte_for_byte(afs_failure[0])


def test_the_same_steps_on_a_correct_server_do_not_fail(
    afs_failure: tuple[Path, AfsRunLog], tmp_path: Path
) -> None:
    def correct_server(body: dict[str, Any]) -> None:
        body["settings"]["afs"]["server_mutants"]["forget_breaks"] = False

    _, outcome = replay_file(edited(afs_failure[0], tmp_path, correct_server))
    assert not outcome.reproduced, outcome.message


def test_nfsprop_replay_reruns_an_afs_file(afs_failure: tuple[Path, AfsRunLog]) -> None:
    saved, _ = afs_failure
    done = nfsprop_replay(saved)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(afs) in world sim: 4 operations" in done.stdout
    assert "trace: identical to the recorded one" in done.stdout
    assert "reproduced: " in done.stdout
