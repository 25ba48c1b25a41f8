"""A scenario's FAIL shows the calls of its own example, and a planted-bug search keeps
its minimal example for bench detection."""

from __future__ import annotations

import pytest

from properties.harness import findings
from properties.harness.findings import FindingError, Recorder, Shrunk
from properties.nfs3.guards import guarded_setattr
from properties.nfs3.rules import GUARD
from properties.nfs3.test_server import GUARDED, found_and_shrunk, with_target
from properties.worlds.sim import sim_target_with
from reference.nfs.mutants import ServerBugs

IGNORES_GUARDS = sim_target_with(ServerBugs(ignore_setattr_guard=True))
GUARDED_CALLS = ("MNT", "CREATE", "WRITE", "GETATTR", "GETATTR", "SETATTR")


def test_a_scenario_fail_shows_the_calls_of_its_own_example_only() -> None:
    with findings.recording(Recorder(world="sim")) as recorder:
        guarded_setattr(IGNORES_GUARDS, 0, None, None, True)  # passes: the guard is in sync
        with pytest.raises(FindingError) as failed:
            guarded_setattr(IGNORES_GUARDS, 0, None, None, False)
    assert failed.value.steps == GUARDED_CALLS
    assert recorder.step_count == 7 + len(GUARDED_CALLS)  # the first: a GETATTR after it too


def test_a_planted_bug_search_keeps_its_minimal_example_and_steps() -> None:
    with findings.recording(Recorder()) as recorder:
        shrunk = found_and_shrunk(with_target(IGNORES_GUARDS, guarded_setattr), GUARDED, GUARD)
    assert shrunk == (0, None, None, False)
    assert recorder.shrunk == Shrunk("guarded_setattr(0, None, None, False)", GUARDED_CALLS)
