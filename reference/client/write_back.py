"""Write-behind: dirty data not yet sent, and sent data not yet committed, per file.

Rules:
- `write()` only records bytes here (dirty extents, merged so that they never overlap;
  newer bytes win). They are sent as UNSTABLE WRITEs when the file is flushed: on close
  (close-to-open), fsync, sync, or when a file's dirty bytes reach the write-behind limit.
- While a flush sends an extent it is `in_flight`; reads overlay dirty and in-flight bytes
  on what the server holds, so a client always reads its own writes.
- Every UNSTABLE WRITE the server acknowledged is kept (offset, bytes, the reply's write
  verifier) until a COMMIT answers with that same verifier. A COMMIT whose verifier
  differs from any kept write's means the server lost uncommitted data (it restarted):
  every kept write must be sent again, in the order it was first sent. A write answered
  FILE_SYNC is durable at once and is not kept.
- The planted bug `ignore_verifier` takes any COMMIT for success.
- No I/O: the client sends what this module says and reports the replies back.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Extent:
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass(frozen=True, slots=True)
class SentWrite:
    """An UNSTABLE write the server acknowledged with `verifier`."""

    offset: int
    data: bytes
    verifier: bytes


class DirtyExtents:
    """Non-overlapping byte ranges waiting to be sent, in offset order."""

    def __init__(self) -> None:
        self._extents: list[Extent] = []

    def __bool__(self) -> bool:
        return bool(self._extents)

    @property
    def extents(self) -> list[Extent]:
        return list(self._extents)

    @property
    def total(self) -> int:
        return sum(len(extent.data) for extent in self._extents)

    def add(self, offset: int, data: bytes) -> None:
        """Record `data` at `offset`, merging with the extents it overlaps or touches."""
        if not data:
            return
        end = offset + len(data)
        starts = [extent.offset for extent in self._extents]
        first = bisect.bisect_left(starts, offset)
        if first > 0 and self._extents[first - 1].end >= offset:
            first -= 1
        last = first
        while last < len(self._extents) and self._extents[last].offset <= end:
            last += 1
        merged = self._extents[first:last]
        start = min([offset, *(extent.offset for extent in merged)])
        stop = max([end, *(extent.end for extent in merged)])
        buffer = bytearray(stop - start)
        for extent in merged:
            buffer[extent.offset - start : extent.end - start] = extent.data
        buffer[offset - start : end - start] = data
        self._extents[first:last] = [Extent(start, bytes(buffer))]

    def take(self) -> list[Extent]:
        """Every extent, removing them."""
        extents, self._extents = self._extents, []
        return extents


def overlay(base: bytes, offset: int, extents: list[Extent]) -> bytes:
    """`base` (bytes from `offset`) with the extents written over it, in order."""
    result = bytearray(base)
    end = offset + len(base)
    for extent in extents:
        start, stop = max(offset, extent.offset), min(end, extent.end)
        if start < stop:
            result[start - offset : stop - offset] = extent.data[
                start - extent.offset : stop - extent.offset
            ]
    return bytes(result)


@dataclass
class WriteBack:
    """One file's write-behind state."""

    dirty: DirtyExtents = field(default_factory=DirtyExtents)
    in_flight: list[Extent] = field(default_factory=list)
    uncommitted: list[SentWrite] = field(default_factory=list)

    @property
    def pending(self) -> list[Extent]:
        """What the server may not have yet, in the order to overlay it."""
        return [*self.in_flight, *self.dirty.extents]

    @property
    def end(self) -> int:
        """The end of the furthest byte not yet sent (0 if none)."""
        return max((extent.end for extent in self.pending), default=0)

    @property
    def idle(self) -> bool:
        return not self.dirty and not self.in_flight and not self.uncommitted

    def acknowledged(self, offset: int, data: bytes, verifier: bytes, stable: bool) -> None:
        """The server answered a WRITE of `data` at `offset`."""
        if not stable:
            self.uncommitted.append(SentWrite(offset, data, verifier))

    def committed(self, verifier: bytes, ignore_verifier: bool) -> list[SentWrite]:
        """A COMMIT answered with `verifier`. If every kept write was acknowledged with that
        verifier they are all durable and forgotten; otherwise they are all returned, to
        be sent again (each stays kept until `resent` reports its new reply)."""
        if ignore_verifier or all(write.verifier == verifier for write in self.uncommitted):
            self.uncommitted = []
            return []
        return list(self.uncommitted)

    def resent(self, write: SentWrite, verifier: bytes, stable: bool) -> None:
        """The server answered the resend of `write`."""
        self.uncommitted.remove(write)
        self.acknowledged(write.offset, write.data, verifier, stable)
