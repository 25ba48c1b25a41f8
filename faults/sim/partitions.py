"""Network partitions of the simulated world: pairs of nodes that cannot reach each other.

Rules:
- `cut(a, b)` separates two nodes in both directions until `heal(a, b)`. Cutting a cut
  pair or healing a whole one changes nothing.
- Datagrams are lost at a cut: one sent across it, or arriving across it (a partition that
  began while it travelled), never arrives. The network layer traces the loss.
- Streams are TCP-like: what travels across a cut is held, not lost, as TCP keeps
  retransmitting it. An arrival (open, data, close, reset) that finds its two nodes cut
  is held here; `heal()` hands back every held arrival of the pair, in the order they
  were held, to run at once, before anything that arrives later. So a stream's bytes
  still arrive in order and intact.
- No clock and no I/O: the world decides when to cut and heal and runs what heal returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeldArrival:
    """A stream event that reached a cut: `run()` delivers it."""

    pair: frozenset[str]
    run: Callable[[], None]


class Partitions:
    """The cut pairs of one world and the stream arrivals held at them."""

    __slots__ = ("_cut", "_held")

    def __init__(self) -> None:
        self._cut: set[frozenset[str]] = set()
        self._held: list[HeldArrival] = []

    def cut(self, a: str, b: str) -> None:
        if a == b:
            raise ValueError(f"a node cannot be cut off from itself ({a!r})")
        self._cut.add(frozenset((a, b)))

    def heal(self, a: str, b: str) -> list[Callable[[], None]]:
        """End the partition of `a` and `b`; the arrivals held at it, to run now in order."""
        pair = frozenset((a, b))
        self._cut.discard(pair)
        released = [held.run for held in self._held if held.pair == pair]
        self._held = [held for held in self._held if held.pair != pair]
        return released

    def separated(self, a: str, b: str) -> bool:
        return bool(self._cut) and frozenset((a, b)) in self._cut

    def hold(self, a: str, b: str, run: Callable[[], None]) -> None:
        """Keep a stream arrival between `a` and `b` until their partition heals."""
        self._held.append(HeldArrival(frozenset((a, b)), run))
