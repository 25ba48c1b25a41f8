"""Worlds the server properties run in: the `target_factory` fixture.

Rules: WORLDS names the worlds: "sim" (the simulation), and the real-socket worlds of
SOCKET_WORLDS, each a server started once per session (see properties/targets/shared.py);
adding a world is one line there. These worlds inject no per-message faults.
Every server property takes `target_factory` and so runs once per world. A factory
takes the fault source (used by worlds that inject faults; others ignore it), whether
the server's duplicate request cache is on, and the fault rates (None: no faults).
A property that needs what a world cannot do (crashes, faults, turning the cache off)
checks the Target's flags and says so in its skip reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from faults.sim import FaultRates, FaultSource
from properties.targets.base import Target
from properties.targets.ganesha import make_ganesha_target
from properties.targets.loopback import make_loopback_target
from properties.targets.shared import SharedServers
from properties.targets.sim import make_sim_target


class TargetFactory(Protocol):
    def __call__(
        self, faults: FaultSource, drc: bool = True, rates: FaultRates | None = None
    ) -> Target: ...


SOCKET_WORLDS: dict[str, Callable[[bool], Target]] = {
    "loopback": lambda drc: make_loopback_target(drc=drc),
    "ganesha": lambda drc: make_ganesha_target(drc=drc),
}
WORLDS = ["sim", *SOCKET_WORLDS]


@pytest.fixture(scope="session")
def shared_servers() -> Iterator[SharedServers]:
    servers = SharedServers(SOCKET_WORLDS)
    yield servers
    servers.close()


@pytest.fixture(params=WORLDS, scope="session")
def world(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def target_factory(world: str, shared_servers: SharedServers) -> TargetFactory:
    if world == "sim":
        return make_sim_target

    def example(faults: FaultSource, drc: bool = True, rates: FaultRates | None = None) -> Target:
        return shared_servers.example(world, drc)

    return example
