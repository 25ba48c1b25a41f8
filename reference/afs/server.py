"""The AFS file server: whole-file fetches with callback promises, stores that break them.

Rules:
- Durable state is the FileTable (files, versions, boot count); volatile state is the
  CallbackPromises table, which a restart loses. Each AfsServer is one server start:
  constructing it boots the table and takes the new epoch, which every reply carries.
- FETCHDATA and FETCHSTATUS grant the caller a promise on the path (the caller's callback
  service is at the call's host and the port named in the arguments). NOENT and INVAL
  replies grant nothing.
- STOREDATA by client W on path P: while other clients hold live promises on P, the
  server starts a break for each one not being broken yet and answers AFSERR_DELAY
  without storing; the client retries. Once none is live (each break was answered or
  given up, or the promise expired) the store is applied under a new version, the writer
  gets a fresh promise, and the reply says OK. So when a store completes, every client
  that answered its break has already dropped its promise; a client whose break was
  lost may trust its copy until its promise expires. The last store applied wins.
- Breaks are sent by the injected CallbackSender, in the background (handlers are
  synchronous); the sender reports each outcome through the `done` callback it is given.
- Time comes from the injected `clock`; the server never sleeps or opens sockets.
- Planted bugs for the properties (ServerMutants; all off is the correct server):
  `forget_breaks` applies every store at once and breaks nothing; `first_writer_wins`
  silently keeps the current contents when a store's base version is not the current one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from reference.afs.events import BreakEnded, Granted, Observer, ServerEvent, Stored
from reference.afs.files import FileTable, StoredFile
from reference.afs.promises import CallbackPromises, Promise
from reference.rpc.stubs import Address, CallContext
from reference.xdr.gen.afs import (
    AFS_V1_Server,
    afs_fetch_args,
    afs_fetch_body,
    afs_fetch_res,
    afs_file,
    afs_stat,
    afs_status,
    afs_status_body,
    afs_status_res,
    afs_store_args,
    afs_store_body,
    afs_store_res,
    afs_stored,
)

DEFAULT_CALLBACK_SECONDS = 60


class CallbackSender(Protocol):
    """Sends CBPROC_BREAK for `promise` in the background, then calls `done(delivered)`:
    True once the client answered, False once the call was given up."""

    def send_break(self, promise: Promise, done: Callable[[bool], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class ServerMutants:
    """Planted bugs, each found by one property; all False is the correct server."""

    forget_breaks: bool = False
    first_writer_wins: bool = False


class AfsServer(AFS_V1_Server):
    """One start of the file server over `files` (see the module rules)."""

    def __init__(
        self,
        files: FileTable,
        clock: Callable[[], float],
        sender: CallbackSender,
        callback_seconds: int = DEFAULT_CALLBACK_SECONDS,
        observer: Observer | None = None,
        mutants: ServerMutants = ServerMutants(),
    ) -> None:
        if callback_seconds < 1:
            raise ValueError(f"callback_seconds must be at least 1, not {callback_seconds}")
        self.files = files
        self.clock = clock
        self.sender = sender
        self.callback_seconds = callback_seconds
        self.observer = observer
        self.mutants = mutants
        self.epoch = files.boot()
        self.promises = CallbackPromises(float(callback_seconds))

    def AFSPROC_FETCHDATA(self, args: afs_fetch_args, ctx: CallContext) -> afs_fetch_res:
        found = self._find(args.path)
        if isinstance(found, afs_stat):
            return afs_fetch_res(self.epoch, afs_fetch_body(found))
        self._grant(_callback_address(ctx, args.callback_port), args.path, found.version)
        file = afs_file(found.version, found.data, self.callback_seconds)
        return afs_fetch_res(self.epoch, afs_fetch_body(afs_stat.AFS_OK, file))

    def AFSPROC_FETCHSTATUS(self, args: afs_fetch_args, ctx: CallContext) -> afs_status_res:
        found = self._find(args.path)
        if isinstance(found, afs_stat):
            return afs_status_res(self.epoch, afs_status_body(found))
        self._grant(_callback_address(ctx, args.callback_port), args.path, found.version)
        status = afs_status(found.version, len(found.data), self.callback_seconds)
        return afs_status_res(self.epoch, afs_status_body(afs_stat.AFS_OK, status))

    def AFSPROC_STOREDATA(self, args: afs_store_args, ctx: CallContext) -> afs_store_res:
        if not args.path:
            return afs_store_res(self.epoch, afs_store_body(afs_stat.AFSERR_INVAL))
        writer = _callback_address(ctx, args.callback_port)
        now = self.clock()
        if not self.mutants.forget_breaks and self._breaking(args.path, writer, now):
            return afs_store_res(self.epoch, afs_store_body(afs_stat.AFSERR_DELAY))
        stored = self._apply(args, writer, now)
        self._grant(writer, args.path, stored.version)
        result = afs_stored(stored.version, self.callback_seconds)
        return afs_store_res(self.epoch, afs_store_body(afs_stat.AFS_OK, result))

    def _apply(self, args: afs_store_args, writer: Address, now: float) -> StoredFile:
        current = self.files.get(args.path)
        if (
            self.mutants.first_writer_wins
            and current is not None
            and current.version != args.base_version
        ):
            return current
        stored = self.files.store(args.path, args.data)
        self._report(
            Stored(now, self.epoch, writer, args.path, stored.version, args.base_version, args.data)
        )
        return stored

    def _find(self, path: bytes) -> StoredFile | afs_stat:
        if not path:
            return afs_stat.AFSERR_INVAL
        found = self.files.get(path)
        return afs_stat.AFSERR_NOENT if found is None else found

    def _breaking(self, path: bytes, writer: Address, now: float) -> bool:
        """Start the breaks a store by `writer` needs; True while any promise is live."""
        for promise in self.promises.start_breaks(path, writer, now):
            self.sender.send_break(promise, partial(self._break_ended, promise))
        return bool(self.promises.others(path, writer, now))

    def _break_ended(self, promise: Promise, delivered: bool) -> None:
        self.promises.finish_break(promise)
        self._report(BreakEnded(self.clock(), self.epoch, promise, delivered))

    def _grant(self, client: Address, path: bytes, version: int) -> None:
        now = self.clock()
        promise = self.promises.grant(client, path, now)
        self._report(Granted(now, self.epoch, promise, version))

    def _report(self, event: ServerEvent) -> None:
        if self.observer is not None:
            self.observer(event)


def _callback_address(ctx: CallContext, port: int) -> Address:
    return (ctx.client[0], port)
