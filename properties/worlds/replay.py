"""The targets a replayed NFS server machine runs against, built without pytest.

Rules:
- The world comes from the registry (properties/worlds/registry.py), as in a pytest run.
- sim: a fresh SimTarget per run (properties/worlds/sim.py); the recorded fault
  decisions are replayed exactly (ReplayFaults): a run that asks for a decision the
  recording does not hold has diverged, and says so.
- loopback: `nfsprop serve` as a subprocess on a temporary store; ganesha: a private
  NFS-Ganesha; target: the recorded URL, with the recorded --target-drc, --restart-cmd,
  --uid, --gid and --scratch-dir (recorded_flags). The server is
  started (or reached) once, with the recorded cache setting, before the first step, so
  a world that cannot be built is a ReplayWorldError naming why, not a failure of the
  run; its export is emptied before the run, a run with fault rates reaches it through
  a fresh fault proxy (properties/worlds/shared.py and proxied.py), and it is stopped
  at the end.
- On real sockets, retransmissions and timing may ask for decisions in another order or
  number than recorded: LenientReplayFaults plays the recording back in order and, where
  it holds no possible answer, delivers (index 0) and counts the divergence, so the run
  goes on as closely as the world allows.
- `replay_in_world` is how every family whose machine reaches its server through a
  TargetFactory replays: its machine, built on the recorded world's targets, driven
  through the recorded steps with the recorded decisions; the outcome's message says how
  many decisions were not in the recording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from faults.sim import ReplayFaults
from properties.harness.replay.file import ReplayFile
from properties.harness.replay.run import ReplayOutcome, drive, settings_error
from properties.harness.steps import RecordedMachine
from properties.peers.ganesha import GaneshaError
from properties.peers.processes import PeerNotInstalled
from properties.peers.reference_server import ServerStartError
from properties.peers.rpcbind import RpcbindError
from properties.worlds.options import WorldError, WorldFlags, WorldOptions
from properties.worlds.registry import WORLDS, choose_worlds, target_factory
from properties.worlds.shared import SharedServers
from properties.worlds.target import TargetFactory

WORLD_START_ERRORS = (ServerStartError, GaneshaError, PeerNotInstalled, RpcbindError, OSError)


class ReplayWorldError(RuntimeError):
    """The world of a replay file cannot be built here; the message says why."""


class LenientReplayFaults:
    """Recorded decisions in order; where none fits, index 0, counted in `diverged`."""

    def __init__(self, choices: Sequence[int]) -> None:
        self._choices = tuple(choices)
        self.position = 0
        self.diverged = 0

    def choose(self, label: str, weights: Sequence[float]) -> int:
        if self.position < len(self._choices):
            index = self._choices[self.position]
            self.position += 1
            if 0 <= index < len(weights) and weights[index] > 0:
                return index
        self.diverged += 1
        return 0


def replay_source(world: str, choices: Sequence[int]) -> ReplayFaults | LenientReplayFaults:
    return ReplayFaults(choices) if WORLDS[world].simulated else LenientReplayFaults(choices)


def recorded_flags(replay: ReplayFile) -> WorldFlags:
    """The world and target options a replay file recorded (RunContext.settings), as the
    command line would give them."""
    recorded = replay.settings
    target_drc = recorded.get("target_drc", True)
    restart_cmd = recorded.get("restart_cmd")
    uid, gid = recorded.get("uid", 0), recorded.get("gid", 0)
    scratch_dir = recorded.get("scratch_dir")
    if not (
        isinstance(target_drc, bool)
        and isinstance(uid, int)
        and isinstance(gid, int)
        and isinstance(restart_cmd, str | None)
        and isinstance(scratch_dir, str | None)
    ):
        raise settings_error(replay, TypeError("the target's options have the wrong types"))
    drc_word = "yes" if target_drc else "no"
    return WorldFlags(
        replay.world, replay.target, drc_word, restart_cmd, str(uid), str(gid), scratch_dir
    )


@contextmanager
def world_targets(flags: WorldFlags, drc: bool) -> Iterator[TargetFactory]:
    """A target factory for `flags.world`, its server started (see the module rules)."""
    world = flags.world
    shared = SharedServers(_options(flags))
    try:
        if not WORLDS[world].simulated:
            try:
                shared.example(world, drc).close()
            except WORLD_START_ERRORS as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise ReplayWorldError(f"cannot start the {world} world: {reason}") from None
        yield target_factory(world, shared)
    finally:
        shared.close()


def replay_in_world(
    replay: ReplayFile, drc: bool, machine: Callable[[TargetFactory], RecordedMachine]
) -> ReplayOutcome:
    """`machine(make_target)` driven through `replay`'s steps in its recorded world (see
    the module rules)."""
    with world_targets(recorded_flags(replay), drc) as make_target:
        source = replay_source(replay.world, [choice.index for choice in replay.faults])
        outcome = drive(replay, machine(make_target), source)
    if isinstance(source, LenientReplayFaults) and source.diverged:
        note = f" ({source.diverged} fault decisions were not in the recording: delivered)"
        outcome = dataclasses.replace(outcome, message=outcome.message + note)
    return outcome


def _options(flags: WorldFlags) -> WorldOptions:
    """The recorded world's options, checked as the command line's are."""
    try:
        return choose_worlds(flags)
    except WorldError as error:
        raise ReplayWorldError(str(error)) from None
