"""Record marking for RPC over TCP (RFC 5531 section 11), sans-I/O.

Rules:
- A record is sent as one or more fragments. Each fragment is a 4-byte big-endian header
  followed by its bytes; the header's top bit marks the record's last fragment and its low
  31 bits give the fragment's length. Empty fragments are legal; an empty record is one
  empty last fragment.
- `frame` and `frame_fragments` turn a record into bytes for the wire. `RecordReader`
  turns a byte stream, cut into any segments at all, back into records.
- The reader holds at most `max_record` bytes of one record. It checks each fragment
  header before receiving the fragment, and raises RecordTooLarge as soon as the record's
  bytes so far plus the announced fragment would exceed the limit. From then on the
  stream is unusable: every later `feed` raises again, and the transport must close the
  connection. Records completed earlier in the failing `feed` are discarded with it.
- The reader copies each byte at most twice (once when a record spans several feeds),
  and a record that arrives whole in one feed is copied once, into the bytes returned.
- No I/O, no clock: bytes in, records out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from reference.rpc.errors import RecordTooLarge

LAST_FRAGMENT = 0x8000_0000
MAX_FRAGMENT = 0x7FFF_FFFF
HEADER_SIZE = 4

_HEADER = struct.Struct(">I")


def _header(length: int, last: bool) -> bytes:
    return _HEADER.pack(LAST_FRAGMENT | length if last else length)


def frame(record: bytes, fragment_size: int | None = None) -> bytes:
    """`record` as fragments of at most `fragment_size` bytes (one fragment if None)."""
    size = len(record)
    limit = MAX_FRAGMENT if fragment_size is None else fragment_size
    if not 1 <= limit <= MAX_FRAGMENT:
        raise ValueError(f"fragment_size must be in 1..{MAX_FRAGMENT}, not {fragment_size}")
    if size <= limit:
        return _header(size, last=True) + record
    view = memoryview(record)
    parts: list[bytes | memoryview] = []
    for start in range(0, size, limit):
        stop = min(start + limit, size)
        parts.append(_header(stop - start, last=stop == size))
        parts.append(view[start:stop])
    return b"".join(parts)


def frame_fragments(record: bytes, sizes: Sequence[int]) -> bytes:
    """`record` cut into fragments of exactly `sizes` bytes, in order (zeros allowed), for
    tests and fault injection. The sizes must add up to the record's length."""
    if not sizes:
        raise ValueError("a record needs at least one fragment; use [0] for an empty record")
    if sum(sizes) != len(record):
        raise ValueError(f"fragment sizes add up to {sum(sizes)}, the record has {len(record)}")
    if any(not 0 <= size <= MAX_FRAGMENT for size in sizes):
        raise ValueError(f"every fragment size must be in 0..{MAX_FRAGMENT}")
    view = memoryview(record)
    parts: list[bytes | memoryview] = []
    start = 0
    for index, size in enumerate(sizes):
        parts.append(_header(size, last=index == len(sizes) - 1))
        parts.append(view[start : start + size])
        start += size
    return b"".join(parts)


class RecordReader:
    """Reassembles records from a TCP byte stream delivered in arbitrary pieces."""

    def __init__(self, max_record: int = 1 << 20) -> None:
        if max_record < 0:
            raise ValueError(f"max_record must not be negative, not {max_record}")
        self.max_record = max_record
        self._header = bytearray()  # a fragment header cut short by the end of a feed
        self._earlier = bytearray()  # bytes of the current record from earlier feeds
        self._record_size = 0  # bytes of the current record, counting the whole fragment
        self._remaining = 0  # bytes of the current fragment still to come
        self._last = False  # the current fragment ends its record
        self._started = False  # a header of the current record has been read
        self._oversize: int | None = None  # the size that broke the limit, once it did

    @property
    def in_record(self) -> bool:
        """True while part of a record (or of a fragment header) is buffered, so that a
        connection closing now would cut a record short."""
        return self._started or bool(self._header)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Consume `data`; return every record it completes, in order. The reader keeps
        no reference to `data`, so a caller may reuse its buffer (as asyncio's
        BufferedProtocol does)."""
        if self._oversize is not None:
            raise RecordTooLarge(self._oversize, self.max_record)
        if not self._started and not self._header and len(data) >= HEADER_SIZE:
            # What a client calling one call at a time sends: one whole one-fragment record.
            (word,) = _HEADER.unpack_from(data)
            length = word & MAX_FRAGMENT
            whole = word & LAST_FRAGMENT and len(data) == HEADER_SIZE + length
            if whole and length <= self.max_record:
                return [bytes(data[HEADER_SIZE:])]
        view = memoryview(data)
        end = len(view)
        pos = 0
        records: list[bytes] = []
        parts: list[memoryview] = []  # pieces of the current record within this feed
        while pos < end:
            if self._remaining == 0:
                pos = self._read_header(view, pos)
                if self._header:
                    break
                if self._remaining:
                    continue
            else:
                take = min(self._remaining, end - pos)
                parts.append(view[pos : pos + take])
                pos += take
                self._remaining -= take
            if self._remaining == 0 and self._last:
                records.append(self._complete(parts))
                parts = []
        for part in parts:
            self._earlier += part
        return records

    def _read_header(self, view: memoryview, pos: int) -> int:
        """Parse a fragment header at `pos` (or buffer what there is of it); return the new
        position. Leaves `_header` non-empty if the header is still incomplete."""
        if not self._header and len(view) - pos >= HEADER_SIZE:
            (word,) = _HEADER.unpack_from(view, pos)
            pos += HEADER_SIZE
        else:
            take = min(HEADER_SIZE - len(self._header), len(view) - pos)
            self._header += view[pos : pos + take]
            pos += take
            if len(self._header) < HEADER_SIZE:
                return pos
            (word,) = _HEADER.unpack(self._header)
            self._header.clear()
        length = word & MAX_FRAGMENT
        size = self._record_size + length
        if size > self.max_record:
            self._oversize = size
            raise RecordTooLarge(size, self.max_record)
        self._record_size = size
        self._remaining = length
        self._last = bool(word & LAST_FRAGMENT)
        self._started = True
        return pos

    def _complete(self, parts: list[memoryview]) -> bytes:
        """The finished record: earlier feeds' bytes followed by this feed's `parts`."""
        self._record_size = 0
        self._started = False
        if not self._earlier:
            return parts[0].tobytes() if len(parts) == 1 else b"".join(parts)
        record = b"".join([self._earlier, *parts])
        self._earlier.clear()
        return record
