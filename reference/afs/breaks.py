"""A CallbackSender that runs each callback break as a task of its world.

Rules:
- `send_break` only schedules: the break runs as a task made by the injected `spawn`
  (ctx.spawn in the simulation, loop.create_task on sockets), so the server's
  synchronous handlers never wait on the network.
- The task gets a Caller for the client's callback address from the injected
  `caller_for` (which may keep one per client), calls CBPROC_BREAK once (the Caller
  retransmits as its policy says) and reports `done(True)` on a reply, `done(False)` when
  the call fails with an RpcError (the break is given up: lost).
- If the task dies with its node (a server crash), `done` is never called: the promise
  table it would have updated died too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from reference.afs.promises import Promise
from reference.rpc.errors import RpcError
from reference.rpc.stubs import Address, Caller
from reference.xdr.gen.afs import AFS_CALLBACK_V1_Client

Spawn = Callable[[Coroutine[Any, Any, None]], object]
CallerFor = Callable[[Address], Awaitable[Caller]]


class TaskBreakSender:
    """Breaks callbacks from background tasks (see the module rules)."""

    def __init__(self, spawn: Spawn, caller_for: CallerFor) -> None:
        self.spawn = spawn
        self.caller_for = caller_for

    def send_break(self, promise: Promise, done: Callable[[bool], None]) -> None:
        self.spawn(self._break(promise, done))

    async def _break(self, promise: Promise, done: Callable[[bool], None]) -> None:
        try:
            caller = await self.caller_for(promise.client)
            await AFS_CALLBACK_V1_Client(caller).CBPROC_BREAK(promise.path)
        except RpcError:
            done(False)
            return
        done(True)
