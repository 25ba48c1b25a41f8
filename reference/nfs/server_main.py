"""The reference NFS server as a process: what `nfsprop serve` runs.

Rules:
- One store (SQLite by default, in ./nfsprop-store.sqlite; or memory), one FileSystem with
  the wall clock (time.time_ns), and on 127.0.0.1 only (the server has no access control):
  NFS v2 and v3, MOUNT v1 and v3 and a portmapper v2 on the NFS port over TCP and UDP. With a
  mount port other than the NFS port (0: a free one), MOUNT is served there only. The
  portmapper maps every (program, version, protocol) served, itself included.
- Port 0 picks a free port. A port that is taken, or that cannot be bound, is a
  ServeError naming the fix, as is an export that is not a plain absolute path or a
  store that cannot be opened: the caller prints its one line and exits 2.
- `serve()` calls `announce(url)` once everything listens (the libnfs URL that reaches
  the export, with both ports), then serves until `stop` is set; the command sets it on
  SIGTERM and SIGINT. Closing stops the sockets, then closes the store: what was
  committed is on disk, UNSTABLE writes not yet committed are dropped (the next
  instance has a new write verifier, so clients resend them). SIGKILL loses nothing
  committed either (the SQLite store's guarantee).
- TCP records may be MAX_RECORD bytes: a WTMAX-sized WRITE with its headers must fit.
- The duplicate request cache is on unless `drc` is False; one cache serves both ports,
  with NFS_DRC_POLICY (it keeps the non-idempotent NFS calls).
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reference.nfs.drc_policy import NFS_DRC_POLICY
from reference.nfs.fs import RTMAX, WTMAX, FileSystem
from reference.nfs.memory_store import MemoryStore
from reference.nfs.mount1_service import MountV1Service
from reference.nfs.mount_service import MountService
from reference.nfs.nfs2_service import NfsV2Service
from reference.nfs.nfs3_service import NfsV3Service
from reference.nfs.sqlite_store import SqliteStore
from reference.nfs.store import Store
from reference.rpc.aio_server import RpcSocketServer
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.polling import DEFAULT_POLL_US, MAX_POLL_US, Polling
from reference.rpc.portmap import PortmapService
from reference.rpc.server import RpcServer
from reference.rpc.stubs import ProgramVersion
from reference.xdr.gen.mount3 import MNTPATHLEN, MOUNT_PROGRAM, MOUNT_V1, MOUNT_V3
from reference.xdr.gen.nfs2 import NFS_VERSION
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3
from reference.xdr.gen.portmap import IPPROTO_TCP, IPPROTO_UDP, PMAP_PROG, PMAP_VERS

HOST = "127.0.0.1"
DEFAULT_STORE = Path("nfsprop-store.sqlite")
DEFAULT_EXPORT = "/export"
DEFAULT_PORT = 2049
MAX_PORT = 65535
# A WRITE call carries up to WTMAX bytes of data, a READ reply up to RTMAX, plus RPC and
# NFS headers (credentials and verifiers alone may take 800 bytes): records may be that big.
MAX_RECORD = max(RTMAX, WTMAX) + 64 * 1024
_PLAIN_EXPORT = re.compile(r"(/[A-Za-z0-9._+-]+)+|/")


class ServeError(Exception):
    """The server cannot start; the message is one line naming the problem and the fix."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    store: Path | None = DEFAULT_STORE  # None: a memory store
    export: str = DEFAULT_EXPORT
    port: int = DEFAULT_PORT
    mount_port: int | None = None  # None: MOUNT on the NFS port
    udp: bool = True
    drc: bool = True
    root_squash: bool = False
    poll_us: int = DEFAULT_POLL_US  # see reference.rpc.polling; 0: plain epoll


def check_export(export: str) -> bytes:
    """The export path as MNT compares it; ServeError unless it is a plain absolute path."""
    components = export.split("/")
    if (
        not _PLAIN_EXPORT.fullmatch(export)
        or len(export) > MNTPATHLEN
        or any(part in (".", "..") for part in components)
    ):
        raise ServeError(
            f"bad export {export!r}: pass --export /PATH, an absolute path of letters, digits"
            " and ._+- (no '.' or '..' components)"
        )
    return export.encode()


def check_poll(poll_us: int) -> Polling:
    try:
        return Polling(poll_us)
    except ValueError:
        raise ServeError(
            f"bad polling window {poll_us}: pass --poll-us N with 0 <= N <= {MAX_POLL_US}"
            " (0: never poll)"
        ) from None


