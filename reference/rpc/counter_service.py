"""The counter test program (specs/counter.x): a deliberately non-idempotent service.

Rules: INCREMENT adds its argument and returns the new value; the service counts how
often each call — (client address, xid) — was executed, which is what the at-most-once
property checks. Its state is volatile: a crash loses it.
"""

from __future__ import annotations

from collections import Counter

from reference.rpc.stubs import Address, CallContext
from reference.xdr.gen.counter import COUNTER_V1_Server


class CounterService(COUNTER_V1_Server):
    def __init__(self) -> None:
        self.value = 0
        self.executions: Counter[tuple[Address, int]] = Counter()

    def COUNTERPROC_INCREMENT(self, args: int, ctx: CallContext) -> int:
        self.executions[(ctx.client, ctx.xid)] += 1
        self.value = (self.value + args) & 0xFFFF_FFFF_FFFF_FFFF
        return self.value

    def COUNTERPROC_READ(self, args: None, ctx: CallContext) -> int:
        return self.value
