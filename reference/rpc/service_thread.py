"""An asyncio service (a server, a proxy) run from a background thread, for blocking code.

Rules:
- `with ServiceThread(service, name) as running:` starts `service` under asyncio.run in a
  daemon thread and returns once `service.start()` finished (a start-up error is raised
  in the caller); leaving the block closes the service and joins the thread.
- The service belongs to that thread's loop. `call(fn)` runs `fn` there and waits for its
  result at most `timeout` seconds; `call_soon(fn)` does not wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

T = TypeVar("T")
CALL_TIMEOUT = 30.0


class Service(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Service)


class ServiceThread(Generic[S]):
    def __init__(self, service: S, name: str) -> None:
        self.service = service
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name=name, daemon=True
        )

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.service.start()
        except BaseException as error:
            self._error = error
            return
        finally:
            self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.service.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._thread.is_alive():
            raise RuntimeError(f"{self._thread.name} is not running: use it in a `with` block")
        return self._loop

    def call_soon(self, function: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(function)

    def call(self, function: Callable[[], T], timeout: float = CALL_TIMEOUT) -> T:
        """Run `function` on the service's loop and return its result."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function())
            except BaseException as error:
                done.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout)

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