def check_port(port: int, option: str) -> int:
    if not 0 <= port <= MAX_PORT:
        raise ServeError(
            f"bad port {port}: pass {option} N with 0 <= N <= 65535 (0 picks a free one)"
        )
    return port


def open_store(path: Path | None) -> Store:
    """A memory store (path None) or the SQLite store at `path`, created if missing."""
    if path is None:
        return MemoryStore()
    fix = "pass --store PATH.sqlite in a writable directory, or --memory"
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ServeError(f"cannot open the store {path}: {directory} is not a directory: {fix}")
    if not path.exists() and not os.access(directory, os.W_OK):
        raise ServeError(f"cannot create the store {path}: {directory} is not writable: {fix}")
    try:
        return SqliteStore(path, now_ns=time.time_ns())
    except sqlite3.Error as error:
        raise ServeError(f"{_one_line(str(error))}: {fix}") from error


def _one_line(text: str) -> str:
    return " ".join(text.split())


class NfsServer:
    """The server's store, services and sockets; `start()` opens them, `close()` ends them."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.export = check_export(options.export)
        check_port(options.port, "--port")
        if options.mount_port is not None:
            check_port(options.mount_port, "--mount-port")
        self.store: Store | None = None
        self.portmap = PortmapService()
        self._sockets: list[RpcSocketServer] = []
        self.nfs_port = 0
        self.mount_port = 0

    @property
    def url(self) -> str:
        """The libnfs URL of the export's root."""
        query = f"version=3&nfsport={self.nfs_port}&mountport={self.mount_port}"
        return f"nfs://{HOST}{self.options.export}?{query}"

    async def start(self) -> None:
        """Open the store and listen; ServeError (with everything closed again) if not."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        options = self.options
        self.store = open_store(options.store)
        fs = FileSystem(self.store, time.time_ns)
        nfs: list[ProgramVersion] = [
            NfsV3Service(fs, options.root_squash),
            NfsV2Service(fs, options.root_squash),
            self.portmap,
        ]
        mount_v3 = MountService(fs, self.export, options.root_squash)
        mount: list[ProgramVersion] = [mount_v3, MountV1Service(mount_v3)]
        cache = DuplicateRequestCache(policy=NFS_DRC_POLICY) if options.drc else None
        separate_mount = options.mount_port not in (None, options.port) or options.mount_port == 0
        if not separate_mount:
            nfs.extend(mount)
        self.nfs_port = await self._listen(nfs, cache, options.port, "--port")
        self.mount_port = self.nfs_port
        if separate_mount:
            assert options.mount_port is not None
            self.mount_port = await self._listen(mount, cache, options.mount_port, "--mount-port")
        self._register()

    async def _listen(
        self,
        programs: list[ProgramVersion],
        cache: DuplicateRequestCache | None,
        port: int,
        option: str,
    ) -> int:
        sockets = RpcSocketServer(
            RpcServer(programs, cache), HOST, port, udp=self.options.udp, max_record=MAX_RECORD
        )
        try:
            await sockets.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"port {port} is in use: pass {option} N (0 picks a free one)"
                ) from error
            raise ServeError(
                f"cannot listen on {HOST}:{port}: {error.strerror or error}: pass {option} N"
                " (0 picks a free one)"
            ) from error
        self._sockets.append(sockets)
        return sockets.port

    def _register(self) -> None:
        protocols = [IPPROTO_TCP, IPPROTO_UDP] if self.options.udp else [IPPROTO_TCP]
        served = [
            (PMAP_PROG, PMAP_VERS, self.nfs_port),
            (NFS_PROGRAM, NFS_VERSION, self.nfs_port),
            (NFS_PROGRAM, NFS_V3, self.nfs_port),
            (MOUNT_PROGRAM, MOUNT_V1, self.mount_port),
            (MOUNT_PROGRAM, MOUNT_V3, self.mount_port),
        ]
        for protocol in protocols:
            for program, version, port in served:
                self.portmap.mappings[(program, version, protocol)] = port

    async def close(self) -> None:
        sockets, self._sockets = self._sockets, []
        for server in sockets:
            await server.close()
        if self.store is not None:
            self.store.close()
            self.store = None


async def serve(
    options: ServeOptions, announce: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Start, `announce(url)`, serve until `stop` is set, then close."""
    server = NfsServer(options)
    await server.start()
    try:
        announce(server.url)
        await stop.wait()
    finally:
        await server.close()


def run(options: ServeOptions, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM or SIGINT (then return normally); ServeError if it cannot start."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        await serve(options, announce, stop)

    with asyncio.Runner(loop_factory=check_poll(options.poll_us).new_event_loop) as runner:
        runner.run(main())
