"""`nfsprop replay FILE`: re-run what a replay file (properties/harness/replay/file.py)
recorded, with no Hypothesis example generation, so any Hypothesis version replays it.

Rules:
- "counter" files: the increments run again in the simulation world with ReplayFaults
  over the recorded decisions, the recorded cache setting and fault rates.
- "machine" files (the NFSv3 server machine): a fresh machine of the recorded config is
  driven through the recorded steps (properties/harness/steps.py), against a fresh target of the
  recorded world built without pytest (properties/worlds/replay.py): sim exactly; on
  real sockets (loopback, ganesha, target) with the recorded decisions driving the fault
  proxy as closely as the world allows.
- "afs" files: a fresh AFS machine with the recorded mutants and fault rates, driven
  through the recorded steps. "client" files: the recorded program runs again with the
  recorded setup (clients, mount options, planted bugs, fault rates), then its checks.
- The outcome says whether the failure came back — the same exception type and the same
  first line of its message (on real sockets, numbers aside: XIDs and file ids differ
  between servers) — and, for simulated runs, whether the new trace equals the saved one
  byte for byte. A run that asks for a step, draw or fault decision the recording does
  not hold has diverged: not reproduced.
- The exit status is 1 when the failure reproduces, 0 when it does not, 2 for a bad file
  or a world that cannot be built here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from faults.sim import FaultRates, FaultSource, ReplayExhausted, ReplayFaults
from properties.harness.replay.file import ReplayFile, ReplayFileError, failure_text, load
from properties.harness.steps import RecordedMachine, RecordedStep, StepFormatError, StepsDiverged

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


def _settings_error(replay: ReplayFile, error: Exception) -> ReplayFileError:
    return ReplayFileError(
        f"{replay.property}: the {replay.kind} settings or operations do not describe a run "
        f"({type(error).__name__}: {error}); replay a file the suite wrote"
    )


def _outcome(replay: ReplayFile, failure: BaseException | None, trace: str | None) -> ReplayOutcome:
    identical = None if replay.trace is None or trace is None else trace == replay.trace
    if failure is None:
        return ReplayOutcome(False, "the property held on replay", trace, identical)
    text = failure_text(failure)
    exact = replay.world == "sim"
    if failure_start(text, exact) == failure_start(replay.failure, exact):
        return ReplayOutcome(True, str(failure), trace, identical)
    return ReplayOutcome(False, f"a different failure: {text}", trace, identical)


def _diverged(error: BaseException, trace: str | None = None) -> ReplayOutcome:
    return ReplayOutcome(False, f"the run diverged from the recording: {error}", trace)


def _broken(replay: ReplayFile, error: Exception) -> ReplayOutcome:
    """The outcome of a run that raised before its checks: diverged, or failing otherwise."""
    diverged = divergence(error)
    return _diverged(diverged) if diverged is not None else _outcome(replay, error, None)


def divergence(error: BaseException) -> BaseException | None:
    """The ReplayExhausted or StepsDiverged behind `error` (the simulation wraps what a
    node's task raised in TaskFailed), or None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ReplayExhausted | StepsDiverged):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


# -- counter -------------------------------------------------------------------------------


def replay_counter(replay: ReplayFile) -> ReplayOutcome:
    from properties.rpc.counter import check_at_most_once, run_counter

    try:
        rates = FaultRates(**replay.settings["rates"])
        drc = bool(replay.settings["drc"])
        amounts = [int(amount) for amount in replay.operations]
    except SETTINGS_ERRORS as error:
        raise _settings_error(replay, error) from None
    source = ReplayFaults([choice.index for choice in replay.faults])
    try:
        run = run_counter(source, amounts, drc=drc, rates=rates)
    except Exception as error:
        return _broken(replay, error)
    trace = run.world.trace.to_json()
    try:
        check_at_most_once(run)
    except AssertionError as violation:
        return _outcome(replay, violation, trace)
    return _outcome(replay, None, trace)


# -- state machines ------------------------------------------------------------------------


def _steps(replay: ReplayFile) -> list[RecordedStep]:
    try:
        return [RecordedStep.from_json(step) for step in replay.operations]
    except StepFormatError as error:
        raise _settings_error(replay, error) from None


def drive(
    replay: ReplayFile, machine: RecordedMachine, steps: list[RecordedStep], source: FaultSource
) -> ReplayOutcome:
    """Run `steps` on `machine` with fault decisions from `source`; the outcome."""
    from properties.harness.steps import replay_steps

    failure: Exception | None = None
    try:
        replay_steps(machine, steps, source)
    except StepFormatError as error:
        raise _settings_error(replay, error) from None
    except Exception as error:
        if divergence(error) is not None:
            return _broken(replay, error)
        failure = error
    world = machine.record.world
    return _outcome(replay, failure, None if world is None else world.trace.to_json())


def replay_machine(replay: ReplayFile) -> ReplayOutcome:
    from properties.nfs3.machine import MachineConfig, machine_class
    from properties.worlds.replay import LenientReplayFaults, replay_source, world_targets
    from properties.worlds.sim import make_sim_target

    steps = _steps(replay)
    settings = replay.settings
    try:
        config = MachineConfig.from_settings(settings["machine"], make_sim_target)
    except SETTINGS_ERRORS as error:
        raise _settings_error(replay, error) from None
    target_drc = settings.get("target_drc", True)
    restart_cmd = settings.get("restart_cmd")
    if not isinstance(target_drc, bool) or not isinstance(restart_cmd, str | None):
        raise _settings_error(replay, TypeError("target_drc or restart_cmd has the wrong type"))
    with world_targets(
        replay.world, config.drc, replay.target, target_drc, restart_cmd
    ) as make_target:
        config = dataclasses.replace(config, make_target=make_target)
        source = replay_source(replay.world, [choice.index for choice in replay.faults])
        outcome = drive(replay, machine_class(config)(), steps, source)
    if isinstance(source, LenientReplayFaults) and source.diverged:
        note = f" ({source.diverged} fault decisions were not in the recording: delivered)"
        outcome = dataclasses.replace(outcome, message=outcome.message + note)
    return outcome


def replay_afs(replay: ReplayFile) -> ReplayOutcome:
    from properties.afs.machine import AfsMachineConfig, afs_machine_class

    steps = _steps(replay)
    try:
        config = AfsMachineConfig.from_settings(replay.settings["afs"])
    except SETTINGS_ERRORS as error:
        raise _settings_error(replay, error) from None
    source = ReplayFaults([choice.index for choice in replay.faults])
    return drive(replay, afs_machine_class(config)(), steps, source)


# -- client programs -----------------------------------------------------------------------


def replay_client(replay: ReplayFile) -> ReplayOutcome:
    from properties.nfs_client.scenario import ClientSetup, decode_program

    try:
        setup = ClientSetup.from_settings(replay.settings["client"])
        program = decode_program(replay.operations)
    except SETTINGS_ERRORS as error:
        raise _settings_error(replay, error) from None
    source = ReplayFaults([choice.index for choice in replay.faults])
    try:
        run = setup.run(program, source)
    except Exception as error:
        return _broken(replay, error)
    trace = run.world.world.trace.to_json()
    try:
        setup.check(run)
    except AssertionError as violation:
        return _outcome(replay, violation, trace)
    return _outcome(replay, None, trace)


REPLAYERS = {
    "counter": replay_counter,
    "machine": replay_machine,
    "afs": replay_afs,
    "client": replay_client,
}


def replay_file(path: Path) -> tuple[ReplayFile, ReplayOutcome]:
    replay = load(path)
    return replay, REPLAYERS[replay.kind](replay)
