"""Worlds the server properties run in: the `world` parameter and `target_factory`.

Rules: `--world` (properties/harness/plugin.py) chooses the worlds; every test that takes
`target_factory` (or `world`) runs once per chosen world, in the order given. "sim" is
the simulation; the real-socket worlds are SOCKET_WORLDS (the reference server, NFS-
Ganesha) and "target" (the --target server), each started or reached once per session
(properties/worlds/shared.py); adding a world is one line in `_socket_worlds`.
A factory takes the fault source, whether the server's duplicate request cache is on,
and the fault rates (None: no faults). In the sim world the fault source decides every
message; in the socket worlds an example with rates goes through a fresh fault proxy
bound to that source (properties/worlds/proxied.py). A property that needs what a
world cannot do (crashes, turning the cache off) checks the Target's flags and says so
in its skip reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from faults.sim import FaultRates, FaultSource
from properties.harness.plugin import WorldOptions, world_options
from properties.worlds.external import make_external_target
from properties.worlds.ganesha import make_ganesha_target
from properties.worlds.loopback import make_loopback_target
from properties.worlds.shared import SharedServers
from properties.worlds.sim import make_sim_target
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Target


class TargetFactory(Protocol):
    def __call__(
        self, faults: FaultSource, drc: bool = True, rates: FaultRates | None = None
    ) -> Target: ...


SOCKET_WORLDS: dict[str, Callable[[bool], SocketTarget[Any]]] = {
    "loopback": lambda drc: make_loopback_target(drc=drc),
    "ganesha": lambda drc: make_ganesha_target(drc=drc),
}


def _socket_worlds(options: WorldOptions) -> dict[str, Callable[[bool], SocketTarget[Any]]]:
    worlds = dict(SOCKET_WORLDS)
    url = options.target
    if url is not None:
        drc, restart_cmd = options.target_drc, options.restart_cmd
        worlds["target"] = lambda _drc: make_external_target(url, drc, restart_cmd)
    return worlds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "world" in metafunc.fixturenames:
        worlds = world_options(metafunc.config).worlds
        metafunc.parametrize("world", worlds, scope="session")


@pytest.fixture(scope="session")
def shared_servers(pytestconfig: pytest.Config) -> Iterator[SharedServers]:
    servers = SharedServers(_socket_worlds(world_options(pytestconfig)))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def target_factory(world: str, shared_servers: SharedServers) -> TargetFactory:
    if world == "sim":
        return make_sim_target

    def example(faults: FaultSource, drc: bool = True, rates: FaultRates | None = None) -> Target:
        return shared_servers.example(world, drc, faults, rates)

    return example
