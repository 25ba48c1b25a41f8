"""The attribute cache: per file handle, the last attributes seen and how long to trust them.

Rules (the Linux client's, nfs(5)):
- Attributes are stamped with the time their RPC was *started* (`fetched_at`): the server
  produced them at or after that instant, so trusting them until fetched_at + timeout
  never trusts them longer than `timeout` past a moment they were true.
- An entry is valid while `now < fetched_at + timeout`. A new entry starts at the min
  (acregmin, or acdirmin for a directory). A revalidation that finds the attributes
  unchanged, after the timeout ran out, doubles the timeout up to the max; attributes that
  changed drop it back to the min. `noac` (min = max = 0) makes nothing valid.
- Attributes from our own change (wcc pre-op attributes equal to the cached ones) are
  stored without resetting the timeout: the file did not change behind our back.
- Attributes older than the cached ones (an earlier `fetched_at`) never replace them.
- The planted bug `never_revalidate` makes every entry valid forever.
- No I/O, no clock reading: every method takes the time it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.client.options import MountOptions
from reference.xdr.gen.nfs3 import fattr3, ftype3, wcc_attr


@dataclass(frozen=True, slots=True)
class Signature:
    """The attributes that say the contents changed: size, mtime and ctime in nanoseconds."""

    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, attributes: fattr3 | wcc_attr) -> Signature:
        mtime, ctime = attributes.mtime, attributes.ctime
        return cls(
            attributes.size,
            mtime.seconds * 1_000_000_000 + mtime.nseconds,
            ctime.seconds * 1_000_000_000 + ctime.nseconds,
        )


@dataclass(slots=True)
class CachedAttributes:
    attributes: fattr3
    fetched_at: float
    timeout: float

    @property
    def signature(self) -> Signature:
        return Signature.of(self.attributes)


def _same_apart_from_atime(old: fattr3, new: fattr3) -> bool:
    return old == new or old == new._replace(atime=old.atime)


class AttributeCache:
    """Attributes by file handle, with Linux's adaptive timeouts."""

    def __init__(self, options: MountOptions) -> None:
        self._options = options
        self._entries: dict[bytes, CachedAttributes] = {}

    def get(self, handle: bytes) -> CachedAttributes | None:
        """The cached entry, valid or not."""
        return self._entries.get(handle)

    def valid(self, handle: bytes, now: float) -> fattr3 | None:
        """The cached attributes if they may still be trusted at `now`."""
        entry = self._entries.get(handle)
        if entry is None:
            return None
        if self._options.bugs.never_revalidate or now < entry.fetched_at + entry.timeout:
            return entry.attributes
        return None

    def store(
        self, handle: bytes, attributes: fattr3, fetched_at: float, own: bool = False
    ) -> fattr3:
        """Record attributes fetched by an RPC started at `fetched_at`; returns what the
        cache holds afterwards (older attributes than the cached ones are not taken)."""
        low, high = self._options.attribute_bounds(attributes.type == ftype3.NF3DIR)
        entry = self._entries.get(handle)
        if entry is None:
            self._entries[handle] = CachedAttributes(attributes, fetched_at, low)
            return attributes
        if fetched_at < entry.fetched_at:
            return entry.attributes
        if own:
            timeout = entry.timeout
        elif not _same_apart_from_atime(entry.attributes, attributes):
            timeout = low
        elif fetched_at >= entry.fetched_at + entry.timeout:
            timeout = min(max(entry.timeout * 2, low), high)
        else:
            timeout = entry.timeout
        self._entries[handle] = CachedAttributes(attributes, fetched_at, timeout)
        return attributes

    def forget(self, handle: bytes) -> None:
        self._entries.pop(handle, None)
