"""The event queue: what happens next, and when.

Rules:
- An event is an action and its argument, due at a virtual time. The queue is a heap of
  (time, sequence number, action, argument): events due at the same time run in the order
  they were scheduled, so a run never depends on anything but its inputs.
- Nothing is scheduled in the past. Running an event first advances the clock to its time.
- Every run is bounded: after `max_events` events without reaching its goal it raises
  `SimLimitExceeded` instead of spinning forever.
- Cancelled timers stay in the heap and are skipped when due (lazy deletion).
"""

from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

from faults.sim.clock import VirtualClock
from faults.sim.errors import SimLimitExceeded

Action = Callable[[Any], None]


class TimerHandle:
    """A scheduled callback; `cancel()` stops it from running."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EventQueue:
    """A deterministic priority queue of events over a virtual clock."""

    __slots__ = ("_heap", "_sequence", "clock")

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Action, Any]] = []
        self._sequence = count()

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, time: float, action: Action, argument: Any) -> None:
        """Run `action(argument)` at `time` (callers guarantee time >= now)."""
        heappush(self._heap, (time, next(self._sequence), action, argument))

    def run(
        self, until: Callable[[], bool] | None, deadline: float | None, max_events: int
    ) -> bool:
        """Run events in order until `until()` holds (True), or the queue is empty or the
        next event is after `deadline` (False; the clock then moves to the deadline)."""
        if until is not None and until():
            return True
        heap = self._heap
        clock = self.clock
        processed = 0
        while heap:
            time = heap[0][0]
            if deadline is not None and time > deadline:
                break
            if processed >= max_events:
                raise SimLimitExceeded(
                    f"ran {max_events} events up to t={clock.now!r} without reaching the goal "
                    f"({len(heap)} events still queued): a livelock, or a run that needs a "
                    "larger max_events"
                )
            _, _, action, argument = heappop(heap)
            clock.advance_to(time)
            action(argument)
            processed += 1
            if until is not None and until():
                return True
        if deadline is not None and deadline > clock.now:
            clock.advance_to(deadline)
        return False
