"""A fault proxy on its own event loop in a background thread, for blocking callers.

Rules:
- `with ThreadedProxy(proxy) as running:` starts `proxy` under asyncio.run in a daemon
  thread and returns once it listens (`running.port` is known; a start-up error is raised
  in the caller); leaving the block closes the proxy and joins the thread.
- The proxy belongs to that thread's loop. Every method here hands its work to the loop
  and waits for the answer, at most `timeout` seconds: `steer`, `unsteer`, `call`,
  `wait_steered`. Reading `proxy.trace` from another thread is safe only once the block
  has ended (or when nothing is in flight).
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from faults.proxy.base import ProxyBase
from faults.proxy.steering import Rule, Steering
from reference.rpc.service_thread import CALL_TIMEOUT, ServiceThread
from reference.rpc.stubs import Address

P = TypeVar("P", bound=ProxyBase)
T = TypeVar("T")


class ThreadedProxy(ServiceThread[P]):
    """`proxy` served from a background thread."""

    def __init__(self, proxy: P) -> None:
        super().__init__(proxy, "fault-proxy")
        self.proxy = proxy

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def address(self) -> Address:
        return self.proxy.address

    def steer(self, rule: Rule) -> Steering:
        return self.call(lambda: self.proxy.steer(rule))

    def unsteer(self, steering: Steering) -> None:
        self.call(lambda: self.proxy.unsteer(steering))

    def wait_steered(
        self, steering: Steering, count: int | None = None, timeout: float = CALL_TIMEOUT
    ) -> None:
        """Block until `steering` has decided `count` messages; TimeoutError after `timeout`."""
        waiting = asyncio.run_coroutine_threadsafe(
            self.proxy.wait_steered(steering, count, timeout), self.loop
        )
        waiting.result(timeout + 1.0)
