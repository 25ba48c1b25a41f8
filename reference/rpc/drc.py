"""The duplicate request cache (DRC) of an RPC server, sans-I/O, on an injected clock.

Rules:
- A call is identified by a DrcKey: xid, program, version, procedure, client address
  (host and port), transport, argument length and a checksum of the first 256 argument
  bytes, as Linux knfsd does. A retransmission matches its original only if every field
  matches: the same xid with other arguments is a new call.
- Only the procedures the CachePolicy names are cached; the server asks `caches()` first
  and consults the cache only when it says yes. This layer knows no program's procedures:
  the default policy, CACHE_ALL_BUT_NULL, caches every procedure but NULL, so any
  program's calls are at-most-once (idempotent ones are cached too, needlessly). A
  program's own policy comes from whoever builds the cache: an NFS server's is
  reference.nfs.drc_policy.NFS_DRC_POLICY.
- `begin()` answers Miss (a new in-progress entry now exists: execute the call, then
  `finish()` it with the reply bytes, or `abandon()` it if there is no reply), InProgress
  (a duplicate of a call still executing: drop it, never run it twice), Replay (a
  duplicate of a finished call: resend its cached reply) or Refused (see below).
- Size: at most `max_entries` entries. A new entry evicts the oldest finished entry
  (oldest by finish time). In-progress entries are never evicted: when every entry is in
  progress, `begin()` returns Refused, and the server drops the call unexecuted, as if it
  had been lost; the client retransmits later. Dropping keeps at-most-once intact, which
  executing an uncached call would not.
- Age: a finished entry lives `max_age` seconds after its finish. Expired entries are
  removed lazily, on `begin()` and `finish()`, and a lookup never replays an expired
  reply even if the clock stepped backwards. In-progress entries do not expire: the
  caller ends each one with `finish()` or `abandon()`.
- `finish()` and `abandon()` of a key that is not in progress (already finished,
  abandoned, or lost to `clear()`) change nothing; the first reply cached stays.
- The cache is volatile: `clear()` is what a server crash does to it.
- Planted bugs (DrcBugs) are off by default and only tests turn them on (for the checks
  that must find them): with `ignore_client_address`, every key is taken with one
  client address for all (ANY_CLIENT), so two clients' calls with one XID and the same
  arguments are one call to the cache.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from reference.rpc.stubs import Address

CHECKSUM_BYTES = 256
NULL_PROCEDURE = 0
ANY_CLIENT: Address = ("", 0)  # the one address of DrcBugs(ignore_client_address)


def args_checksum(args: bytes) -> int:
    """CRC-32 of the first 256 bytes of a call's encoded arguments."""
    return zlib.crc32(memoryview(args)[:CHECKSUM_BYTES])


class DrcKey(NamedTuple):
    """What makes two calls the same call (a tuple: hashed in C, on every lookup)."""

    xid: int
    program: int
    version: int
    procedure: int
    client: Address
    transport: str
    arg_length: int
    checksum: int

    @classmethod
    def for_call(
        cls,
        xid: int,
        program: int,
        version: int,
        procedure: int,
        client: Address,
        transport: str,
        args: bytes,
    ) -> DrcKey:
        """The key of a call whose encoded arguments are `args`."""
        return cls(
            xid, program, version, procedure, client, transport, len(args), args_checksum(args)
        )


@dataclass(frozen=True)
class CachePolicy:
    """Which procedures are cached: `cached` lists them per (program, version); for pairs it
    does not list, `default_for_unknown` True caches every procedure except NULL (0)."""

    cached: Mapping[tuple[int, int], frozenset[int]]
    default_for_unknown: bool

    def caches(self, program: int, version: int, procedure: int) -> bool:
        procedures = self.cached.get((program, version))
        if procedures is not None:
            return procedure in procedures
        return self.default_for_unknown and procedure != NULL_PROCEDURE


CACHE_ALL_BUT_NULL = CachePolicy(cached=MappingProxyType({}), default_for_unknown=True)


