"""Worlds the server properties run in: the `world` parameter, its `capabilities` and
`target_factory`.

Rules: `--world` (properties/harness/plugin.py) chooses the worlds of the registry
(properties/worlds/registry.py); every test that takes `world`, `capabilities` or
`target_factory` runs once per chosen world, in the order given. The socket worlds'
servers are started (or reached) on first use and kept for the session
(properties/worlds/shared.py); the tests of a world whose one server serves every
xdist worker (the --target server) hold that server's lock while an example has a
target (properties/worlds/shared.py), so they never overlap. A property that needs what
a world cannot do
(crashes, turning the cache off) reads `capabilities`, known without building a target,
and says so in its skip reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from properties.harness.plugin import world_options
from properties.worlds.registry import WORLDS, target_factory
from properties.worlds.shared import SharedServers
from properties.worlds.target import Capabilities, TargetFactory


@pytest.hookimpl(trylast=True)  # after pytest has grouped the items by world
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on real sockets run first (in their order): they wait on real time, restarts
    and retransmissions, and the longest are among them; the many short tests of the
    simulation and the own stack then even out the ends of the xdist workers. Collected
    last, the ganesha world's tests ran alone on one worker for the last minute."""
    items.sort(key=lambda item: not on_real_sockets(item))


def on_real_sockets(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    world = None if callspec is None else callspec.params.get("world")
    return world is not None and not WORLDS[world].simulated


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "world" in metafunc.fixturenames:
        worlds = world_options(metafunc.config).worlds
        metafunc.parametrize("world", worlds, scope="session")


@pytest.fixture(scope="session")
def shared_servers(pytestconfig: pytest.Config) -> Iterator[SharedServers]:
    servers = SharedServers(world_options(pytestconfig))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def capabilities(world: str, pytestconfig: pytest.Config) -> Capabilities:
    return WORLDS[world].capabilities(world_options(pytestconfig))


@pytest.fixture(scope="session", name="target_factory")
def world_target_factory(world: str, shared_servers: SharedServers) -> TargetFactory:
    return target_factory(world, shared_servers)
