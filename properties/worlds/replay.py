"""The targets a replayed NFS server machine runs against, built without pytest.

Rules:
- The world comes from the registry (properties/worlds/registry.py), as in a pytest run.
- sim: a fresh SimTarget per run (properties/worlds/sim.py); the recorded fault
  decisions are replayed exactly (ReplayFaults): a run that asks for a decision the
  recording does not hold has diverged, and says so.
- loopback: `nfsprop serve` as a subprocess on a temporary store; ganesha: a private
  NFS-Ganesha; target: the recorded URL, with the recorded --target-drc and
  --restart-cmd. The server is
  started (or reached) once, with the recorded cache setting, before the first step, so
  a world that cannot be built is a ReplayWorldError naming why, not a failure of the
  run; its export is emptied before the run, a run with fault rates reaches it through
  a fresh fault proxy (properties/worlds/shared.py and proxied.py), and it is stopped
  at the end.
- On real sockets, retransmissions and timing may ask for decisions in another order or
  number than recorded: LenientReplayFaults plays the recording back in order and, where
  it holds no possible answer, delivers (index 0) and counts the divergence, so the run
  goes on as closely as the world allows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from faults.sim import ReplayFaults
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


@contextmanager
def world_targets(
    world: str,
    drc: bool,
    target: str | None = None,
    target_drc: bool = True,
    restart_cmd: str | None = None,
) -> Iterator[TargetFactory]:
    """A target factory for `world`, its server started (see the module rules)."""
    shared = SharedServers(_options(world, target, target_drc, restart_cmd))
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


def _options(
    world: str, target: str | None, target_drc: bool, restart_cmd: str | None
) -> WorldOptions:
    """The recorded world's options, checked as the command line's are."""
    try:
        flags = WorldFlags(world, target, "yes" if target_drc else "no", restart_cmd)
        return choose_worlds(flags)
    except WorldError as error:
        raise ReplayWorldError(str(error)) from None
