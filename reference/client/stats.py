"""What a client counts: RPCs per procedure, and hits and misses of each cache.

Rules: counting never changes behaviour. CountingCaller wraps the mount's Caller and
counts every call it is asked to make (a retransmission is the RPC runtime's business and
is not counted here). A hit is a use of cached state without an RPC; a miss is one that
needed an RPC.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from reference.rpc.stubs import Caller, Procedure

A = TypeVar("A")
R = TypeVar("R")


@dataclass(slots=True)
class CacheStats:
    attribute_hits: int = 0
    attribute_misses: int = 0
    lookup_hits: int = 0
    lookup_misses: int = 0
    page_hits: int = 0
    page_misses: int = 0
    listing_hits: int = 0
    listing_misses: int = 0
    verifier_changes: int = 0
    resent_writes: int = 0

    @property
    def hits(self) -> int:
        return self.attribute_hits + self.lookup_hits + self.page_hits + self.listing_hits

    @property
    def misses(self) -> int:
        return self.attribute_misses + self.lookup_misses + self.page_misses + self.listing_misses


@dataclass
class CountingCaller:
    """A Caller that counts the calls it passes on, by procedure name."""

    inner: Caller
    calls: Counter[str] = field(default_factory=Counter)

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        self.calls[procedure.name] += 1
        return await self.inner.call(procedure, args)

    @property
    def total(self) -> int:
        return sum(self.calls.values())
