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
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

from faults.proxy.base import ProxyBase
from faults.proxy.steering import Rule, Steering
from reference.rpc.stubs import Address

P = TypeVar("P", bound=ProxyBase)
T = TypeVar("T")

CALL_TIMEOUT = 30.0


class ThreadedProxy(Generic[P]):
    """`proxy` served from a background thread."""

    def __init__(self, proxy: P) -> None:
        self.proxy = proxy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="fault-proxy", daemon=True
        )

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def address(self) -> Address:
        return self.proxy.address

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.proxy.start()
        except BaseException as error:
            self._error = error
            return
        finally:
            self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.proxy.close()

    def call(self, function: Callable[[], T], timeout: float = CALL_TIMEOUT) -> T:
        """Run `function` on the proxy's loop and return its result."""
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            raise RuntimeError("the proxy is not running: use `with ThreadedProxy(...)`")
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function())
            except BaseException as error:
                done.set_exception(error)

        loop.call_soon_threadsafe(run)
        return done.result(timeout)

    def steer(self, rule: Rule) -> Steering:
        return self.call(lambda: self.proxy.steer(rule))

    def unsteer(self, steering: Steering) -> None:
        self.call(lambda: self.proxy.unsteer(steering))

    def wait_steered(
        self, steering: Steering, count: int | None = None, timeout: float = CALL_TIMEOUT
    ) -> None:
        """Block until `steering` has decided `count` messages; TimeoutError after `timeout`."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the proxy is not running: use `with ThreadedProxy(...)`")
        waiting = asyncio.run_coroutine_threadsafe(
            self.proxy.wait_steered(steering, count, timeout), loop
        )
        waiting.result(timeout + 1.0)

    def __enter__(self) -> Self:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
