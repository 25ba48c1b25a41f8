"""The volatile overlay: UNSTABLE writes a store has acknowledged but not yet committed.

Rules:
- This is the part of a store a crash loses (`Store.crash()` clears it; a killed server
  process loses it with its memory). Everything else in a store is durable.
- Per inode it keeps the whole content of every block an UNSTABLE write touched (the
  durable block patched with the new bytes) and the inode's attributes after the newest
  such write (size, mtime, ctime), so reads and GETATTR see the data at once.
- The overlay always lies on top of the newest durable state: before any durable change
  to an inode (a FILE_SYNC write, COMMIT, SETATTR, LINK, ...) the store folds the
  inode's overlay into the durable part; freeing the inode drops it.
- `total_bytes` is what the overlay holds; a store folds files into the durable part when
  it exceeds the store's limit (committing early is always allowed), so memory stays
  bounded however long a client waits before COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reference.nfs.blocks import BLOCK_SIZE, patch, pieces
from reference.nfs.inode import Inode


@dataclass(slots=True)
class PendingFile:
    """One file's uncommitted writes."""

    inode: Inode
    blocks: dict[int, bytes] = field(default_factory=dict)


class PendingWrites:
    """Uncommitted block overlays, by inode number."""

    def __init__(self) -> None:
        self._files: dict[int, PendingFile] = {}
        self.total_bytes = 0

    def get(self, ino: int) -> PendingFile | None:
        return self._files.get(ino)

    def write(
        self, inode: Inode, offset: int, data: bytes, load_block: Callable[[int], bytes]
    ) -> None:
        """Overlay `data` at `offset`; `inode` is the file's record after the write;
        `load_block(i)` reads durable block i (b"" when it has none)."""
        pending = self._files.get(inode.ino)
        if pending is None:
            pending = self._files[inode.ino] = PendingFile(inode)
        pending.inode = inode
        for index, inside, piece in pieces(offset, data):
            old = pending.blocks.get(index)
            if old is None:
                covers_block = inside == 0 and len(piece) == BLOCK_SIZE
                old = b"" if covers_block else load_block(index)
            else:
                self.total_bytes -= len(old)
            new = patch(old, inside, piece)
            pending.blocks[index] = new
            self.total_bytes += len(new)

    def pop(self, ino: int) -> PendingFile | None:
        """Remove and return an inode's overlay (to fold it, or because it was freed)."""
        pending = self._files.pop(ino, None)
        if pending is not None:
            self.total_bytes -= sum(len(block) for block in pending.blocks.values())
        return pending

    def inodes(self) -> list[int]:
        return list(self._files)

    def clear(self) -> None:
        self._files.clear()
        self.total_bytes = 0
