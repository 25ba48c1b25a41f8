"""One seed, one trace: determinism, record and replay, and a Hypothesis invariant."""

from hypothesis import given
from hypothesis import strategies as st

from faults.sim import HypothesisFaults, Kind, RecordingFaults, ReplayFaults, SeededFaults
from tests.sim.scenarios import ping_pong


def test_the_same_seed_gives_the_same_trace_byte_for_byte() -> None:
    first = ping_pong(SeededFaults(7))
    second = ping_pong(SeededFaults(7))
    assert first.world.trace.to_json() == second.world.trace.to_json()
    assert len(first.log.answered) == 8
    kinds = {event.kind for event in first.world.trace}
    assert {Kind.CRASH, Kind.RESTART, Kind.DELIVER} <= kinds


def test_a_different_seed_gives_a_different_trace() -> None:
    assert ping_pong(SeededFaults(7)).world.trace.to_json() != (
        ping_pong(SeededFaults(8)).world.trace.to_json()
    )


def test_a_recorded_run_replays_to_the_identical_trace() -> None:
    recording = RecordingFaults(SeededFaults(12345))
    original = ping_pong(recording)
    replay = ReplayFaults(recording.choices)
    replayed = ping_pong(replay)
    assert replayed.world.trace.to_json() == original.world.trace.to_json()
    assert replay.remaining == 0
    assert len(recording.records) > 10


@given(st.data())
def test_every_delivered_payload_was_sent_first(data: st.DataObject) -> None:
    run = ping_pong(HypothesisFaults(data))
    sent_so_far: set[tuple[str, int, str, int, int, int]] = set()
    for event in run.world.trace:
        key = (event.src, event.src_port, event.dst, event.dst_port, event.size, event.digest)
        if event.kind == Kind.SEND:
            sent_so_far.add(key)
        elif event.kind == Kind.DELIVER and event.note != "stream":
            assert key in sent_so_far, f"delivered but never sent: {event}"
    assert set(run.log.server_received) <= set(run.log.sent)
    assert bytes(run.log.stream_echoed) == bytes(run.log.stream_sent)[: len(run.log.stream_echoed)]
    times = [event.time for event in run.world.trace]
    assert times == sorted(times)
