"""Real-socket worlds for the server properties: one long-lived server per world and
cache setting, emptied before every example.

Rules:
- Starting a server per Hypothesis example would cost more than the example, so a world's
  server (the reference `nfsprop serve`, or NFS-Ganesha) is started once per test session
  (per pytest-xdist worker) and per duplicate-request-cache setting, and closed when the
  session ends.
- Every example starts from an empty export, as with a fresh server: what the previous
  example left is removed through NFS (READDIRPLUS, REMOVE, RMDIR, depth first) before
  the example gets the target. The export root itself stays, so '..' of the root is
  the root, as the model expects (with --scratch-dir the root is that directory, and
  '..' in it is itself too: properties/worlds/scratch.py).
- A crash still crashes the whole server: it is the server's durability under test.
- An export that can no longer be emptied (ExportUnusable: an earlier example destroyed
  it, as go-nfs does on RMDIR "." in the root) is, where the world can restart its
  server, a restart and a WARN finding of the test (EXPORT-LOST, worlds/rules.py);
  elsewhere the error stands, naming the call and its answer.
- The --target server (the world whose one server serves every worker) is watched
  (properties/worlds/dead.py): before each example, a death the run recorded stops it
  (failed in the test that met it, skipped in every other); a server that no longer
  answers NULL is restarted with --restart-cmd if there is one (a WARN finding,
  SERVER-SILENT); a server silent without
  one (or after it), or an export that cannot be emptied (after a restart where there is
  a command), is the target's death: this test fails with that one line and the run's
  later tests are skipped. During an example, a call (or a restart) that fails while the
  server no longer answers NULL is the same death.
- Where every xdist worker shares the world's server (the --target server), an example
  holds the server's lock (properties/worlds/lock.py) from getting its target until it
  closes it, so examples of different workers never empty or crash the export together.
- An example that asks for fault rates gets its own client through a fresh fault proxy
  bound to its fault source (properties/worlds/proxied.py); without rates it borrows
  the shared client, and no message is faulted.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource
from properties.harness import findings
from properties.worlds.dead import TargetDied, TargetDiedInExample, Watch
from properties.worlds.external import RestartError
from properties.worlds.lock import exclusive
from properties.worlds.options import WorldOptions
from properties.worlds.probe import probe
from properties.worlds.proxied import proxied_target
from properties.worlds.registry import WORLDS
from properties.worlds.rules import EXPORT_LOST, SILENT
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import ExportUnusable, RawClient, Target
from reference.rpc.aio_client import WireMessage
from reference.rpc.errors import RpcError
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    LOOKUP3args,
    NFS_V3_Client,
    READDIRPLUS3args,
    REMOVE3args,
    RMDIR3args,
    diropargs3,
    ftype3,
    nfs_fh3,
)

T = TypeVar("T")

DIRCOUNT = 8192
MAXCOUNT = 65536


class SharedServers:
    """The servers of the real-socket worlds, started on first use, by (world, drc)."""

    def __init__(self, options: WorldOptions) -> None:
        self.options = options
        self.running: dict[tuple[str, bool], SocketTarget[Any]] = {}

    def example(
        self,
        world: str,
        drc: bool,
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
    ) -> Target:
        """The world's server, with an empty export; through a fault proxy deciding with
        `faults` when `rates` are given. Where every worker shares the server, the example
        holds its lock until the target is closed."""
        hold = ExitStack()
        if WORLDS[world].one_server_for_all_workers:
            hold.enter_context(exclusive(str(self.options.target)))
        try:
            return self._example(world, drc, faults, rates, hold.close)
        except BaseException:
            hold.close()
            raise

    def _example(
        self,
        world: str,
        drc: bool,
        faults: FaultSource | None,
        rates: FaultRates | None,
        release: Callable[[], None],
    ) -> Target:
        watch = self._watch(world)
        found = self._ready(world, drc) if watch is None else self._watched(world, drc, watch)
        if isinstance(found, str):
            assert watch is not None
            raise TargetDied(watch.said(found))  # the one place (worlds/dead.py)
        if rates is not None and faults is not None:
            proxied = proxied_target(found, faults, rates, release)
            return _Example(proxied, proxied.close, watch)
        return _Example(found, release, watch)

    def _watch(self, world: str) -> Watch | None:
        """The Watch on the world's server, where every worker shares it (--target)."""
        url = self.options.target
        if not WORLDS[world].one_server_for_all_workers or url is None:
            return None
        return Watch(f"target:{url}", str(url), url.host, url.port)

    def _watched(self, world: str, drc: bool, watch: Watch) -> SocketTarget[Any] | str:
        """The world's server, ready; or the line of its death (recorded), found now or
        recorded by an earlier example of this test (see the module rules)."""
        died = watch.recorded()
        if died is not None:
            return died
        restorable = WORLDS[world].capabilities(self.options).crashes
        try:
            server = self.running.get((world, drc))
            if server is not None and not watch.answers():
                _restart_silent(server, watch, restorable)
            return self._ready(world, drc)
        except _Silent as silent:
            died = silent.line
        except Exception as error:
            if isinstance(error, ExportUnusable):
                tried = "after a restart" if restorable else "no --restart-cmd to restore it"
                died = f"{error.reason} ({tried})"
            elif watch.answers():
                raise
            else:
                died = f"{watch.silent} ({_line(error)})"
        watch.record(died)
        return died

    def _ready(self, world: str, drc: bool) -> SocketTarget[Any]:
        """The world's server, with an empty export: started on first use."""
        server = self.running.get((world, drc))
        if server is None:
            server = self.running[(world, drc)] = self._start(world, drc)
        else:
            _empty_or_restart(server)
        return server

    def _start(self, world: str, drc: bool) -> SocketTarget[Any]:
        """The world's server, started, its export emptied and its features probed (the
        probe leaves the export empty); if any of it fails, closed again."""
        start = WORLDS[world].start
        assert start is not None, f"the {world} world has no shared server"
        server = start(drc, self.options)
        try:
            server.run(empty_export(server))
            control = server.server
            server.features = probe(server, server.host, control.port, control.mount_port)
        except BaseException:  # the next example starts (and probes) afresh
            server.close()
            raise
        return server

    def close(self) -> None:
        for server in self.running.values():
            server.close()
        self.running.clear()


