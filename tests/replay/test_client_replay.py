"""Replay files of the caching-client programs: a client that does not flush on close()
breaks close-to-open; the shrunk program is saved with its setup (the planted bug among
the mount options), its fault decisions and its trace, and `nfsprop replay` runs it again
without Hypothesis, with the same trace byte for byte."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from faults.sim import HypothesisFaults, RecordingFaults
from properties.harness.replay.file import RunContext, load
from properties.harness.replay.run import replay_file
from properties.nfs_client.scenario import (
    ClientRun,
    ClientSetup,
    CloseToOpenViolation,
    ReadFile,
    Step,
    WriteFile,
    check_and_record,
    decode_program,
    programs,
)
from reference.client import ClientBugs
from tests.replay.commands import assert_replayed_byte_for_byte, edited, nfsprop_replay

NAME = "client-without-flush-on-close"
SETUP = ClientSetup(("close-to-open",), bugs=ClientBugs(skip_flush_on_close=True), finish=False)


@pytest.fixture(scope="module")
def client_failure(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClientRun]:
    directory = tmp_path_factory.mktemp("client")
    latest: list[ClientRun] = []  # only the latest run: each holds its whole world

    @settings(
        database=None,
        derandomize=True,
        max_examples=1000,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data(), programs(clients=2, files=1))
    def search(data: st.DataObject, program: list[Step]) -> None:
        recorder = RecordingFaults(HypothesisFaults(data))
        run = SETUP.run(program, recorder)
        latest[:] = [run]
        check_and_record(SETUP, run, recorder, RunContext(NAME), directory)

    with pytest.raises(CloseToOpenViolation) as failure:
        search()
    [saved] = directory.glob(f"*-{NAME}-sim-*.json")
    assert f"nfsprop replay {saved}" in "\n".join(failure.value.__notes__)
    return saved, latest[0]  # Hypothesis runs the minimal failing example last


def test_the_file_holds_the_program_setup_decisions_and_trace(
    client_failure: tuple[Path, ClientRun],
) -> None:
    saved, shrunk = client_failure
    replay = load(saved)
    assert (replay.kind, replay.world) == ("client", "sim")
    assert replay.failure.startswith("CloseToOpenViolation: step 1 ReadFile")
    assert replay.settings["client"] == SETUP.to_json()
    assert replay.settings["client"]["bugs"]["skip_flush_on_close"] is True
    assert decode_program(replay.operations) == shrunk.program
    assert [type(step) for step in shrunk.program] == [WriteFile, ReadFile]
    assert replay.faults and all(choice.index == 0 for choice in replay.faults)
    assert replay.trace == shrunk.world.world.trace.to_json()


def test_a_replay_has_the_same_failure_and_trace_byte_for_byte(
    client_failure: tuple[Path, ClientRun],
) -> None:
    assert_replayed_byte_for_byte(client_failure[0], "step 1 ReadFile")


def test_the_same_program_on_a_correct_client_keeps_close_to_open(
    client_failure: tuple[Path, ClientRun], tmp_path: Path
) -> None:
    def correct_client(body: dict[str, Any]) -> None:
        body["settings"]["client"] = replace(SETUP, bugs=ClientBugs()).to_json()

    _, outcome = replay_file(edited(client_failure[0], tmp_path, correct_client))
    assert not outcome.reproduced, outcome.message


def test_nfsprop_replay_reruns_a_client_file(client_failure: tuple[Path, ClientRun]) -> None:
    saved, _ = client_failure
    done = nfsprop_replay(saved)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(client) in world sim: 2 operations" in done.stdout
    assert "trace: identical to the recorded one" in done.stdout
    assert "reproduced: step 1 ReadFile" in done.stdout
