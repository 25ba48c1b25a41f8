"""`nfsprop replay FILE`: re-run what a replay file (properties/harness/replay/file.py)
recorded, with no Hypothesis example generation, so any Hypothesis version replays it.

Rules:
- The file's kind names its family (properties/families.py); the family's config is
  read back from the settings (a config that does not read back is a ReplayFileError)
  and the family's `replay` runs the recorded operations with the recorded fault
  decisions. Families build on the helpers here: `run_and_check` for a run followed by
  its checks (counter, caching clients), `drive` for a state machine fed its recorded
  steps (properties/harness/steps.py), `recorded_faults` for the decisions.
- The outcome says whether the failure came back — the same exception type and the same
  first line of its message (on real sockets, numbers aside: XIDs and file ids differ
  between servers) — and, for simulated runs, whether the new trace equals the saved one
  byte for byte. A run that asks for a step, draw or fault decision the recording does
  not hold has diverged: not reproduced.
- The exit status is 1 when the failure reproduces, 0 when it does not, 2 for a bad file
  or a world that cannot be built here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from faults.sim import FaultSource, ReplayExhausted, ReplayFaults
from properties.harness.replay.file import ReplayFile, ReplayFileError, failure_text, load
from properties.harness.steps import (
    RecordedMachine,
    RecordedStep,
    StepFormatError,
    StepsDiverged,
    replay_steps,
)
from properties.worlds.registry import WORLDS

R = TypeVar("R")

SETTINGS_ERRORS = (KeyError, TypeError, ValueError, StepFormatError)


@dataclass(frozen=True)
class ReplayOutcome:
    reproduced: bool
    message: str  # the failure, or what happened instead
    trace: str | None = None  # the new trace (simulated runs)
    trace_identical: bool | None = None  # None: nothing to compare


def failure_start(text: str, exact: bool = True) -> str:
    """What two failures must share to be the same: the type and the first line."""
    first = text.splitlines()[0] if text else ""
    return first if exact else re.sub(r"0x[0-9a-fA-F]+|\d+", "#", first)


def settings_error(replay: ReplayFile, error: Exception) -> ReplayFileError:
    return ReplayFileError(
        f"{replay.property}: the {replay.kind} settings or operations do not describe a run "
        f"({type(error).__name__}: {error}); replay a file the suite wrote"
    )


def outcome(replay: ReplayFile, failure: BaseException | None, trace: str | None) -> ReplayOutcome:
    identical = None if replay.trace is None or trace is None else trace == replay.trace
    if failure is None:
        return ReplayOutcome(False, "the property held on replay", trace, identical)
    text = failure_text(failure)
    exact = WORLDS[replay.world].simulated
    if failure_start(text, exact) == failure_start(replay.failure, exact):
        return ReplayOutcome(True, str(failure), trace, identical)
    return ReplayOutcome(False, f"a different failure: {text}", trace, identical)


def _broken(replay: ReplayFile, error: Exception) -> ReplayOutcome:
    """The outcome of a run that raised before its checks: diverged, or failing otherwise."""
    diverged = divergence(error)
    if diverged is not None:
        return ReplayOutcome(False, f"the run diverged from the recording: {diverged}")
    return outcome(replay, error, None)


def divergence(error: BaseException) -> BaseException | None:
    """The ReplayExhausted or StepsDiverged behind `error` (the simulation wraps what a
    node's task raised in TaskFailed), or None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ReplayExhausted | StepsDiverged):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def recorded_faults(replay: ReplayFile) -> ReplayFaults:
    """The recorded fault decisions, replayed exactly."""
    return ReplayFaults([choice.index for choice in replay.faults])


def run_and_check(
    replay: ReplayFile,
    run: Callable[[], R],
    trace: Callable[[R], str],
    check: Callable[[R], None],
) -> ReplayOutcome:
    """`run()` (its errors are a divergence or the failure), then `check` its result (an
    AssertionError is the failure); `trace` gives the run's trace."""
    try:
        result = run()
    except Exception as error:
        return _broken(replay, error)
    try:
        check(result)
    except AssertionError as violation:
        return outcome(replay, violation, trace(result))
    return outcome(replay, None, trace(result))


def recorded_steps(replay: ReplayFile) -> list[RecordedStep]:
    try:
        return [RecordedStep.from_json(step) for step in replay.operations]
    except StepFormatError as error:
        raise settings_error(replay, error) from None


def drive(replay: ReplayFile, machine: RecordedMachine, source: FaultSource) -> ReplayOutcome:
    """Run the recorded steps on `machine` with fault decisions from `source`."""
    steps = recorded_steps(replay)
    failure: Exception | None = None
    try:
        replay_steps(machine, steps, source)
    except StepFormatError as error:
        raise settings_error(replay, error) from None
    except Exception as error:
        if divergence(error) is not None:
            return _broken(replay, error)
        failure = error
    world = machine.record.world
    return outcome(replay, failure, None if world is None else world.trace.to_json())


def replay_file(path: Path) -> tuple[ReplayFile, ReplayOutcome]:
    from properties.families import family

    replay = load(path)
    runs = family(replay.kind)
    try:
        config = runs.config.from_json(replay.settings[replay.kind])
    except SETTINGS_ERRORS as error:
        raise settings_error(replay, error) from None
    return replay, runs.replay(replay, config)
