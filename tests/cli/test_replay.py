"""Replay files: a failing at-most-once run (cache off) is saved, replayed with
`nfsprop replay`, and gives the very same trace, byte for byte; bad files, of every kind,
are one line. (The state machines' and client programs' replays: tests/replay/.)"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faults.sim import HypothesisFaults, RecordingFaults
from properties.cli import main
from properties.harness.replay.file import RunContext, load, save, set_run_stamp
from properties.harness.replay.run import replay_file
from properties.harness.steps import Codec
from properties.nfs3.machine import MachineConfig
from properties.rpc.counter import (
    AtMostOnceViolation,
    CounterRun,
    check_at_most_once,
    run_counter,
    saving_counter_failures,
)


def failing_counter_replay(directory: Path) -> tuple[Path, CounterRun]:
    runs: list[CounterRun] = []

    @settings(database=None, derandomize=True, max_examples=200)
    @given(st.data(), st.lists(st.integers(1, 1000), min_size=1, max_size=4))
    def without_cache(data: st.DataObject, amounts: list[int]) -> None:
        recorder = RecordingFaults(HypothesisFaults(data))
        run = run_counter(recorder, amounts, drc=False)
        runs.append(run)
        context = RunContext("at-most-once-without-cache")
        with saving_counter_failures(context, run, recorder, directory):
            check_at_most_once(run)

    with pytest.raises(AtMostOnceViolation) as failure:
        without_cache()
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    [saved] = [
        Path(line.removeprefix("replay with: nfsprop replay "))
        for line in notes.splitlines()
        if line.startswith("replay with: ")
    ]
    assert saved.name.endswith("-at-most-once-without-cache-sim-AtMostOnceViolation.json")
    assert saved.parent == directory
    return saved, runs[-1]


def test_a_replayed_failure_has_the_same_trace_byte_for_byte(tmp_path: Path) -> None:
    saved, shrunk = failing_counter_replay(tmp_path)
    recorded = load(saved)
    assert recorded.trace == shrunk.world.trace.to_json()  # the file holds the last run
    replay, outcome = replay_file(saved)
    assert outcome.reproduced, outcome.message
    assert outcome.trace is not None
    assert outcome.trace.encode() == recorded.trace.encode()
    assert outcome.trace_identical is True
    assert replay.operations == shrunk.increments


def test_nfsprop_replay_reports_the_reproduced_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved, _ = failing_counter_replay(tmp_path)
    assert main(["replay", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "trace: identical to the recorded one" in out
    assert "reproduced: xid" in out


def test_a_changed_fault_decision_is_a_different_trace(tmp_path: Path) -> None:
    saved, _ = failing_counter_replay(tmp_path)
    body = json.loads(saved.read_text())
    body["faults"] = [[label, 0] for label, _ in body["faults"]]  # no faults at all
    saved.write_text(json.dumps(body))
    _, outcome = replay_file(saved)
    assert not outcome.reproduced
    assert outcome.trace_identical is False


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such replay file"),
        ("{not json", "not JSON"),
        ('{"format": "other"}', "not an nfsprop replay file"),
        ('{"format": "nfsprop-replay", "version": 99}', "version 99"),
        ('{"format": "nfsprop-replay", "version": 1}', "version 1"),
        ('{"format": "nfsprop-replay", "version": 3, "kind": "counter"}', "field 'faults'"),
    ],
)
def test_a_bad_replay_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    path = tmp_path / "replay.json"
    if content is not None:
        path.write_text(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1 and err.startswith("nfsprop replay: ")


MACHINE_FILE: dict[str, object] = {
    "format": "nfsprop-replay",
    "version": 3,
    "property": "a-property",
    "kind": "machine",
    "world": "sim",
    "failure": "ModelMismatch: at-most-once",
    "settings": {"machine": {}},
    "operations": [],
    "faults": [],
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"settings": {}}, "settings lack 'machine', which a machine run needs"),
        ({"operations": [{"function": "mount"}]}, "operation 1: a step is not"),
        ({"world": "moon"}, "unknown world 'moon'"),
        ({"kind": "client", "world": "loopback", "settings": {"client": {}}}, "sim world"),
        ({"world": "target"}, "a target-world run without its 'target' URL"),
        ({"log": [1]}, "field 'log' is not a list of strings"),
        ({"settings": {"machine": {"drc": "yes"}}}, "do not describe a run"),
        ({"kind": "afs", "settings": {"afs": {"rates": {"hail": 1}}}}, "do not describe a run"),
        (
            {
                "settings": {"machine": MachineConfig().to_json()},
                "operations": [{"function": "mount", "args": {"data": {"set": []}}, "draws": []}],
            },
            "unknown recorded value tag 'set'",
        ),
    ],
)
def test_a_bad_step_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], problem: str
) -> None:
    path = tmp_path / "replay.json"
    path.write_text(json.dumps(MACHINE_FILE | change))
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1 and err.startswith("nfsprop replay: ")


def test_every_failure_keeps_its_own_file_and_replay_list_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name per run and per failure code: a second run, or a second failure of the same
    property, never overwrites the first; `nfsprop replay --list` shows each."""
    first, _ = failing_counter_replay(tmp_path)
    set_run_stamp("29991231-235959")  # a later run
    failing_counter_replay(tmp_path)
    replay = load(first)
    save(dataclasses.replace(replay, failure="another: failure"), "OTHER-CODE", tmp_path)
    (tmp_path / "broken.json").write_text("{")
    names = sorted(path.name for path in tmp_path.glob("*.json"))
    assert len(names) == 4, names
    assert main(["replay", "--list", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "4 replay files; re-run one with: nfsprop replay FILE"
    shown = [line for line in out if line.startswith(str(tmp_path))]
    assert [Path(line).name for line in shown] == names
    details = [line.strip() for line in out if line.startswith("    ")]
    assert sum("at-most-once-without-cache (counter) in sim" in line for line in details) == 3
    assert any(line.startswith("unreadable: ") for line in details)


def test_names_in_steps_are_readable_text_and_other_bytes_hex() -> None:
    codec = Codec()
    assert codec.encode(b"a/b") == {"text": "a/b"}
    assert codec.encode(b"\xff\x00") == {"bytes": "ff00"}
    for value in (b"a/b", b"\xff\x00", b"", b"tab\t"):
        assert codec.decode(codec.encode(value)) == value
