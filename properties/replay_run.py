"""`nfsprop replay FILE`: re-run what a replay file (properties/replay.py) recorded.

Rules:
- "counter" files run again in the simulation world, with ReplayFaults over the recorded
  decisions and the recorded increments, cache setting and fault rates; the outcome says
  whether the failure came back and whether the new trace equals the saved one byte for
  byte. No Hypothesis is involved, so any version replays it.
- "machine" files are re-run by pytest on the recorded node id, in the recorded world and
  target, with the recorded profile and seed (the Hypothesis example database supplies
  the failing example): as closely as a world of real sockets allows.
- The exit status is 1 when the failure reproduces, 0 when it does not, 2 for a bad file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faults.sim import FaultRates, ReplayFaults
from faults.sim.faults import ReplayExhausted
from properties.replay import ReplayFile, ReplayFileError, load


@dataclass(frozen=True)
class ReplayOutcome:
    reproduced: bool
    message: str  # the failure, or what happened instead
    trace: str | None = None  # the new trace (simulated runs)
    trace_identical: bool | None = None  # None: nothing to compare


def replay_counter(replay: ReplayFile) -> ReplayOutcome:
    from properties.counter_scenario import AtMostOnceViolation, check_at_most_once, run_counter

    try:
        rates = FaultRates(**replay.settings["rates"])
        drc = bool(replay.settings["drc"])
        amounts = [int(amount) for amount in replay.operations]
    except (KeyError, TypeError, ValueError) as error:
        raise ReplayFileError(
            f"{replay.property}: settings lack rates/drc or operations are not integers "
            f"({error}); replay a file the suite wrote"
        ) from None
    source = ReplayFaults([choice.index for choice in replay.faults])
    try:
        run = run_counter(source, amounts, drc=drc, rates=rates)
    except ReplayExhausted as error:
        return ReplayOutcome(False, f"the run diverged from the recording: {error}")
    trace = run.world.trace.to_json()
    identical = None if replay.trace is None else trace == replay.trace
    try:
        check_at_most_once(run)
    except AtMostOnceViolation as violation:
        return ReplayOutcome(True, str(violation), trace, identical)
    return ReplayOutcome(False, "the property held on replay", trace, identical)


def machine_command(replay: ReplayFile) -> list[str]:
    command = ["-p", "no:cacheprovider", replay.property, "--world", replay.world]
    if replay.target is not None:
        command += ["--target", replay.target]
        drc = replay.settings.get("target_drc")
        if isinstance(drc, bool):
            command += ["--target-drc", "yes" if drc else "no"]
        restart_cmd = replay.settings.get("restart_cmd")
        if isinstance(restart_cmd, str):
            command += ["--restart-cmd", restart_cmd]
    profile = replay.settings.get("profile")
    if isinstance(profile, str):
        command.append(f"--hypothesis-profile={profile}")
    seed = replay.settings.get("seed")
    if seed is not None:
        command.append(f"--hypothesis-seed={seed}")
    return command


def replay_machine(replay: ReplayFile) -> ReplayOutcome:
    import pytest

    status = pytest.main(machine_command(replay))
    if status == pytest.ExitCode.TESTS_FAILED:
        return ReplayOutcome(True, replay.failure)
    return ReplayOutcome(False, f"pytest exit status {int(status)}: the failure did not recur")


def replay_file(path: Path) -> tuple[ReplayFile, ReplayOutcome]:
    replay = load(path)
    if replay.kind == "counter":
        return replay, replay_counter(replay)
    return replay, replay_machine(replay)
