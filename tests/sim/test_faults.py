"""Fault sources and per-message decisions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faults.sim import (
    DELAY_BUCKETS,
    SEGMENT_SIZES,
    Choice,
    Deliver,
    Drop,
    Duplicate,
    FaultRates,
    HypothesisFaults,
    MessageFaults,
    NoFaults,
    PrefetchedFaults,
    RecordingFaults,
    ReplayExhausted,
    ReplayFaults,
    SeededFaults,
)


def test_no_faults_always_chooses_the_boring_index() -> None:
    assert [NoFaults().choose("x", [0.1, 0.9]) for _ in range(5)] == [0] * 5


def test_seeded_faults_repeat_for_the_same_seed_and_never_pick_a_zero_weight() -> None:
    weights = [0.0, 1.0, 0.0, 3.0]
    source_a, source_b = SeededFaults(3), SeededFaults(3)
    run_a = [source_a.choose("x", weights) for _ in range(500)]
    run_b = [source_b.choose("x", weights) for _ in range(500)]
    assert run_a == run_b
    assert set(run_a) == {1, 3}


def test_seeded_faults_differ_between_seeds() -> None:
    source_a, source_b = SeededFaults(1), SeededFaults(2)
    assert [source_a.choose("x", [1, 1]) for _ in range(64)] != [
        source_b.choose("x", [1, 1]) for _ in range(64)
    ]


@given(st.data(), st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=6))
def test_hypothesis_faults_choose_only_possible_indices(
    data: st.DataObject, weights: list[float]
) -> None:
    source = HypothesisFaults(data)
    if not any(weights):
        with pytest.raises(ValueError, match="every weight is 0"):
            source.choose("x", weights)
        return
    index = source.choose("x", weights)
    assert 0 <= index < len(weights)
    assert weights[index] > 0


def test_replay_returns_recorded_indices_in_order() -> None:
    replay = ReplayFaults([2, 0, 1])
    assert [replay.choose(label, [1, 1, 1]) for label in "abc"] == [2, 0, 1]
    assert replay.remaining == 0


def test_replay_exhausted_names_the_label_and_position() -> None:
    replay = ReplayFaults([0])
    replay.choose("datagram", [1, 1])
    with pytest.raises(ReplayExhausted, match=r"#1 \('delay'\)"):
        replay.choose("delay", [1, 1])


@pytest.mark.parametrize("recorded", [5, -1, 1])
def test_replay_refuses_an_index_impossible_for_the_weights(recorded: int) -> None:
    replay = ReplayFaults([recorded])
    with pytest.raises(ReplayExhausted, match=r"diverged at decision #0 \('segment'\)"):
        replay.choose("segment", [1.0, 0.0, 1.0])


def test_recording_keeps_labels_and_indices_for_replay() -> None:
    recording = RecordingFaults(SeededFaults(11))
    answers = [recording.choose(f"d{n}", [1, 1, 1]) for n in range(20)]
    assert recording.records == [Choice(f"d{n}", index) for n, index in enumerate(answers)]
    replay = ReplayFaults(recording.choices)
    assert [replay.choose("again", [1, 1, 1]) for _ in range(20)] == answers


def test_fault_rates_are_validated() -> None:
    with pytest.raises(ValueError, match="drop"):
        FaultRates(drop=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        FaultRates(drop=0.6, delay=0.6)
    with pytest.raises(ValueError, match="max_delay"):
        FaultRates(max_delay=-1.0)


RATES = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.008)
BUCKET = RATES.max_delay / DELAY_BUCKETS


@pytest.mark.parametrize(
    ("choices", "decision"),
    [
        ([0], Deliver(0.0)),
        ([1], Drop()),
        ([2, 0], Duplicate((0.0, BUCKET))),
        ([3, 7], Deliver(8 * BUCKET)),
        ([4, 1], Deliver(RATES.max_delay + 2 * BUCKET, reorder=True)),
    ],
)
def test_datagram_decisions_follow_the_choices(choices: list[int], decision: object) -> None:
    replay = ReplayFaults(choices)
    assert MessageFaults(replay, RATES).decide() == decision
    assert replay.remaining == 0


def test_reorder_delay_exceeds_every_plain_delay() -> None:
    faults = MessageFaults(ReplayFaults([4, 0]), RATES)
    reordered = faults.decide()
    assert isinstance(reordered, Deliver)
    assert reordered.delay > RATES.max_delay


def test_fault_free_rates_draw_no_decisions() -> None:
    faults = MessageFaults(ReplayFaults([]), FaultRates())
    assert faults.decide() == Deliver(0.0)
    assert faults.segment_sizes(1000) == [1000]
    assert faults.segment_delay() == 0.0


def test_segment_sizes_follow_the_choices() -> None:
    one, four = SEGMENT_SIZES.index(1) + 1, SEGMENT_SIZES.index(4) + 1
    faults = MessageFaults(ReplayFaults([one, four, 0]), FaultRates(segment=0.5))
    assert faults.segment_sizes(10) == [1, 4, 5]


@given(st.data(), st.integers(0, 300))
def test_segment_sizes_cover_the_write_exactly(data: st.DataObject, length: int) -> None:
    faults = MessageFaults(HypothesisFaults(data), FaultRates(segment=0.9))
    sizes = faults.segment_sizes(length)
    assert sum(sizes) == length
    assert all(size > 0 for size in sizes)


def test_prefetched_faults_draw_everything_up_front_then_map_each_decision() -> None:
    recorder = RecordingFaults(ReplayFaults([0, 7, 255]))
    prefetched = PrefetchedFaults(recorder, 3)
    assert [choice.label for choice in recorder.records] == ["prefetched"] * 3
    assert prefetched.choose("only one possible", [0, 1, 0]) == 1  # takes no value
    assert prefetched.choose("message", [1, 1, 1]) == 0  # 0: the boring choice
    assert prefetched.choose("message", [1, 0, 1, 1]) == [0, 2, 3][7 % 3]
    assert prefetched.choose("message", [0, 1, 1]) == [1, 2][255 % 2]
    assert prefetched.choose("used up", [0, 1, 1]) == 1  # then always the first possible
    assert len(recorder.records) == 3  # nothing drawn after construction