@dataclass(frozen=True, slots=True)
class DrcBugs:
    """Switchable planted bugs of the cache (see the module rules)."""

    # keys leave the client's address out: another client's call with an XID and arguments
    # a call of this client had is answered this client's reply (CLIENTS-OWN-REPLY)
    ignore_client_address: bool = False


NO_DRC_BUGS = DrcBugs()  # what every cache runs with


@dataclass(frozen=True, slots=True)
class Miss:
    """A new call: execute it, then `finish()` (or `abandon()`) its key."""


@dataclass(frozen=True, slots=True)
class InProgress:
    """A duplicate of a call still executing: drop it."""


@dataclass(frozen=True, slots=True)
class Replay:
    """A duplicate of a finished call: send `reply` again."""

    reply: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """The cache is full of calls in progress: drop this call unexecuted."""


Lookup = Miss | InProgress | Replay | Refused


@dataclass(slots=True)
class DrcStats:
    """Counters since the cache was created (`clear()` keeps them)."""

    hits: int = 0  # Replay answers
    misses: int = 0  # Miss answers
    in_progress_drops: int = 0  # InProgress answers
    refusals: int = 0  # Refused answers
    evictions: int = 0  # finished entries pushed out by the size bound
    expirations: int = 0  # finished entries removed for age


@dataclass(frozen=True, slots=True)
class _Finished:
    reply: bytes
    finished_at: float


class DuplicateRequestCache:
    """Bounded, aging duplicate request cache; see the module rules."""

    def __init__(
        self,
        max_entries: int = 1024,
        max_age: float = 120.0,
        policy: CachePolicy = CACHE_ALL_BUT_NULL,
        bugs: DrcBugs = NO_DRC_BUGS,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if max_age <= 0:
            raise ValueError(f"max_age must be positive, not {max_age}")
        self.max_entries = max_entries
        self.max_age = max_age
        self.policy = policy
        self.bugs = bugs
        self.stats = DrcStats()
        self._in_progress: set[DrcKey] = set()
        self._finished: OrderedDict[DrcKey, _Finished] = OrderedDict()  # oldest finish first

    def __len__(self) -> int:
        return len(self._in_progress) + len(self._finished)

    def caches(self, program: int, version: int, procedure: int) -> bool:
        """Whether calls to this procedure go through the cache."""
        return self.policy.caches(program, version, procedure)

    def begin(self, key: DrcKey, now: float) -> Lookup:
        """Look a call up; on Miss, record it as in progress."""
        key = self._keyed(key)
        self._expire(now)
        if key in self._in_progress:
            self.stats.in_progress_drops += 1
            return InProgress()
        finished = self._finished.get(key)
        if finished is not None:
            if not self._is_expired(finished, now):
                self.stats.hits += 1
                return Replay(finished.reply)
            del self._finished[key]
            self.stats.expirations += 1
        if len(self) >= self.max_entries:
            if not self._finished:
                self.stats.refusals += 1
                return Refused()
            self._finished.popitem(last=False)
            self.stats.evictions += 1
        self._in_progress.add(key)
        self.stats.misses += 1
        return Miss()

    def finish(self, key: DrcKey, reply: bytes, now: float) -> None:
        """Cache the reply of an in-progress call."""
        key = self._keyed(key)
        self._expire(now)
        if key not in self._in_progress:
            return
        self._in_progress.remove(key)
        self._finished[key] = _Finished(reply, now)

    def abandon(self, key: DrcKey) -> None:
        """Forget an in-progress call that produced no reply."""
        self._in_progress.discard(self._keyed(key))

    def clear(self) -> None:
        """Lose every entry, as a crash would."""
        self._in_progress.clear()
        self._finished.clear()

    def _keyed(self, key: DrcKey) -> DrcKey:
        """The key the cache files `key` under: itself, unless a planted bug says otherwise."""
        return key._replace(client=ANY_CLIENT) if self.bugs.ignore_client_address else key

    def _is_expired(self, finished: _Finished, now: float) -> bool:
        return now - finished.finished_at > self.max_age

    def _expire(self, now: float) -> None:
        while self._finished:
            oldest = next(iter(self._finished.values()))
            if not self._is_expired(oldest, now):
                return
            self._finished.popitem(last=False)
            self.stats.expirations += 1
