"""A client that finds its server through the port mapper keeps working across restarts.

In the simulation, the counter server moves to a new port at every restart and registers
it with a port mapper that keeps no duplicate request cache; a client that asks GETPORT
again when its calls go unanswered gets every increment answered by the live server,
through drops, duplicates, delays and reorders, each increment run exactly once there.
The planted client that keeps its first port forever (PortmapBugs.client_keeps_port) is
found and shrunk to an increment, a restart and an increment.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faults.sim import FaultRates, HypothesisFaults, NoFaults, RecordingFaults
from properties.harness import findings
from properties.harness.findings import check
from properties.harness.replay.file import run_context
from properties.portmap.rebind import (
    RESTART,
    Operation,
    RebindConfig,
    RebindRun,
    RebindViolation,
    check_rebinding,
    operations_text,
    run_rebinding,
    saving_rebind_failures,
)
from reference.rpc.portmap import PortmapBugs

OPERATIONS = st.lists(st.one_of(st.integers(1, 1000), st.just(RESTART)), min_size=1, max_size=8)
EXAMPLES = 50


@check(
    "PMAP-REBIND",
    "a client that finds the server through the port mapper survives restarts that move it",
    "RFC 1833 §3.2 (PMAPPROC_GETPORT), RFC 5531 §8",
)
def test_a_rebinding_client_survives_restarts(request: pytest.FixtureRequest) -> None:
    context = run_context(request, "sim")

    @settings(max_examples=min(settings().max_examples, EXAMPLES))
    @given(st.data(), OPERATIONS)
    def rebinding(data: st.DataObject, operations: list[Operation]) -> None:
        recorder = RecordingFaults(HypothesisFaults(data))
        run = run_rebinding(recorder, operations, RebindConfig())
        findings.current().steps(len(operations))
        with saving_rebind_failures(context, run, recorder):
            check_rebinding(run)

    rebinding()


@check(
    "PMAP-REBIND-KEEPS-PORT",
    "a client that never asks the port mapper again is found: increment, restart, increment",
    "RFC 1833 §3.2 (PMAPPROC_GETPORT)",
    planted="PortmapBugs(client_keeps_port=True)",
)
def test_a_client_that_keeps_its_port_is_found() -> None:
    runs: list[RebindRun] = []
    # no network faults: a restart alone shows it, and the search is over operations only
    config = RebindConfig(rates=FaultRates(), bugs=PortmapBugs(client_keeps_port=True))

    @settings(database=None, derandomize=True, max_examples=200)
    @given(OPERATIONS)
    def keeping_its_port(operations: list[Operation]) -> None:
        run = run_rebinding(NoFaults(), operations, config)
        runs.append(run)
        check_rebinding(run)

    with pytest.raises(RebindViolation, match="was never answered"):
        keeping_its_port()
    shrunk = runs[-1]  # Hypothesis replays the minimal failing example last
    findings.current().found_shrunk("", operations_text(shrunk.operations))
    assert shrunk.operations == [1, RESTART, 1], shrunk.operations
    assert len(shrunk.replies) == 1 and len(shrunk.failures) == 1, shrunk