def _empty_or_restart(server: SocketTarget[Any]) -> None:
    """Empty the export; one an earlier example destroyed (go-nfs deletes it on RMDIR ".")
    gets a restart where the world can restart its server: that example failed already."""
    try:
        server.run(empty_export(server))
    except ExportUnusable as error:
        if not server.capabilities.crashes:
            raise
        findings.current().warn(EXPORT_LOST, f"{error}; the server was restarted")
        server.crash_and_restart()
        server.run(empty_export(server))


async def empty_export(target: Target) -> None:
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
        raise ExportUnusable(
            target.name, f"MNT {target.export!r} answers {mounted.fhs_status.name}"
        )
    await _empty(target, NFS_V3_Client(target.caller), nfs_fh3(mounted.mountinfo.fhandle), b"")


async def _empty(target: Target, nfs: NFS_V3_Client, directory: nfs_fh3, path: bytes) -> None:
    """Empty `directory`, at `path` in the export (b"": the root)."""
    cookie, verifier, done = 0, bytes(8), False
    children: list[tuple[bytes, nfs_fh3 | None]] = []  # (name, handle if a directory)
    while not done:
        args = READDIRPLUS3args(directory, cookie, verifier, DIRCOUNT, MAXCOUNT)
        page = await nfs.NFSPROC3_READDIRPLUS(args)
        if page.status != NFS3_OK or page.resok is None:
            raise ExportUnusable(
                target.name,
                f"emptying the export: the export root answers {page.status.name} to READDIRPLUS"
                if not path
                else f"emptying the export: READDIRPLUS of {path!r} answered {page.status.name}",
            )
        for entry in page.resok.reply.entries:
            cookie = entry.cookie
            if entry.name in (b".", b".."):
                continue
            attributes = entry.name_attributes.attributes
            is_dir = attributes is not None and attributes.type == ftype3.NF3DIR
            child = path + b"/" + entry.name
            children.append(
                (entry.name, await _handle(target, nfs, directory, child) if is_dir else None)
            )
        verifier, done = page.resok.cookieverf, page.resok.reply.eof
    for name, subdirectory in children:
        where = diropargs3(directory, name)
        if subdirectory is not None:
            await _empty(target, nfs, subdirectory, path + b"/" + name)
            status = (await nfs.NFSPROC3_RMDIR(RMDIR3args(where))).status
        else:
            status = (await nfs.NFSPROC3_REMOVE(REMOVE3args(where))).status
        if status != NFS3_OK:
            raise ExportUnusable(
                target.name, f"emptying the export: removing {path + b'/' + name!r}: {status.name}"
            )


