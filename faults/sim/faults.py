"""Fault sources: where every fault decision of a run comes from.

Rules:
- A fault decision is ONE primitive, `choose(label, weights) -> index`: an index into
  `weights`. Index 0 is always the boring choice ("no fault", "shortest delay", "whole
  segment"), so a Hypothesis-driven schedule shrinks toward a run without faults.
- A weight of 0 means "impossible": no source ever returns that index (except `NoFaults`,
  which always returns 0, and `ReplayFaults`, which refuses to replay it).
- `label` names the decision ("datagram", "delay", "segment", ...). It appears in
  Hypothesis output, in recordings and in replay errors; it never changes the outcome.
- The same source state and the same sequence of calls give the same answers: a run is
  a pure function of its fault source. `RecordingFaults` keeps the (label, index) pairs of a
  run so that `ReplayFaults` can play them back exactly.
"""

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hypothesis import strategies as st


class FaultSource(Protocol):
    """Anything that answers fault decisions."""

    def choose(self, label: str, weights: Sequence[float]) -> int:
        """Return an index into `weights` (never one whose weight is 0)."""
        ...


class ReplayExhausted(Exception):
    """A replayed run asked for a decision the recording cannot answer."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One recorded decision."""

    label: str
    index: int


def _allowed_indices(label: str, weights: Sequence[float]) -> tuple[int, ...]:
    allowed = tuple(index for index, weight in enumerate(weights) if weight > 0)
    if not allowed:
        raise ValueError(f"choose({label!r}): every weight is 0, nothing can be chosen")
    return allowed


class NoFaults:
    """Always the boring choice: a run with no faults at all."""

    __slots__ = ()

    def choose(self, label: str, weights: Sequence[float]) -> int:
        return 0


class SeededFaults:
    """Decisions drawn from a seeded PRNG, honouring the weights as probabilities."""

    __slots__ = ("_random", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def choose(self, label: str, weights: Sequence[float]) -> int:
        return self._random.choices(range(len(weights)), weights)[0]


class HypothesisFaults:
    """Decisions drawn from Hypothesis data, so a failing fault schedule shrinks.

    The weights only say which indices are possible (weight > 0); Hypothesis picks among
    them and shrinks toward the first. A decision with a single possible index draws
    nothing.
    """

    __slots__ = ("_data", "_strategies")

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        self._strategies: dict[int, st.SearchStrategy[int]] = {}

    def choose(self, label: str, weights: Sequence[float]) -> int:
        allowed = _allowed_indices(label, weights)
        if len(allowed) == 1:
            return allowed[0]
        strategy = self._strategies.get(len(allowed))
        if strategy is None:
            strategy = st.integers(0, len(allowed) - 1)
            self._strategies[len(allowed)] = strategy
        return allowed[self._data.draw(strategy, label=label)]


class ReplayFaults:
    """Plays back recorded indices in order.

    Raises `ReplayExhausted` when the recording runs out, or when a recorded index is
    impossible for the weights of the decision asked for (the run has diverged).
    """

    __slots__ = ("_choices", "position")

    def __init__(self, choices: Sequence[int]) -> None:
        self._choices = tuple(choices)
        self.position = 0

    @property
    def remaining(self) -> int:
        """How many recorded decisions have not been asked for yet."""
        return len(self._choices) - self.position

    def choose(self, label: str, weights: Sequence[float]) -> int:
        position = self.position
        if position >= len(self._choices):
            raise ReplayExhausted(
                f"replay ran out at decision #{position} ({label!r}): the recording holds "
                f"{len(self._choices)} decisions; the run asked for more than the recorded one"
            )
        index = self._choices[position]
        if not 0 <= index < len(weights) or weights[index] <= 0:
            raise ReplayExhausted(
                f"replay diverged at decision #{position} ({label!r}): recorded index {index} "
                f"is impossible for weights {list(weights)}; the run is not the recorded one"
            )
        self.position = position + 1
        return index


class RecordingFaults:
    """Wraps another source and records every decision it makes, for replay."""

    __slots__ = ("_inner", "records")

    def __init__(self, inner: FaultSource) -> None:
        self._inner = inner
        self.records: list[Choice] = []

    @property
    def choices(self) -> list[int]:
        """The recorded indices, in order: what `ReplayFaults` takes."""
        return [record.index for record in self.records]

    def choose(self, label: str, weights: Sequence[float]) -> int:
        index = self._inner.choose(label, weights)
        self.records.append(Choice(label, index))
        return index


class PrefetchedFaults:
    """Takes `count` decisions from `inner` at once, up front, for a caller whose number
    of decisions depends on timing — a fault proxy on real sockets, where retransmissions
    are timer-driven. Hypothesis needs every re-run of an example to draw the same data
    in the same order; drawn at once, in the caller's thread, they do.

    Each later decision with more than one possible index takes the next prefetched value
    v as `allowed[v % len(allowed)]`: a value of 0 is the boring choice, so a shrinking
    schedule still heads for no faults. Once the values are used up, every decision is
    the boring choice."""

    __slots__ = ("_values",)

    VALUES = 256  # each prefetched value is one of this many

    def __init__(self, inner: FaultSource, count: int) -> None:
        weights = (1.0,) * self.VALUES
        self._values = deque(inner.choose("prefetched", weights) for _ in range(count))

    def choose(self, label: str, weights: Sequence[float]) -> int:
        allowed = _allowed_indices(label, weights)
        if len(allowed) == 1 or not self._values:
            return allowed[0]
        return allowed[self._values.popleft() % len(allowed)]
