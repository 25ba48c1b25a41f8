"""Fault rates and the per-message decisions drawn from them.

Rules:
- `FaultRates` holds probabilities; `MessageFaults` turns them into `choose()` calls on a
  fault source, one decision at a time, always with the same labels and weights so a
  recording replays exactly.
- A datagram gets one "datagram" decision: index 0 deliver, 1 drop, 2 duplicate,
  3 delay, 4 reorder. Duplicate, delay and reorder then draw a "delay" bucket.
- Delays are discrete buckets, multiples of max_delay / DELAY_BUCKETS (bucket 0 is the
  shortest), so they replay exactly. A reorder is a delay of max_delay plus a bucket: longer
  than any plain delay, so the message passes the ones sent after it.
- A duplicate is two copies: the first on time, the second after a delay bucket.
- A stream write is cut into segments by repeated "segment" decisions: index 0 keeps the
  rest of the write whole, index i > 0 cuts a segment of SEGMENT_SIZES[i - 1] bytes. A
  segment may then be held back by a "segment delay" decision plus a "delay" bucket; the
  stream keeps segments in order whatever their delays.
- Rates that are all zero draw nothing: a fault-free world consumes no decisions.
"""

from dataclasses import dataclass

from faults.sim.faults import FaultSource

DELAY_BUCKETS = 8
SEGMENT_SIZES = (1, 2, 3, 4, 5, 7, 64, 1448)


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probabilities of each fault; drop + duplicate + delay + reorder must not exceed 1."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    max_delay: float = 0.01
    segment: float = 0.0
    stream_delay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay", "reorder", "segment", "stream_delay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultRates.{name} must be a probability in [0, 1], got {value}")
        if self.message_fault_total > 1.0:
            raise ValueError(
                "FaultRates: drop + duplicate + delay + reorder must not exceed 1, got "
                f"{self.message_fault_total}"
            )
        if self.max_delay < 0:
            raise ValueError(f"FaultRates.max_delay must be >= 0 seconds, got {self.max_delay}")

    @property
    def message_fault_total(self) -> float:
        return self.drop + self.duplicate + self.delay + self.reorder


@dataclass(frozen=True, slots=True)
class Deliver:
    """Deliver once, `delay` seconds later than the link latency."""

    delay: float
    reorder: bool = False


@dataclass(frozen=True, slots=True)
class Drop:
    """Never deliver."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Deliver one copy per delay (each on top of the link latency)."""

    delays: tuple[float, ...]


Decision = Deliver | Drop | Duplicate

DELIVER_NOW = Deliver(0.0)
DROP = Drop()

_UNIFORM_BUCKETS = (1.0,) * DELAY_BUCKETS
_DATAGRAM_DELIVER, _DATAGRAM_DROP, _DATAGRAM_DUPLICATE, _DATAGRAM_DELAY = 0, 1, 2, 3


class MessageFaults:
    """Draws per-message and per-segment decisions from a fault source."""

    __slots__ = (
        "_datagram_weights",
        "_delays",
        "_faults",
        "_max_delay",
        "_segment_delay_weights",
        "_segment_weights",
    )

    def __init__(self, faults: FaultSource, rates: FaultRates) -> None:
        self._faults = faults
        self._max_delay = rates.max_delay
        self._delays = tuple(
            rates.max_delay * (bucket + 1) / DELAY_BUCKETS for bucket in range(DELAY_BUCKETS)
        )
        self._datagram_weights: tuple[float, ...] | None = None
        if rates.message_fault_total > 0:
            self._datagram_weights = (
                1.0 - rates.message_fault_total,
                rates.drop,
                rates.duplicate,
                rates.delay,
                rates.reorder,
            )
        self._segment_weights: tuple[float, ...] | None = None
        if rates.segment > 0:
            share = rates.segment / len(SEGMENT_SIZES)
            self._segment_weights = (1.0 - rates.segment, *([share] * len(SEGMENT_SIZES)))
        self._segment_delay_weights: tuple[float, float] | None = None
        if rates.stream_delay > 0:
            self._segment_delay_weights = (1.0 - rates.stream_delay, rates.stream_delay)

    def decide(self) -> Decision:
        """What happens to one datagram."""
        weights = self._datagram_weights
        if weights is None:
            return DELIVER_NOW
        kind = self._faults.choose("datagram", weights)
        if kind == _DATAGRAM_DELIVER:
            return DELIVER_NOW
        if kind == _DATAGRAM_DROP:
            return DROP
        delay = self._delays[self._faults.choose("delay", _UNIFORM_BUCKETS)]
        if kind == _DATAGRAM_DUPLICATE:
            return Duplicate((0.0, delay))
        if kind == _DATAGRAM_DELAY:
            return Deliver(delay)
        return Deliver(self._max_delay + delay, reorder=True)

    def segment_sizes(self, length: int) -> list[int]:
        """Sizes (summing to `length`) of the segments one stream write is cut into."""
        weights = self._segment_weights
        if weights is None or length <= 1:
            return [length] if length else []
        sizes: list[int] = []
        remaining = length
        while remaining > 0:
            choice = self._faults.choose("segment", weights)
            size = remaining if choice == 0 else min(SEGMENT_SIZES[choice - 1], remaining)
            sizes.append(size)
            remaining -= size
        return sizes

    def segment_delay(self) -> float:
        """Extra delay of one stream segment (0.0 when not held back)."""
        weights = self._segment_delay_weights
        if weights is None or self._faults.choose("segment delay", weights) == 0:
            return 0.0
        return self._delays[self._faults.choose("delay", _UNIFORM_BUCKETS)]
