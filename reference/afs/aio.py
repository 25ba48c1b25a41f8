"""The AFS server and client on real sockets (asyncio): the same engines, real I/O.

Rules:
- AfsSocketServer serves AFS_PROGRAM over UDP and TCP on one port, with a duplicate
  request cache (STOREDATA is not idempotent). Its breaks run as tasks of its event loop,
  over one UDP RpcSocketClient per client callback address, with a soft retry policy:
  a break that gets no answer is given up. Each `start()` is one server start (a new
  epoch over the same FileTable); `close()` is a crash as far as promises go.
- AfsSocketClient is an AfsClient whose callback service listens on its own UDP and TCP
  port of `callback_host`, talking to the server through an RpcSocketClient.
- Time is the event loop's clock; sleeps are asyncio.sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from reference.afs.breaks import TaskBreakSender
from reference.afs.callbacks import CallbackState
from reference.afs.client import AfsClient
from reference.afs.events import Observer
from reference.afs.files import FileTable
from reference.afs.local_files import LocalFiles
from reference.afs.server import DEFAULT_CALLBACK_SECONDS, AfsServer, ServerMutants
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.aio_server import RpcSocketServer
from reference.rpc.client import RetryPolicy
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.server import RpcServer
from reference.rpc.stubs import Address, Caller

BREAK_POLICY = RetryPolicy(timeo=0.5, retrans=3, max_timeo=2.0)


class AfsSocketServer:
    """An AfsServer on host:port (port 0: a free one, see `.port` after `start()`)."""

    def __init__(
        self,
        files: FileTable,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_seconds: int = DEFAULT_CALLBACK_SECONDS,
        observer: Observer | None = None,
        mutants: ServerMutants | None = None,
        break_policy: RetryPolicy = BREAK_POLICY,
    ) -> None:
        self.files = files
        self.host = host
        self.requested_port = port
        self.callback_seconds = callback_seconds
        self.observer = observer
        self.mutants = mutants if mutants is not None else ServerMutants()
        self.break_policy = break_policy
        self.service: AfsServer | None = None
        self._sockets: RpcSocketServer | None = None
        self._callers: dict[Address, asyncio.Task[RpcSocketClient]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._sockets is None:
            raise RuntimeError("the AFS server is not running: await start() first")
        return self._sockets.port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sender = TaskBreakSender(self._spawn, self._caller_for)
        self.service = AfsServer(
            self.files, loop.time, sender, self.callback_seconds, self.observer, self.mutants
        )
        engine = RpcServer([self.service], DuplicateRequestCache())
        self._sockets = RpcSocketServer(engine, self.host, self.requested_port)
        await self._sockets.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        callers = list(self._callers.values())
        self._callers.clear()
        for connecting in callers:
            if connecting.done() and not connecting.cancelled() and not connecting.exception():
                await connecting.result().close()
            else:
                connecting.cancel()
        if self._sockets is not None:
            await self._sockets.close()
            self._sockets = None
        self.service = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _caller_for(self, address: Address) -> Caller:
        connecting = self._callers.get(address)
        if connecting is None:
            connecting = asyncio.get_running_loop().create_task(
                RpcSocketClient.connect(address[0], address[1], "udp", self.break_policy)
            )
            self._callers[address] = connecting
        try:
            return await asyncio.shield(connecting)
        except Exception:
            self._callers.pop(address, None)
            raise


class AfsSocketClient:
    """An AfsClient with its callback service on sockets; use `await connect(...)`."""

    def __init__(
        self, client: AfsClient, caller: RpcSocketClient, callbacks: RpcSocketServer
    ) -> None:
        self.client = client
        self.caller = caller
        self.callbacks = callbacks

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        files: LocalFiles,
        transport: str = "tcp",
        callback_host: str = "127.0.0.1",
        retry_policy: RetryPolicy | None = None,
        callbacks: CallbackState | None = None,
    ) -> AfsSocketClient:
        """A client of the AFS server at host:port keeping its copies in `files`."""
        state = callbacks if callbacks is not None else CallbackState()
        loop = asyncio.get_running_loop()
        caller = await RpcSocketClient.connect(host, port, transport, retry_policy)
        client = AfsClient(caller, 0, loop.time, asyncio.sleep, files, state)
        listener = RpcSocketServer(RpcServer([client.callback_service]), callback_host)
        try:
            await listener.start()
        except BaseException:
            await caller.close()
            raise
        client.callback_port = listener.port
        return cls(client, caller, listener)

    async def close(self) -> None:
        await self.caller.close()
        await self.callbacks.close()
