"""The virtual clock of the simulated world.

Rules:
- Time is a float number of seconds; it starts at 0.0.
- Only the world's event queue advances it, and only forwards: reading it is free for
  everyone, setting it is `advance_to`, which refuses to go back in time.
- Nothing here reads the wall clock.
"""


class VirtualClock:
    """Seconds of simulated time since the world was created."""

    __slots__ = ("_now",)

    def __init__(self) -> None:
        self._now = 0.0

    @property
    def now(self) -> float:
        return self._now

    def advance_to(self, time: float) -> None:
        """Move the clock to `time`; called by the event queue only."""
        if time < self._now:
            raise ValueError(f"virtual time cannot go back: now={self._now!r}, asked {time!r}")
        self._now = time
