"""`nfsprop mount URL MOUNTPOINT`: serve an NFSv3 export through FUSE with the caching client.

Rules:
- The binding is mfusepy (pure-Python ctypes over Debian's libfuse3; the maintained
  successor of fusepy), chosen over pyfuse3 because it needs no C build against
  libfuse3-dev and no trio: its callbacks are plain synchronous functions, which run the
  client's coroutines on a private asyncio loop thread (LoopThread). It is imported
  lazily, here only, so nothing else needs libfuse.
- Order: check FUSE is usable (/dev/fuse, fusermount3, libfuse) and the mount point is a
  directory; connect RpcSocketClients over TCP (MOUNT reuses the NFS connection when the
  ports agree) with AUTH_SYS of the calling user and the mount's retry policy (nfs(5)'s
  TCP defaults: timeo 60 s, retrans 2, hard); NfsClient.mount; then hand the mount point
  to libfuse, single-threaded and in the foreground, until it is unmounted
  (`fusermount3 -u MOUNTPOINT`) or the process gets SIGTERM/SIGINT/SIGHUP (libfuse's own
  handlers end its loop and unmount; libfuse then reports a non-zero status, which is an
  error only if the mount never became ready). Afterwards: sync and UMNT, close the sockets, stop
  the loop thread — each step even if an earlier one failed.
- The kernel's own attribute and name caches are turned off (attr_timeout,
  entry_timeout and negative_timeout 0), so the NfsClient's caches are the only ones and
  the mount has exactly its staleness bounds. Inode numbers are libfuse's own (`use_ino`
  would hand out the NFS fileids, but readdir knows only names, and glibc hides entries
  whose inode number is 0); the kernel's page cache is dropped on every
  open (libfuse's default), so close-to-open holds at the kernel level too.
- Failures a user can fix raise MountError, one line naming the problem and the fix.
- Background mode (the default without --foreground): fork before any thread or socket
  exists; the child starts a new session and mounts; the parent waits, bounded by
  READY_TIMEOUT, for the child's "ready" line or its error on a pipe, and exits 0 or 2.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reference.client import MountOptions, NfsClient
from reference.fuse.loop_thread import LoopThread
from reference.fuse.operations import NfsOperations
from reference.fuse.url import NfsUrl
from reference.nfs.server_main import MAX_RECORD
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.errors import RpcError
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

FIX = "run `bash scripts/bootstrap` (it installs fuse3 and mfusepy)"
READY_TIMEOUT = 60.0
TCP_OPTIONS = MountOptions(timeo=60.0, retrans=2, max_timeo=60.0)


class MountError(RuntimeError):
    """A problem the user can fix; the message says what it is and how."""


@dataclass(frozen=True, slots=True)
class MountRequest:
    url: NfsUrl
    mountpoint: Path
    options: MountOptions


def check_fuse() -> None:
    """MountError unless this machine can mount FUSE file systems."""
    if not os.path.exists("/dev/fuse"):
        raise MountError(f"/dev/fuse is missing: load the fuse module or {FIX}")
    if shutil.which("fusermount3") is None:
        raise MountError(f"fusermount3 is not installed: {FIX}")


@dataclass(slots=True)
class _Connection:
    loop: LoopThread
    nfs: RpcSocketClient
    mount: RpcSocketClient
    client: NfsClient | None = None

    def close(self) -> None:
        async def close_sockets() -> None:
            await self.nfs.close()
            if self.mount is not self.nfs:
                await self.mount.close()

        try:
            if self.client is not None:
                self.loop.run(self.client.unmount())
        except (OSError, RpcError) as error:
            print(f"nfsprop mount: unmount: {error}", file=sys.stderr)
        finally:
            try:
                self.loop.run(close_sockets())
            finally:
                self.loop.stop()


def _connect(request: MountRequest) -> _Connection:
    url, options = request.url, request.options
    credential = AuthSys(
        int(time.time()), socket.gethostname().encode()[:255], os.getuid(), os.getgid()
    )

    async def connect(port: int) -> RpcSocketClient:
        return await RpcSocketClient.connect(
            url.host, port, "tcp", options.retry_policy(), credential, max_record=MAX_RECORD
        )

    loop = LoopThread()
    loop.start()
    try:
        nfs = loop.run(connect(url.nfs_port))
        mount = nfs if url.mount_port == url.nfs_port else loop.run(connect(url.mount_port))
    except RpcError as error:
        loop.stop()
        raise MountError(f"cannot reach the NFS server: {error}") from error
    connection = _Connection(loop, nfs, mount)
    try:
        connection.client = loop.run(
            NfsClient.mount(
                NFS_V3_Client(nfs), MOUNT_V3_Client(mount), url.export, time.monotonic, options
            )
        )
    except (OSError, RpcError) as error:
        connection.close()
        raise MountError(f"the server refused to mount {url.export}: {error}") from error
    return connection


def serve(request: MountRequest, on_ready: Callable[[], None]) -> None:
    """Mount and serve until unmounted or signalled; `on_ready` runs once the kernel has
    the mount. MountError for problems the user can fix."""
    check_fuse()
    if not request.mountpoint.is_dir():
        raise MountError(f"mount point {request.mountpoint} is not a directory: create it first")
    try:
        import mfusepy
    except (ImportError, OSError) as error:
        raise MountError(f"the FUSE binding is unusable ({error}): {FIX}") from error
    connection = _connect(request)
    assert connection.client is not None
    url = request.url
    mounted = False

    def ready() -> None:
        nonlocal mounted
        mounted = True
        on_ready()

    try:
        mfusepy.FUSE(
            NfsOperations(connection.client, connection.loop, ready),
            str(request.mountpoint),
            foreground=True,
            nothreads=True,
            fsname=f"nfsprop:{url.host}:{url.export}".replace(",", "_"),
            subtype="nfsprop",
            attr_timeout=0,
            entry_timeout=0,
            negative_timeout=0,
        )
    except RuntimeError as error:  # libfuse's status: also non-zero after a signal
        if not mounted:
            where = request.mountpoint
            raise MountError(f"libfuse could not mount {where} ({error}): {FIX}") from error
    finally:
        connection.close()


def serve_in_background(request: MountRequest) -> int:
    """Fork; the child serves, the parent returns 0 once the mount is ready, or prints the
    child's error and returns 2. Call it before any thread exists."""
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the daemon
        os.close(readable)
        os.setsid()
        _run_daemon(request, writable)
    os.close(writable)
    report = _read_report(readable, READY_TIMEOUT)
    if report == "ready":
        return 0
    message = report or f"the mount did not become ready within {READY_TIMEOUT:.0f} s"
    print(f"nfsprop mount: {message}", file=sys.stderr)
    return 2


def _run_daemon(request: MountRequest, report: int) -> None:
    reported = False

    def ready() -> None:
        nonlocal reported
        reported = True
        os.write(report, b"ready\n")
        os.close(report)
        quiet = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(quiet, descriptor)

    status = 2
    try:
        serve(request, ready)
        status = 0
    except Exception as error:  # the parent prints it: the daemon has no stderr
        if not reported:
            text = str(error) if isinstance(error, MountError) else f"unexpected error: {error!r}"
            os.write(report, f"{text}\n".encode())
    finally:
        os._exit(status)


def _read_report(descriptor: int, timeout: float) -> str:
    """The first line written to `descriptor` ("" at end of file or after `timeout`)."""
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(descriptor, 4096)
            if not chunk:
                break
            received += chunk
    os.close(descriptor)
    return received.split(b"\n", 1)[0].decode(errors="replace")
