"""Coroutines on virtual time, without asyncio.

Rules:
- A `SimFuture` is a value that will be set once (result or exception). Awaiting it
  suspends the awaiting task until it is done. Done callbacks run synchronously, in the
  order added, when it completes (at once if it is already done).
- A `SimTask` runs a coroutine on a node: each step is an event of the world's queue, so a
  task resumed by a future runs after the code that completed the future, at the same
  virtual time. A task is itself a future holding the coroutine's result.
- A coroutine may await only `SimFuture`s (tasks included). Awaiting anything else (an
  asyncio future, `asyncio.sleep`) throws a TypeError into the coroutine.
- When the task's node crashes, its coroutine is closed (finally blocks run; they must not
  act on the world) and the task ends with `NodeCrashed`.
- A task that raises while nobody waits for it makes the world's run raise `TaskFailed`
  (the error is chained), so failures are never silent.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from faults.sim.errors import NodeCrashed, SimError, TaskFailed

if TYPE_CHECKING:
    from faults.sim.world import SimWorld

T = TypeVar("T")

_PENDING, _RESULT, _EXCEPTION = 0, 1, 2


class SimFuture(Generic[T]):
    """A result that will be available later in virtual time."""

    __slots__ = ("_callbacks", "_exception", "_result", "_state")

    def __init__(self) -> None:
        self._state = _PENDING
        self._result: T
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[SimFuture[T]], None]] = []

    def done(self) -> bool:
        return self._state != _PENDING

    def result(self) -> T:
        if self._state == _RESULT:
            return self._result
        if self._state == _EXCEPTION:
            assert self._exception is not None
            raise self._exception
        raise SimError("result() of a SimFuture that is not done yet; await it or run the world")

    def exception(self) -> BaseException | None:
        if self._state == _PENDING:
            raise SimError("exception() of a SimFuture that is not done yet")
        return self._exception

    def set_result(self, value: T) -> None:
        self._check_pending()
        self._result = value
        self._state = _RESULT
        self._run_callbacks()

    def set_exception(self, exception: BaseException) -> None:
        self._check_pending()
        self._exception = exception
        self._state = _EXCEPTION
        self._run_callbacks()

    def add_done_callback(self, callback: Callable[[SimFuture[T]], None]) -> None:
        if self._state == _PENDING:
            self._callbacks.append(callback)
        else:
            callback(self)

    def __await__(self) -> Generator[SimFuture[T], None, T]:
        if self._state == _PENDING:
            yield self
        return self.result()

    def _check_pending(self) -> None:
        if self._state != _PENDING:
            raise SimError(f"{self!r} is already done; a future is set only once")

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class SimTask(SimFuture[T]):
    """A coroutine running on a node of the simulated world."""

    __slots__ = ("_call_soon", "_coro", "_crash", "_on_finish", "_running", "name")

    def __init__(
        self,
        coro: Coroutine[Any, Any, T],
        name: str,
        call_soon: Callable[[Callable[[], None]], None],
        on_finish: Callable[[SimTask[Any]], None],
    ) -> None:
        super().__init__()
        self.name = name
        self._coro = coro
        self._call_soon = call_soon
        self._on_finish = on_finish
        self._crash: NodeCrashed | None = None
        self._running = False
        call_soon(self._step)

    def __repr__(self) -> str:
        return f"<SimTask {self.name}>"

    def kill(self, reason: NodeCrashed) -> None:
        """The node crashed: close the coroutine and end the task with `reason`."""
        if self.done():
            return
        if self._running:
            self._crash = reason  # it crashed its own node; end it when it yields
            return
        self._coro.close()
        self._finish_with_exception(reason)

    def _step(self) -> None:
        self._advance(None)

    def _wakeup(self, _: SimFuture[Any]) -> None:
        self._call_soon(self._step)

    def _advance(self, error: BaseException | None) -> None:
        if self.done():
            return
        try:
            self._running = True
            try:
                awaited = self._coro.send(None) if error is None else self._coro.throw(error)
            finally:
                self._running = False
        except StopIteration as stop:
            if self._crash is not None:
                self._finish_with_exception(self._crash)
            else:
                self._on_finish(self)
                self.set_result(stop.value)
            return
        except Exception as exc:
            if self._crash is not None:
                self._finish_with_exception(self._crash)
                return
            nobody_waits = not self._callbacks
            self._finish_with_exception(exc)
            if nobody_waits:
                raise TaskFailed(f"task {self.name} raised {exc!r} and nobody awaited it") from exc
            return
        if self._crash is not None:
            self._coro.close()
            self._finish_with_exception(self._crash)
        elif isinstance(awaited, SimFuture):
            awaited.add_done_callback(self._wakeup)
        else:
            misuse = TypeError(
                f"task {self.name} awaited {awaited!r}, which is not a SimFuture: the simulated "
                "world runs without asyncio; await SimFutures, SimTasks or sleep(world, seconds)"
            )
            self._call_soon(lambda: self._advance(misuse))

    def _finish_with_exception(self, exception: BaseException) -> None:
        self._on_finish(self)
        self.set_exception(exception)


def sleep(world: SimWorld, seconds: float) -> SimFuture[None]:
    """A future that completes `seconds` of virtual time from now."""
    future: SimFuture[None] = SimFuture()
    world.call_later(seconds, None, lambda: future.set_result(None))
    return future
