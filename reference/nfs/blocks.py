"""File data cut into fixed-size blocks: the arithmetic both stores and the overlay share.

Rules:
- Block `i` of a file holds bytes [i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE). A block is
  stored only once something was written into it, and may be shorter than BLOCK_SIZE:
  missing blocks and missing tails read as zeros (sparse files cost nothing).
- No block holds bytes at or beyond the file's size: truncation trims the last block and
  drops the ones after it, so growing the file again exposes zeros, never old data.
- Why 32 KiB blocks rather than one blob per file: a 4 KiB write rewrites one 32 KiB
  block instead of the whole file (SQLite cannot resize a blob in place), a 1 MiB read is
  32 rows, and files of any size cost memory only for the blocks being touched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

BLOCK_SIZE = 32 * 1024


def block_range(offset: int, length: int) -> range:
    """The indices of the blocks that bytes [offset, offset + length) touch."""
    if length <= 0:
        return range(0)
    return range(offset // BLOCK_SIZE, (offset + length - 1) // BLOCK_SIZE + 1)


def pieces(offset: int, data: bytes) -> Iterator[tuple[int, int, memoryview]]:
    """Cut a write at `offset` into (block index, offset inside the block, bytes)."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        position = offset + done
        index, inside = divmod(position, BLOCK_SIZE)
        take = min(BLOCK_SIZE - inside, len(view) - done)
        yield index, inside, view[done : done + take]
        done += take


def patch(block: bytes, inside: int, piece: memoryview | bytes) -> bytes:
    """`block` with `piece` written at `inside`; a gap after the old end becomes zeros."""
    if inside > len(block):
        block = block + bytes(inside - len(block))
    return b"".join((block[:inside], piece, block[inside + len(piece) :]))


def assemble(offset: int, count: int, blocks: Mapping[int, bytes]) -> bytes:
    """Bytes [offset, offset + count) of a file whose stored blocks are `blocks`."""
    index, start = divmod(offset, BLOCK_SIZE)
    if start + count <= BLOCK_SIZE:  # within one block: one slice, no copying around
        chunk = blocks.get(index, b"")[start : start + count]
        return chunk if len(chunk) == count else chunk + bytes(count - len(chunk))
    out = bytearray()
    for index in block_range(offset, count):
        start = max(offset - index * BLOCK_SIZE, 0)
        stop = min(offset + count - index * BLOCK_SIZE, BLOCK_SIZE)
        block = blocks.get(index, b"")
        chunk = block[start:stop]
        out += chunk
        if len(chunk) < stop - start:
            out += bytes(stop - start - len(chunk))
    return bytes(out)


def cut_point(size: int) -> tuple[int, int]:
    """Where a file truncated to `size` ends: (index of the first block to drop entirely,
    bytes to keep of the block before it, which may be partial; 0 when nothing is cut)."""
    full, rest = divmod(size, BLOCK_SIZE)
    if rest == 0:
        return full, 0
    return full + 1, rest
