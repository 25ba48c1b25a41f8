"""The targets a replayed NFS server machine runs against, built without pytest.

Rules:
- sim: a fresh SimTarget per run (properties/worlds/sim.py); the recorded fault
  decisions are replayed exactly (ReplayFaults): a run that asks for a decision the
  recording does not hold has diverged, and says so.
- loopback: `nfsprop serve` as a subprocess on a temporary store (properties/targets/
  loopback.py); ganesha: a private NFS-Ganesha (properties/worlds/ganesha.py); target:
  the recorded URL, with the recorded --target-drc and --restart-cmd. The server is
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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from faults.sim import FaultRates, FaultSource, ReplayFaults
from properties.nfs3.machine import TargetMaker
from properties.peers.ganesha import GaneshaError
from properties.peers.processes import PeerNotInstalled
from properties.peers.reference_server import ServerStartError
from properties.peers.rpcbind import RpcbindError
from properties.worlds.external import make_external_target
from properties.worlds.ganesha import make_ganesha_target
from properties.worlds.loopback import make_loopback_target
from properties.worlds.options import WorldError, check_reachable, parse_target_url
from properties.worlds.shared import SharedServers
from properties.worlds.sim import make_sim_target
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Target

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
    return ReplayFaults(choices) if world == "sim" else LenientReplayFaults(choices)


@contextmanager
def world_targets(
    world: str,
    drc: bool,
    target: str | None = None,
    target_drc: bool = True,
    restart_cmd: str | None = None,
) -> Iterator[TargetMaker]:
    """A target factory for `world`, its server started (see the module rules)."""
    if world == "sim":
        yield make_sim_target
        return
    shared = SharedServers({world: _starter(world, target, target_drc, restart_cmd)})
    try:
        try:
            shared.example(world, drc).close()
        except WORLD_START_ERRORS as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ReplayWorldError(f"cannot start the {world} world: {reason}") from None

        def example(faults: FaultSource, drc: bool, rates: FaultRates | None) -> Target:
            return shared.example(world, drc, faults, rates)

        yield example
    finally:
        shared.close()


def _starter(
    world: str, target: str | None, target_drc: bool, restart_cmd: str | None
) -> Callable[[bool], SocketTarget[Any]]:
    if world == "loopback":
        return lambda drc: make_loopback_target(drc=drc)
    if world == "ganesha":
        return lambda drc: make_ganesha_target(drc=drc)
    if target is None:
        raise ReplayWorldError(f"the {world} world needs the target URL the file lacks")
    try:
        url = parse_target_url(target)
        check_reachable(url)
    except WorldError as error:
        raise ReplayWorldError(str(error)) from None
    return lambda drc: make_external_target(url, target_drc, restart_cmd)