async def _handle(target: Target, nfs: NFS_V3_Client, directory: nfs_fh3, path: bytes) -> nfs_fh3:
    name = path.rsplit(b"/", 1)[-1]
    found = await nfs.NFSPROC3_LOOKUP(LOOKUP3args(diropargs3(directory, name)))
    if found.status != NFS3_OK or found.resok is None:
        raise ExportUnusable(
            target.name, f"emptying the export: LOOKUP {path!r}: {found.status.name}"
        )
    return found.resok.object


class _Silent(Exception):
    """The watched server does not answer and cannot be restarted: `line` says so."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def _restart_silent(server: SocketTarget[Any], watch: Watch, restorable: bool) -> None:
    """Restart a server that no longer answers, where the world can (a warning)."""
    if not restorable:
        raise _Silent(f"{watch.silent} (no --restart-cmd to restart it)")
    findings.current().warn(SILENT, f"{server.name}: {watch.silent}; restarted")
    try:
        server.crash_and_restart()
    except RestartError as error:
        raise _Silent(f"{watch.silent}, and {_line(error)}") from error


class _Example:
    """One example's target: the shared server (closing it leaves the server running and
    lets its lock go) or a proxied target over it (closing it closes the proxy). Where a
    Watch is kept, a call or restart that fails on a server that no longer answers is the
    target's death (TargetDied), not that call's failure."""

    def __init__(
        self, server: SocketTarget[Any], close: Callable[[], None], watch: Watch | None
    ) -> None:
        self.server = server
        self._close = close
        self._watch = watch
        self.wire: list[WireMessage] = []  # this example's capture (worlds/sockets.py)
        server.wire = self.wire
        self.name = server.name
        self.export = server.export
        self.caller = server.caller
        self.mount_caller = server.mount_caller
        self.capabilities = server.capabilities
        self.features = server.features
        self.credential = server.credential
        self.sim = server.sim

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        try:
            return self.server.run(operation)
        except (RpcError, TimeoutError, OSError) as error:
            self._died_of(error)
            raise

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        return await self.server.send_raw(message, reconnect)

    def next_xid(self) -> int:
        return self.server.next_xid()

    def another_client(self) -> RawClient:
        return self.server.another_client()

    def crash_and_restart(self) -> None:
        try:
            self.server.crash_and_restart()
        except RestartError as error:
            self._died_of(error)
            raise

    def _died_of(self, error: Exception) -> None:
        """Raise the target's death if the server no longer answers; else return."""
        watch = self._watch
        if watch is not None and not watch.answers():
            line = f"{watch.silent} ({_line(error)})"
            watch.record(line)
            raise TargetDiedInExample(watch.said(line)) from error

    def partition(self, starts_in: float, lasts: float) -> None:
        self.server.partition(starts_in, lasts)

    def jump_clock(self, seconds: float) -> None:
        self.server.jump_clock(seconds)

    def close(self) -> None:
        """The shared server stays until the end of the session; its lock, if held, is let
        go; the clients `another_client()` made for it are closed."""
        self.server.wire = None
        self.server.close_other_clients()
        self._close()


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
