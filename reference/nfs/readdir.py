"""READDIR and READDIRPLUS: directory entries and the reply budgets that bound a page.

Rules:
- A page holds '.' (cookie 1), '..' (cookie 2), then the directory's entries in cookie
  order (cookies from 3; see reference.nfs.inode). An entry's cookie is fixed when the
  entry is made and never reused in that directory, so a listing resumed after any
  cookie this directory handed out stays correct whatever changed in between: entries
  removed since are not returned, entries added since are (their cookies are higher).
- Cookies grow by one per entry ever added to a directory, so they fit NFSv2's 32-bit
  cookies unless one directory sees more than four billion additions.
- The FileSystem adds entries to a page while its Budget `take`s them; a Budget charges
  each entry its encoded size against the client's count. A page that would hold no
  entry although some remain is NFS3ERR_TOOSMALL.
- Sizes are those of the XDR encoding (RFC 1813): READDIR3resok costs READDIR_FIXED
  bytes (post_op_attr, cookieverf, end of list, eof) plus, per entry3, 24 bytes and the
  padded name. READDIRPLUS also charges, per entryplus3, the post_op_attr (88 bytes) and
  post_op_fh3 (8 bytes and the padded handle) against maxcount, while dircount is
  charged the fileid, name and cookie only (20 bytes and the padded name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from reference.nfs.attributes import Attributes
from reference.nfs.handles import HANDLE_SIZE

POST_OP_ATTR_SIZE = 4 + 84
READDIR_FIXED = POST_OP_ATTR_SIZE + 8 + 4 + 4
ENTRY3_FIXED = 4 + 8 + 4 + 8
DIRCOUNT_ENTRY_FIXED = 8 + 4 + 8


def padded(length: int) -> int:
    return (length + 3) & ~3


@dataclass(frozen=True, slots=True)
class DirEntry:
    """One entry of a page. READDIRPLUS pages also carry the entry's handle and
    attributes; READDIR pages leave them None."""

    cookie: int
    name: bytes
    fileid: int
    handle: bytes | None = None
    attributes: Attributes | None = None


class Budget(Protocol):
    def take(self, entry: DirEntry) -> bool:
        """Charge `entry` if it still fits (True) or refuse it (False)."""
        ...


class ByteBudget:
    """`limit` bytes, each entry costing `cost(entry)`."""

    def __init__(self, limit: int, cost: Callable[[DirEntry], int]) -> None:
        self.remaining = limit
        self._cost = cost

    def take(self, entry: DirEntry) -> bool:
        cost = self._cost(entry)
        if cost > self.remaining:
            return False
        self.remaining -= cost
        return True


class EveryBudget:
    """Takes an entry only if every budget takes it (the page ends at the first refusal,
    so a charge made by the budgets that accepted it does not matter)."""

    def __init__(self, *budgets: Budget) -> None:
        self._budgets = budgets

    def take(self, entry: DirEntry) -> bool:
        return all(budget.take(entry) for budget in self._budgets)


def readdir3_budget(count: int) -> Budget:
    """The budget of a READDIR3 call with `count`."""
    return ByteBudget(count - READDIR_FIXED, lambda e: ENTRY3_FIXED + padded(len(e.name)))


def readdirplus3_budget(dircount: int, maxcount: int, handle_size: int = HANDLE_SIZE) -> Budget:
    """The budget of a READDIRPLUS3 call with `dircount` and `maxcount`."""
    per_entry = ENTRY3_FIXED + POST_OP_ATTR_SIZE + 8 + padded(handle_size)
    return EveryBudget(
        ByteBudget(dircount, lambda e: DIRCOUNT_ENTRY_FIXED + padded(len(e.name))),
        ByteBudget(maxcount - READDIR_FIXED, lambda e: per_entry + padded(len(e.name))),
    )
