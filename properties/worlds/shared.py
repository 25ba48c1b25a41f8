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
- An example that asks for fault rates gets its own client through a fresh fault proxy
  bound to its fault source (properties/worlds/proxied.py); without rates it borrows
  the shared client, and no message is faulted.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from faults.sim import FaultRates, FaultSource
from properties.worlds.proxied import proxied_target
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Target
from reference.xdr.gen.mount3 import MNT3_OK
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    LOOKUP3args,
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

    def __init__(self, starters: dict[str, Callable[[bool], SocketTarget[Any]]]) -> None:
        self.starters = starters
        self.running: dict[tuple[str, bool], SocketTarget[Any]] = {}

    def example(
        self,
        world: str,
        drc: bool,
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
    ) -> Target:
        """The world's server, with an empty export; through a fault proxy deciding with
        `faults` when `rates` are given."""
        server = self.running.get((world, drc))
        if server is None:
            server = self.running[(world, drc)] = self.starters[world](drc)
        server.run(empty_export(server))
        if rates is not None and faults is not None:
            return proxied_target(server, faults, rates)
        return _Borrowed(server)

    def close(self) -> None:
        for server in self.running.values():
            server.close()
        self.running.clear()


async def empty_export(target: Target) -> None:
    mounted = await target.mount.MOUNTPROC3_MNT(target.export)
    if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
        raise RuntimeError(f"{target.name}: MNT {target.export!r} failed: {mounted.fhs_status}")
    await _empty(target, nfs_fh3(mounted.mountinfo.fhandle))


async def _empty(target: Target, directory: nfs_fh3) -> None:
    cookie, verifier, done = 0, bytes(8), False
    children: list[tuple[bytes, nfs_fh3 | None]] = []  # (name, handle if a directory)
    while not done:
        args = READDIRPLUS3args(directory, cookie, verifier, DIRCOUNT, MAXCOUNT)
        page = await target.nfs.NFSPROC3_READDIRPLUS(args)
        if page.status != NFS3_OK or page.resok is None:
            raise RuntimeError(f"{target.name}: emptying the export: READDIRPLUS {page.status}")
        for entry in page.resok.reply.entries:
            cookie = entry.cookie
            if entry.name in (b".", b".."):
                continue
            attributes = entry.name_attributes.attributes
            is_dir = attributes is not None and attributes.type == ftype3.NF3DIR
            children.append(
                (entry.name, await _handle(target, directory, entry.name) if is_dir else None)
            )
        verifier, done = page.resok.cookieverf, page.resok.reply.eof
    for name, subdirectory in children:
        where = diropargs3(directory, name)
        if subdirectory is not None:
            await _empty(target, subdirectory)
            status = (await target.nfs.NFSPROC3_RMDIR(RMDIR3args(where))).status
        else:
            status = (await target.nfs.NFSPROC3_REMOVE(REMOVE3args(where))).status
        if status != NFS3_OK:
            raise RuntimeError(f"{target.name}: emptying the export: removing {name!r}: {status}")


async def _handle(target: Target, directory: nfs_fh3, name: bytes) -> nfs_fh3:
    found = await target.nfs.NFSPROC3_LOOKUP(LOOKUP3args(diropargs3(directory, name)))
    if found.status != NFS3_OK or found.resok is None:
        raise RuntimeError(f"{target.name}: emptying the export: LOOKUP {name!r}: {found.status}")
    return found.resok.object


class _Borrowed:
    """The shared server as one example sees it: closing it leaves the server running."""

    def __init__(self, server: Target) -> None:
        self.server = server
        self.name = server.name
        self.export = server.export
        self.nfs = server.nfs
        self.mount = server.mount
        self.can_crash = server.can_crash
        self.has_drc = server.has_drc
        self.can_inject_faults = server.can_inject_faults
        self.can_partition = server.can_partition
        self.can_jump_clock = server.can_jump_clock

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
        """The server stays until the end of the session."""
