"""The AFS client: whole files cached locally, trusted while a callback promise holds.

Rules:
- `open(path)` returns an open file holding a whole copy. The local copy is used as it is
  while CallbackState trusts it (no RPC at all); otherwise a copy that is present is
  revalidated with FETCHSTATUS (same version: keep it, with the new promise) and a copy
  that is missing or outdated is fetched whole with FETCHDATA.
- Reads and writes of an open file touch only its copy. `close()` of a written file
  stores the whole contents with STOREDATA, retrying after `retry_delay` seconds while
  the server answers AFSERR_DELAY (it is breaking other clients' promises); the stored
  contents become the local copy, under the new version and promise. The last store wins.
- Every reply's epoch goes to CallbackState first, so a server restart is noticed by
  the first reply of the new epoch.
- The client's callback service (AfsCallbackService) serves CBPROC_BREAK on the port the
  client names in its calls; a break drops the promise on that path. Breaks are not
  authenticated: a spurious one only costs a revalidation.
- Time and sleep are injected (`clock`, `sleep`): the virtual clock in the simulation,
  the event loop's on sockets. The client never opens sockets itself: it calls through
  a Caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from reference.afs.callbacks import CallbackState
from reference.afs.local_files import CachedFile, LocalFiles, MemoryFiles
from reference.rpc.stubs import CallContext, Caller
from reference.xdr.gen.afs import (
    AFS_CALLBACK_V1_Server,
    AFS_V1_Client,
    afs_fetch_args,
    afs_stat,
    afs_store_args,
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_RETRY_DELAY = 0.05


class AfsError(Exception):
    """The server answered `status` (not AFS_OK) about `path`."""

    def __init__(self, path: bytes, status: afs_stat) -> None:
        super().__init__(f"AFS server answered {status.name} for {path!r}")
        self.path = path
        self.status = status


@dataclass(slots=True)
class ClientStats:
    cache_hits: int = 0  # opens served from a trusted copy, without any RPC
    revalidations: int = 0  # FETCHSTATUS calls that kept the local copy
    fetches: int = 0  # FETCHDATA calls that brought a whole file
    stores: int = 0  # STOREDATA calls applied
    delays: int = 0  # AFSERR_DELAY answers to STOREDATA


class AfsCallbackService(AFS_CALLBACK_V1_Server):
    """The client's callback program: the server breaks promises through it."""

    def __init__(self, callbacks: CallbackState) -> None:
        self.callbacks = callbacks

    def CBPROC_BREAK(self, args: bytes, ctx: CallContext) -> None:
        self.callbacks.break_callback(args)


class AfsClient:
    """A client of one AFS server (see the module rules)."""

    def __init__(
        self,
        caller: Caller,
        callback_port: int,
        clock: Clock,
        sleep: Sleep,
        files: LocalFiles | None = None,
        callbacks: CallbackState | None = None,
        retry_delay: float = DEFAULT_RETRY_DELAY,
    ) -> None:
        if retry_delay <= 0:
            raise ValueError(f"retry_delay must be positive, not {retry_delay}")
        self.server = AFS_V1_Client(caller)
        self.callback_port = callback_port
        self.clock = clock
        self.sleep = sleep
        self.files: LocalFiles = files if files is not None else MemoryFiles()
        self.callbacks = callbacks if callbacks is not None else CallbackState()
        self.callback_service = AfsCallbackService(self.callbacks)
        self.retry_delay = retry_delay
        self.stats = ClientStats()

    async def open(self, path: bytes, create: bool = False) -> AfsOpenFile:
        """Open `path` with a valid whole copy; a missing file raises AfsError(NOENT)
        unless `create`, which opens it empty (it exists once closed after a write)."""
        copy = await self._valid_copy(path)
        if copy is None:
            if not create:
                raise AfsError(path, afs_stat.AFSERR_NOENT)
            return AfsOpenFile(self, path, 0, b"")
        return AfsOpenFile(self, path, copy.version, copy.data)

    async def read_file(self, path: bytes) -> bytes:
        opened = await self.open(path)
        await opened.close()
        return opened.read()

    async def write_file(self, path: bytes, data: bytes) -> int:
        """Replace `path` (creating it) with `data`; the version stored."""
        opened = await self.open(path, create=True)
        opened.write(data)
        return await opened.close()

    async def _valid_copy(self, path: bytes) -> CachedFile | None:
        now = self.clock()
        copy = self.files.get(path)
        if copy is not None and self.callbacks.trusted(path, now):
            self.stats.cache_hits += 1
            return copy
        if copy is not None and await self._revalidate(path, copy.version, now):
            self.stats.revalidations += 1
            return copy
        ticket = self.callbacks.ticket(path, self.clock())
        reply = await self.server.AFSPROC_FETCHDATA(afs_fetch_args(path, self.callback_port))
        self.callbacks.observe_epoch(reply.epoch)
        if reply.body.status == afs_stat.AFSERR_NOENT:
            self._forget(path)
            return None
        file = reply.body.file
        if file is None:
            raise AfsError(path, reply.body.status)
        self.stats.fetches += 1
        copy = CachedFile(file.version, file.data)
        self.files.put(path, copy)
        self.callbacks.promise(ticket, reply.epoch, file.callback_seconds)
        return copy

    async def _revalidate(self, path: bytes, version: int, now: float) -> bool:
        """Ask for the version of `path`: True (and a promise) if the copy is current."""
        ticket = self.callbacks.ticket(path, now)
        reply = await self.server.AFSPROC_FETCHSTATUS(afs_fetch_args(path, self.callback_port))
        self.callbacks.observe_epoch(reply.epoch)
        status = reply.body.attributes
        if status is None or status.version != version:
            return False
        self.callbacks.promise(ticket, reply.epoch, status.callback_seconds)
        return True

    async def store(self, path: bytes, base_version: int, data: bytes) -> int:
        """Store `data` as the whole of `path` (retrying while the server answers
        AFSERR_DELAY); the new version, which becomes the local copy's."""
        while True:
            ticket = self.callbacks.ticket(path, self.clock())
            args = afs_store_args(path, base_version, data, self.callback_port)
            reply = await self.server.AFSPROC_STOREDATA(args)
            self.callbacks.observe_epoch(reply.epoch)
            if reply.body.status == afs_stat.AFSERR_DELAY:
                self.stats.delays += 1
                await self.sleep(self.retry_delay)
                continue
            stored = reply.body.stored
            if stored is None:
                raise AfsError(path, reply.body.status)
            self.stats.stores += 1
            self.files.put(path, CachedFile(stored.version, data))
            self.callbacks.promise(ticket, reply.epoch, stored.callback_seconds)
            return stored.version

    def _forget(self, path: bytes) -> None:
        self.files.discard(path)
        self.callbacks.drop(path)


class AfsOpenFile:
    """An open file: a private whole copy, stored back on close if written."""

    def __init__(self, client: AfsClient, path: bytes, version: int, data: bytes) -> None:
        self.client = client
        self.path = path
        self.version = version  # the version opened (0: a new file)
        self._data = data
        self._dirty = False
        self.closed = False

    def read(self) -> bytes:
        return self._data

    def write(self, data: bytes) -> None:
        """Replace the whole contents (stored on close)."""
        if self.closed:
            raise ValueError(f"{self.path!r} is closed")
        self._data = bytes(data)
        self._dirty = True

    async def close(self) -> int:
        """Store the contents if written; the version of the copy (0: a new file never
        written)."""
        if self.closed:
            raise ValueError(f"{self.path!r} is already closed")
        self.closed = True
        if self._dirty:
            self.version = await self.client.store(self.path, self.version, self._data)
        return self.version
