"""At-most-once: the duplicate request cache runs each call once.

A client incrementing a counter through drops, duplicates, delays and reorders has every
replied call executed exactly once with the duplicate request cache on; with it off, the
suite finds a double execution and shrinks it to one duplicate.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faults.sim import HypothesisFaults, Kind, RecordingFaults, SeededFaults
from properties.harness import findings
from properties.harness.findings import check
from properties.harness.replay.file import run_context
from properties.rpc.counter import (
    AtMostOnceViolation,
    CounterRun,
    check_at_most_once,
    run_counter,
    saving_counter_failures,
)

increments = st.lists(st.integers(1, 1000), min_size=1, max_size=4)
FAULT_KINDS = {Kind.DROP, Kind.DUPLICATE, Kind.DELAY, Kind.REORDER}


@check("RPC-AT-MOST-ONCE", "with the cache, every replied call runs exactly once", "RFC 5531 §8")
def test_with_the_cache_every_replied_call_runs_exactly_once(
    request: pytest.FixtureRequest,
) -> None:
    context = run_context(request)

    @given(st.data(), increments)
    def with_cache(data: st.DataObject, amounts: list[int]) -> None:
        recorder = RecordingFaults(HypothesisFaults(data))
        run = run_counter(recorder, amounts, drc=True)
        with saving_counter_failures(context, run, recorder):
            check_at_most_once(run)

    with_cache()


@check(
    "RPC-AT-MOST-ONCE-NO-CACHE",
    "without the cache, a double execution is found and shrunk",
    "RFC 5531 §8",
    planted="the counter server without its duplicate request cache",
)
def test_without_the_cache_a_double_execution_is_found_and_shrunk() -> None:
    runs: list[CounterRun] = []

    @settings(database=None, derandomize=True, max_examples=200)
    @given(st.data(), increments)
    def without_cache(data: st.DataObject, amounts: list[int]) -> None:
        run = run_counter(HypothesisFaults(data), amounts, drc=False)
        runs.append(run)
        check_at_most_once(run)

    with pytest.raises(AtMostOnceViolation):
        without_cache()
    shrunk = runs[-1]  # Hypothesis replays the minimal failing example last
    events = shrunk.world.trace.events
    faults = [event for event in events if event.kind in FAULT_KINDS]
    messages = [event for event in events if event.kind == Kind.SEND]
    # Minimal: one call and one fault, either of the two that make it run twice: its
    # request duplicated (two executions, two replies: 3 messages), or its reply dropped
    # (the client retransmits, the server runs it again: 4 messages).
    chart = shrunk.world.trace.sequence_chart()
    calls = [f"INCREMENT {amount}" for amount in shrunk.increments]
    findings.current().found_shrunk("", calls + [f"message fault: {e.kind}" for e in faults])
    assert len(shrunk.xids) == 1, chart
    shape = ([event.kind for event in faults], len(messages))
    assert shape in [([Kind.DUPLICATE], 3), ([Kind.DROP], 4)], chart


@check("RPC-SIM-DETERMINISM", "the same seed gives the same trace byte for byte", "RFC 5531 §8")
def test_the_same_seed_gives_the_same_trace_byte_for_byte() -> None:
    first = run_counter(SeededFaults(2049), [5, 6, 7], drc=True).world.trace.to_json()
    again = run_counter(SeededFaults(2049), [5, 6, 7], drc=True).world.trace.to_json()
    other = run_counter(SeededFaults(2050), [5, 6, 7], drc=True).world.trace.to_json()
    assert first == again
    assert first != other
