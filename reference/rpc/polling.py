"""An event loop that polls briefly before it sleeps, so a server answers a client that
calls again at once without paying for being woken.

Rules:
- Only the waiting changes: `PollingSelector.select` returns what epoll would, no sooner
  than epoll and never later than the timeout it was given. What runs, and in what
  order, is the plain asyncio SelectorEventLoop's.
- A wait first polls (epoll with timeout 0) for at most `window` seconds, then sleeps in
  epoll for what is left of the timeout. Waking a sleeping thread costs tens of
  microseconds on this kind of machine (a virtual CPU going idle and being woken), as
  much as the whole of a small NFS call; a poll that finds the next call skips it.
- Adaptive, so a server whose clients are slow does not burn a core: it polls only
  after STREAK waits in a row ended within the window (a client calling again and again
  at once, or several clients), and a poll that found nothing in its window makes it
  sleep again until the next such streak. An idle server sleeps; a client that calls
  now and then, as a test does between its steps, seldom makes it poll at all.
- A zero window is plain epoll. This is the I/O layer: it reads the monotonic clock
  (time.perf_counter) to bound its polling; the engines never see it.
- Light to import (asyncio only when a loop is made): the command line reads the limits.
"""

from __future__ import annotations

import selectors
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

DEFAULT_POLL_US = 200
STREAK = 16
MAX_POLL_US = 10_000


@dataclass(frozen=True, slots=True)
class Polling:
    """How long a wait polls before it sleeps, in microseconds (0: never polls)."""

    window_us: int = DEFAULT_POLL_US

    def __post_init__(self) -> None:
        if not 0 <= self.window_us <= MAX_POLL_US:
            raise ValueError(
                f"a polling window is 0 to {MAX_POLL_US} microseconds, not {self.window_us}"
            )

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        import asyncio

        return asyncio.SelectorEventLoop(PollingSelector(self.window_us * 1e-6))


class PollingSelector(selectors.EpollSelector):
    def __init__(self, window: float) -> None:
        super().__init__()
        self.window = window
        self.polling = False
        self._quick_waits = 0  # waits in a row that ended within the window

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(0)
        if not self.polling:
            start = time.perf_counter()
            ready = super().select(timeout)
            if self.window > 0 and time.perf_counter() - start < self.window:
                self._quick_waits += 1
                self.polling = self._quick_waits >= STREAK
            else:
                self._quick_waits = 0
            return ready
        poll = super().select
        deadline = time.perf_counter() + (
            self.window if timeout is None else min(self.window, timeout)
        )
        while True:
            ready = poll(0)
            if ready:
                return ready
            if time.perf_counter() >= deadline:
                break
        self.polling = False
        self._quick_waits = 0
        left = None if timeout is None else max(0.0, timeout - self.window)
        return poll(left)
