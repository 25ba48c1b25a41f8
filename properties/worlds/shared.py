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
  the root, as the model expects.
- A crash still crashes the whole server: it is the server's durability under test.
- An export that can no longer be emptied (ExportUnusable: an earlier example destroyed
  it, as go-nfs does on RMDIR "." in the root) is a Deviation warning and, where the
  world can restart its server, a restart; elsewhere the error stands, naming the call
  and its answer.
- Where every xdist worker shares the world's server (the --target server), an example
  holds the server's lock (properties/worlds/lock.py) from getting its target until it
  closes it, so examples of different workers never empty or crash the export together.
- An example that asks for fault rates gets its own client through a fresh fault proxy
  bound to its fault source (properties/worlds/proxied.py); without rates it borrows
  the shared client, and no message is faulted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource
from properties.nfs3.model import Deviation, Unsupported
from properties.worlds.lock import exclusive
from properties.worlds.options import WorldOptions
from properties.worlds.probe import probe
from properties.worlds.proxied import proxied_target
from properties.worlds.registry import WORLDS
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import ExportUnusable, Target
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
        server = self.running.get((world, drc))
        if server is None:
            server = self.running[(world, drc)] = self._start(world, drc)
        else:
            _empty_or_restart(server)
        if rates is not None and faults is not None:
            return proxied_target(server, faults, rates, release)
        return _Borrowed(server, release)

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
        for line in server.features.unsupported():
            warnings.warn(Unsupported(f"{server.name}: {line}"), stacklevel=1)
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
        warnings.warn(Deviation(f"{error}; the server was restarted"), stacklevel=1)
        server.crash_and_restart()
        server.run(empty_export(server))


async def empty_export(target: Target) -> None:
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
        raise ExportUnusable(
            f"{target.name}: MNT {target.export!r} failed: {mounted.fhs_status.name}"
        )
    await _empty(target, NFS_V3_Client(target.caller), nfs_fh3(mounted.mountinfo.fhandle))


async def _empty(target: Target, nfs: NFS_V3_Client, directory: nfs_fh3) -> None:
    cookie, verifier, done = 0, bytes(8), False
    children: list[tuple[bytes, nfs_fh3 | None]] = []  # (name, handle if a directory)
    while not done:
        args = READDIRPLUS3args(directory, cookie, verifier, DIRCOUNT, MAXCOUNT)
        page = await nfs.NFSPROC3_READDIRPLUS(args)
        if page.status != NFS3_OK or page.resok is None:
            raise ExportUnusable(
                f"{target.name}: emptying the export: READDIRPLUS answered {page.status.name}"
            )
        for entry in page.resok.reply.entries:
            cookie = entry.cookie
            if entry.name in (b".", b".."):
                continue
            attributes = entry.name_attributes.attributes
            is_dir = attributes is not None and attributes.type == ftype3.NF3DIR
            children.append(
                (entry.name, await _handle(target, nfs, directory, entry.name) if is_dir else None)
            )
        verifier, done = page.resok.cookieverf, page.resok.reply.eof
    for name, subdirectory in children:
        where = diropargs3(directory, name)
        if subdirectory is not None:
            await _empty(target, nfs, subdirectory)
            status = (await nfs.NFSPROC3_RMDIR(RMDIR3args(where))).status
        else:
            status = (await nfs.NFSPROC3_REMOVE(REMOVE3args(where))).status
        if status != NFS3_OK:
            raise ExportUnusable(
                f"{target.name}: emptying the export: removing {name!r}: {status.name}"
            )


async def _handle(target: Target, nfs: NFS_V3_Client, directory: nfs_fh3, name: bytes) -> nfs_fh3:
    found = await nfs.NFSPROC3_LOOKUP(LOOKUP3args(diropargs3(directory, name)))
    if found.status != NFS3_OK or found.resok is None:
        raise ExportUnusable(
            f"{target.name}: emptying the export: LOOKUP {name!r}: {found.status.name}"
        )
    return found.resok.object


class _Borrowed:
    """The shared server as one example sees it: closing it leaves the server running."""

    def __init__(self, server: Target, release: Callable[[], None]) -> None:
        self.server = server
        self._release = release
        self.name = server.name
        self.export = server.export
        self.caller = server.caller
        self.mount_caller = server.mount_caller
        self.capabilities = server.capabilities
        self.features = server.features
        self.sim = server.sim

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        return self.server.run(operation)

    async def send_raw(self, message: bytes) -> bytes | None:
        return await self.server.send_raw(message)

    def next_xid(self) -> int:
        return self.server.next_xid()

    def crash_and_restart(self) -> None:
        self.server.crash_and_restart()

    def partition(self, starts_in: float, lasts: float) -> None:
        self.server.partition(starts_in, lasts)

    def jump_clock(self, seconds: float) -> None:
        self.server.jump_clock(seconds)

    def close(self) -> None:
        """The server stays until the end of the session; its lock, if held, is let go."""
        self._release()
