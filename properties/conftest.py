"""Worlds the server properties run in: the `target_factory` fixture.

Rules: WORLDS maps a world's name to a TargetFactory; adding a world is one line there.
Every server property takes `target_factory` and so runs once per world. A factory
takes the fault source (used by worlds that inject faults; others ignore it), whether
the server's duplicate request cache is on, and the fault rates (None: no faults).
A property that needs what a world cannot do (crashes, faults, turning the cache off)
checks the Target's flags and says so in its skip reason.
"""

from __future__ import annotations

from typing import Protocol

import pytest

from faults.sim import FaultRates, FaultSource
from properties.targets.base import Target
from properties.targets.sim import make_sim_target


class TargetFactory(Protocol):
    def __call__(
        self, faults: FaultSource, drc: bool = True, rates: FaultRates | None = None
    ) -> Target: ...


WORLDS: dict[str, TargetFactory] = {
    "sim": make_sim_target,
}


@pytest.fixture(params=sorted(WORLDS), scope="session")
def target_factory(request: pytest.FixtureRequest) -> TargetFactory:
    return WORLDS[request.param]
