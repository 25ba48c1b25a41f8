"""The worlds a property can run in: one registry, WORLDS, from a world's name to its World.

Rules:
- A World has a name, a one-line description, its Capabilities for the run's options
  (known before any target is built: declared for our own worlds, taken from the user's
  word for a --target server) and how it gets a server: `start` is None for the
  simulation, whose target is built afresh per example (make_sim_target), or a function
  (drc, options) -> SocketTarget that starts (or reaches) the world's one server, which
  SharedServers keeps for the session and empties before every example.
- WORLDS is the only list of worlds: --world's choices and help, `nfsprop check`'s
  default, the pytest fixtures and `nfsprop replay` all read it. DEFAULT_WORLDS is what
  CI runs. Adding a world is one entry here, beside its module.
- A world's module is imported when its server starts, not when the registry is read, so
  `nfsprop --help` stays instant.
- `choose_worlds()` checks what the command line said (WorldFlags) and gives
  WorldOptions, or a WorldError naming the problem and the fix: a world list is
  comma-separated names of WORLDS, each at most once; the target world needs --target,
  and --target/--restart-cmd/--uid/--gid/--scratch-dir need the target world. With
  `prerun` (the controller: pytest's without xdist workers or with them, `nfsprop
  check`, `nfsprop replay`), the target is checked before any test (properties/worlds/
  prerun.py) and what the check found goes into the options; xdist's workers load it.
- A world whose one server serves every pytest-xdist worker (the --target server) gives
  an example its target under that server's lock (worlds/shared.py, worlds/lock.py), so
  the examples of different workers never run at the same time.
- `target_factory()` is an example's TargetFactory in a world: the simulation's, or the
  shared server's of a socket world.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from properties.worlds.options import (
    WorldError,
    WorldFlags,
    WorldOptions,
    parse_drc,
    parse_id,
    parse_scratch_dir,
    parse_target_url,
)
from properties.worlds.target import (
    GONFS,
    REAL_SOCKETS,
    SIMULATED,
    Capabilities,
    Target,
    TargetFactory,
)
from reference.fuse.url import EXPECTED_FORM

if TYPE_CHECKING:
    from faults.sim import FaultRates, FaultSource
    from properties.worlds.shared import SharedServers
    from properties.worlds.sockets import SocketTarget

ServerStarter = Callable[[bool, WorldOptions], "SocketTarget[Any]"]


@dataclass(frozen=True)
class World:
    name: str
    description: str
    capabilities: Callable[[WorldOptions], Capabilities]
    start: ServerStarter | None  # None: a simulated target per example
    # one server for every pytest-xdist worker (not started by the suite): its tests must
    # never run at the same time, or they empty and crash one export together
    one_server_for_all_workers: bool = False

    @property
    def simulated(self) -> bool:
        """Virtual time and every decision from the fault source: runs replay exactly."""
        return self.start is None


def _start_loopback(drc: bool, options: WorldOptions) -> SocketTarget[Any]:
    from properties.worlds.loopback import make_loopback_target

    return make_loopback_target(drc=drc)


def _start_ganesha(drc: bool, options: WorldOptions) -> SocketTarget[Any]:
    from properties.worlds.ganesha import make_ganesha_target

    return make_ganesha_target(drc=drc)


def _start_gonfs(drc: bool, options: WorldOptions) -> SocketTarget[Any]:
    from properties.worlds.gonfs import make_gonfs_target

    return make_gonfs_target()


def _reach_target(drc: bool, options: WorldOptions) -> SocketTarget[Any]:
    from properties.worlds.external import make_external_target

    if options.target is None:
        raise WorldError(f"--world target needs --target {EXPECTED_FORM}")
    return make_external_target(
        options.target,
        options.restart_cmd,
        _target_capabilities(options),
        options.credential,
        options.scratch_dir,
    )


def _target_capabilities(options: WorldOptions) -> Capabilities:
    """The user's word and the pre-run check: --restart-cmd enables crashes, and whether
    handles survive them is what the check found; a server the user says (or the probe
    finds) keeps no cache is the only cache-off server the suite can have."""
    checked = options.checked
    return Capabilities(
        crashes=options.restart_cmd is not None,
        drc=options.target_drc,
        drc_off=not options.target_drc,
        network_faults=True,
        partitions=False,
        clock_jumps=False,
        handles_survive_restart=None if checked is None else checked.handles_survive_restart,
    )


WORLDS: dict[str, World] = {
    world.name: world
    for world in (
        World(
            "sim",
            "the deterministic simulation: virtual time, every fault from the fault source",
            lambda options: SIMULATED,
            None,
        ),
        World(
            "loopback",
            "`nfsprop serve` as a real subprocess on 127.0.0.1",
            lambda options: REAL_SOCKETS,
            _start_loopback,
        ),
        World(
            "ganesha",
            "NFS-Ganesha started privately on 127.0.0.1",
            lambda options: REAL_SOCKETS,
            _start_ganesha,
        ),
        World(
            "gonfs",
            "go-nfs v0.0.4 (no cache, handles in memory) started privately on 127.0.0.1",
            lambda options: GONFS,
            _start_gonfs,
        ),
        World(
            "target",
            "somebody else's server, given as --target URL",
            _target_capabilities,
            _reach_target,
            one_server_for_all_workers=True,
        ),
    )
}
DEFAULT_WORLDS = ("sim", "loopback", "ganesha", "gonfs")


def world_names() -> str:
    return ", ".join(WORLDS)


def parse_worlds(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in WORLDS:
            raise WorldError(
                f"unknown world {name!r} in --world {text!r}: choose from {world_names()}, "
                f"comma-separated (e.g. --world {','.join(DEFAULT_WORLDS)})"
            )
    if len(set(names)) != len(names):
        raise WorldError(f"--world {text!r} names a world twice: give each world once")
    return names


def choose_worlds(flags: WorldFlags, prerun: bool = True) -> WorldOptions:
    """The checked WorldOptions of the command line's `flags` (see the module rules)."""
    names = parse_worlds(flags.world)
    drc = parse_drc(flags.target_drc)
    uid, gid = parse_id(flags.uid, "--uid"), parse_id(flags.gid, "--gid")
    scratch = None if flags.scratch_dir is None else parse_scratch_dir(flags.scratch_dir)
    if "target" not in names:
        given = (flags.target, flags.restart_cmd, scratch)
        if any(value is not None for value in given) or uid or gid:
            raise WorldError(
                "--target/--restart-cmd/--uid/--gid/--scratch-dir given without the target "
                "world: add target to --world (e.g. --world sim,target)"
            )
        return WorldOptions(names)
    if flags.target is None:
        raise WorldError(f"--world target needs --target {EXPECTED_FORM}")
    url = parse_target_url(flags.target)
    options = WorldOptions(
        names, url, drc is not False, flags.restart_cmd, uid=uid, gid=gid, scratch_dir=scratch
    )
    from properties.worlds.prerun import check_target, load_check

    checked = check_target(options, probe_drc=drc is None) if prerun else load_check(url)
    if drc is not None:
        return dataclasses.replace(options, checked=checked)
    if checked is None or checked.drc is None:
        raise WorldError(
            f"--target-drc auto: no pre-run check of {url} was found (the controller saves "
            "it before xdist's workers start); give --target-drc yes or no"
        )
    return dataclasses.replace(
        options, target_drc=checked.drc, drc_decided="probed", checked=checked
    )


def target_factory(world: str, shared: SharedServers) -> TargetFactory:
    """An example's TargetFactory in `world`; a socket world's server comes from `shared`."""
    if WORLDS[world].simulated:
        from properties.worlds.sim import make_sim_target

        return make_sim_target

    def example(faults: FaultSource, drc: bool = True, rates: FaultRates | None = None) -> Target:
        return shared.example(world, drc, faults, rates)

    return example
