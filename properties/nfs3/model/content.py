"""The bytes of a regular file in the model, and which of them a crash may take back.

Rules:
- `data` is the file as every reader sees it now: writes past the end leave a hole of
  zeros; truncation cuts, extension appends zeros (sparse zeros read back as zeros).
- Durability: `stable` is the image a crash cannot take back (FILE_SYNC and DATA_SYNC
  writes, COMMIT, size changes by SETATTR or CREATE, which NFSv3 makes stable before it
  replies). `unstable` lists the UNSTABLE writes since, in order, each trimmed of the bytes a
  later stable write covered. A crash may keep any subset of them: after a crash, a byte
  is admissible if it equals the stable image (zero past its end) or the byte of a surviving
  unstable write at that position; the size is the stable size or the end of an unstable
  write past it.
- `commit()` makes the current data the stable image. After a crash the suite reads the
  file back, checks `admits()` and adopts what it read with `adopt()`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass(slots=True)
class UnstableWrite:
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass
class Content:
    data: bytearray = field(default_factory=bytearray)
    stable: bytearray = field(default_factory=bytearray)
    unstable: list[UnstableWrite] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, count: int) -> bytes:
        return bytes(self.data[offset : offset + count])

    def write(self, offset: int, data: bytes, durable: bool) -> None:
        _put(self.data, offset, data)
        if durable:
            _put(self.stable, offset, data)
            self._trim_unstable(offset, offset + len(data))
        elif data:
            self.unstable.append(UnstableWrite(offset, bytes(data)))

    def resize(self, size: int) -> None:
        """A size change: durable, like every NFSv3 metadata change."""
        _resize(self.data, size)
        _resize(self.stable, size)
        self._trim_unstable(size, sys.maxsize)

    def commit(self) -> None:
        self.stable = bytearray(self.data)
        self.unstable.clear()

    def possible_sizes(self) -> set[int]:
        stable_size = len(self.stable)
        return {stable_size} | {w.end for w in self.unstable if w.end > stable_size}

    def admits(self, observed: bytes) -> str | None:
        """Why `observed` cannot be this file after a crash, or None if it can."""
        sizes = self.possible_sizes()
        if len(observed) not in sizes:
            return f"size {len(observed)} after the crash; possible sizes {sorted(sizes)}"
        for index, byte in enumerate(observed):
            if byte != self._stable_byte(index) and not any(
                w.offset <= index < w.end and w.data[index - w.offset] == byte
                for w in self.unstable
            ):
                return (
                    f"byte {index} is {byte:#04x} after the crash; durable value "
                    f"{self._stable_byte(index):#04x} and no unacknowledged write explains it"
                )
        return None

    def adopt(self, observed: bytes) -> None:
        """What a crash left: the new current and stable data."""
        self.data = bytearray(observed)
        self.commit()

    def _stable_byte(self, index: int) -> int:
        return self.stable[index] if index < len(self.stable) else 0

    def _trim_unstable(self, start: int, end: int) -> None:
        kept: list[UnstableWrite] = []
        for write in self.unstable:
            if write.offset < start:
                kept.append(UnstableWrite(write.offset, write.data[: start - write.offset]))
            if write.end > end:
                cut = max(end, write.offset)
                kept.append(UnstableWrite(cut, write.data[cut - write.offset :]))
        self.unstable = [w for w in kept if w.data]


def _put(buffer: bytearray, offset: int, data: bytes) -> None:
    if offset > len(buffer):
        buffer.extend(bytes(offset - len(buffer)))
    buffer[offset : offset + len(data)] = data


def _resize(buffer: bytearray, size: int) -> None:
    if size < len(buffer):
        del buffer[size:]
    else:
        buffer.extend(bytes(size - len(buffer)))
