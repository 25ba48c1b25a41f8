"""The lookup (dentry) cache and the directory listing cache.

Rules:
- Per directory handle: name -> child handle (positive entries only: a missing name is
  always asked again), and the last listing. Both belong to one version of the directory,
  its `signature` (size, mtime, ctime): the server changes a directory's mtime whenever
  its entries change, so a directory whose attributes are unchanged has the same entries.
- `view(handle, signature)` is how the client reads the cache, with the directory's
  attributes as the attribute cache validated them (acdirmin..acdirmax): a new signature
  drops the entries and the listing. So a cached name is never trusted longer than the
  directory's attributes are.
- Our own changes to a directory (CREATE, REMOVE, RENAME, ...) carry its wcc_data:
  `own_change` moves the cache to the post-op signature when the pre-op one is the cached
  one (only we changed it), else drops it; the caller then records the name it added or
  removed. The listing is dropped either way. The planted bug `trust_wcc` skips the
  comparison.
- No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.client.attr_cache import Signature


@dataclass(slots=True)
class DirectoryView:
    """One directory's cached names and listing, all of version `signature`."""

    signature: Signature
    entries: dict[bytes, bytes] = field(default_factory=dict)
    listing: tuple[bytes, ...] | None = None

    def reset(self, signature: Signature) -> None:
        self.signature = signature
        self.entries.clear()
        self.listing = None


class LookupCache:
    """Directory views by directory handle."""

    def __init__(self) -> None:
        self._directories: dict[bytes, DirectoryView] = {}

    def view(self, handle: bytes, signature: Signature) -> DirectoryView:
        directory = self._directories.get(handle)
        if directory is None:
            directory = self._directories[handle] = DirectoryView(signature)
        elif directory.signature != signature:
            directory.reset(signature)
        return directory

    def own_change(
        self, handle: bytes, before: Signature | None, after: Signature, trust: bool
    ) -> DirectoryView:
        """We changed the directory from `before` to `after`; the view to record in."""
        directory = self._directories.get(handle)
        if directory is None:
            directory = self._directories[handle] = DirectoryView(after)
        elif trust or before == directory.signature:
            directory.signature = after
            directory.listing = None
        else:
            directory.reset(after)
        return directory

    def forget_name(self, handle: bytes, name: bytes) -> None:
        directory = self._directories.get(handle)
        if directory is not None:
            directory.entries.pop(name, None)

    def forget(self, handle: bytes) -> None:
        self._directories.pop(handle, None)
