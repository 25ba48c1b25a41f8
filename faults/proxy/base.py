"""What the UDP and TCP fault proxies share: target, listening address, core, steering.

Rules:
- A proxy listens on `listen` (host, port; port 0 picks a free one, see `.port` after
  `start()`) and forwards to `target`. It runs on the event loop that starts it; every
  method but the constructor must be called on that loop's thread (ThreadedProxy, in
  threaded.py, is the way in from other threads).
- `steer(rule)` adds a steering rule (rules decide before the fault source) and returns
  its handle; `unsteer(handle)` withdraws it. `wait_steered(handle, count, timeout)` returns
  once the rule has decided `count` messages (default: its whole count), or raises
  TimeoutError after `timeout` seconds: tests wait on the proxy, never on the clock.
- The trace's times count from `start()`. `stats` counts the messages and bytes that
  reached the proxy from each side.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from faults.proxy.core import ProxyCore
from faults.proxy.messages import DIRECTIONS
from faults.proxy.steering import Rule, Steering
from faults.sim.faults import FaultSource
from faults.sim.message_faults import FaultRates
from faults.sim.trace import Trace
from reference.rpc.stubs import Address

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ProxyStats:
    """What reached the proxy so far: whole messages and bytes, from each side."""

    messages_from_clients: int
    messages_from_servers: int
    bytes_from_clients: int
    bytes_from_servers: int


class ProxyBase(ABC):
    """The part of a proxy that is not about its transport."""

    transport_name = ""

    def __init__(
        self,
        target: Address,
        *,
        listen: Address = (LOOPBACK, 0),
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
        trace: Trace | None = None,
        faulty: Collection[str] = DIRECTIONS,
    ) -> None:
        self.target = target
        self.listen = listen
        self.core = ProxyCore(faults, rates, trace, faulty)
        self._port: int | None = None
        self._waiters: list[tuple[Steering, int, asyncio.Future[None]]] = []
        self._messages_in = [0, 0]  # from clients, from servers
        self._bytes_in = [0, 0]

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the proxy has no port yet: await start() first")
        return self._port

    @property
    def address(self) -> Address:
        """Where clients reach the proxy."""
        return self.listen[0], self.port

    @property
    def trace(self) -> Trace | None:
        return self.core.trace

    @property
    def stats(self) -> ProxyStats:
        return ProxyStats(*self._messages_in, *self._bytes_in)

    def steer(self, rule: Rule) -> Steering:
        """Let `rule` decide the next matching messages (before the fault source)."""
        return self.core.steer(rule)

    def unsteer(self, steering: Steering) -> None:
        self.core.steerer.remove(steering)

    async def wait_steered(
        self, steering: Steering, count: int | None = None, timeout: float = 30.0
    ) -> None:
        """Return once `steering` has decided `count` messages (None: its rule's count, or 1
        for an unlimited rule); TimeoutError after `timeout` seconds."""
        wanted = count if count is not None else steering.rule.count or 1
        if steering.matched >= wanted:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (steering, wanted, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _wake_waiters(self) -> None:
        """Resolve the waits whose rule has decided enough (called after routing, when any wait)."""
        for steering, wanted, future in self._waiters:
            if steering.matched >= wanted and not future.done():
                future.set_result(None)

    @abstractmethod
    async def start(self) -> None:
        """Bind the listening socket(s) and start forwarding."""

    @abstractmethod
    async def close(self) -> None:
        """Stop forwarding and close every socket."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
