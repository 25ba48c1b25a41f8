"""The trace: JSON round trip, annotations and the sequence chart."""

import json

import pytest

from faults.sim import Kind, SeededFaults, SimWorld, Trace, TraceEvent
from tests.sim.scenarios import ping_pong


def test_json_round_trips_to_the_same_trace_and_text() -> None:
    trace = ping_pong(SeededFaults(3)).world.trace
    text = trace.to_json()
    again = Trace.from_json(text)
    assert again == trace
    assert again.to_json() == text
    assert again.events[0] == trace[0]


def test_json_is_stable_and_versioned() -> None:
    trace = Trace([TraceEvent(0.1, Kind.SEND, "a", 1, "b", 2, 3, 0xDEADBEEF, "")])
    document = json.loads(trace.to_json())
    assert document["format"] == "nfsprop-sim-trace"
    assert document["events"] == [[0.1, "send", "a", 1, "b", 2, 3, 0xDEADBEEF, ""]]
    assert trace.to_json().index('"events"') < trace.to_json().index('"format"')


def test_from_json_rejects_other_documents() -> None:
    with pytest.raises(ValueError, match="not a simulation trace"):
        Trace.from_json("[]")
    document = json.loads(Trace().to_json())
    document["version"] = 99
    with pytest.raises(ValueError, match="unsupported trace version 99"):
        Trace.from_json(json.dumps(document))


def test_the_sequence_chart_shows_messages_faults_and_annotations() -> None:
    world = SimWorld()
    world.add_node("server", lambda context: context.bind(2049, lambda payload, source: None))
    world.add_node("client", lambda context: None)
    world.note("client", "call INCREMENT xid=5")
    world.send(("client", 700), ("server", 2049), b"\x00" * 40)
    world.run_until_idle()
    chart = world.trace.sequence_chart()
    lines = chart.splitlines()
    assert len(lines) == len(world.trace)
    assert "note" in lines[2] and "call INCREMENT xid=5" in lines[2]
    assert "client:700  → server:2049  40B crc=" in lines[3]
    assert lines[4].split()[:2] == ["0.001000", "deliver"]


def test_the_sequence_chart_can_show_only_the_last_events() -> None:
    trace = Trace()
    for number in range(5):
        trace.record(float(number), Kind.NOTE, "n", note=f"event {number}")
    lines = trace.sequence_chart(last=2).splitlines()
    assert lines[0] == "... 3 earlier events"
    assert [line.split("  ")[-1] for line in lines[1:]] == ["event 3", "event 4"]
