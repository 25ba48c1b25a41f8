"""The FUSE callbacks of `nfsprop mount`, mapped onto one mounted NfsClient.

Rules:
- This class is what mfusepy calls (its `Operations` protocol, by method name; it is not
  subclassed, so this module needs no untyped import). Callbacks are synchronous; each
  runs the client's coroutine on the LoopThread and blocks until it is done. libfuse is
  started single-threaded, so one callback runs at a time: the NfsClient's rule (one
  operation at a time per file) holds without locks.
- Failures are OSErrors with the client's errno, which mfusepy hands to the kernel as
  -errno. Anything else that escapes the client (a bug, an RPC error it did not map) is
  logged and becomes EIO, never a crash of the mount.
- Paths come from libfuse relative to the mount point ("/a/b"); the client takes them
  relative to the export's root, the same form.
- File handles are numbers of OpenFiles kept here. open() and create() open through the
  client (its close-to-open GETATTR); O_TRUNC reaches us as a separate truncate() and
  O_APPEND as explicit offsets from the kernel, so only the access mode is passed on.
- close-to-open: flush() (every close(2) of a descriptor) sends and COMMITs the file's
  dirty data when the mount has `cto`, so close(2) returns only once the server has it
  and reports its errors; release() (the last close) closes the OpenFile.
- Attributes go out with times in nanoseconds (`use_ns`) and st_blocks from the size (so
  cp does not take a file for sparse); libfuse numbers the inodes. Times come in the
  same way (utimens), UTIME_NOW becoming the server's time as Linux's NFS client does.
- statfs is FSSTAT of the path, counted in FRAGMENT_SIZE units.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import stat
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reference.client import SERVER_NOW, FileStat, NfsClient, OpenFile
from reference.client.files import TimeToSet
from reference.fuse.loop_thread import LoopThread
from reference.xdr.gen.nfs3 import ftype3

T = TypeVar("T")

log = logging.getLogger("nfsprop.fuse")

BLOCK_SIZE = 128 * 1024  # st_blksize: programs size their buffers by it
FRAGMENT_SIZE = 4096  # statfs's unit of f_blocks, f_bfree and f_bavail
NAME_MAX = 255  # what Linux's NFS client reports without asking PATHCONF
# libfuse hands utimens a time of UTIME_NOW or UTIME_OMIT with tv_sec 0 (utimensat(2)).
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
_FILE_TYPE_BITS = {
    ftype3.NF3REG: stat.S_IFREG,
    ftype3.NF3DIR: stat.S_IFDIR,
    ftype3.NF3LNK: stat.S_IFLNK,
    ftype3.NF3BLK: stat.S_IFBLK,
    ftype3.NF3CHR: stat.S_IFCHR,
    ftype3.NF3SOCK: stat.S_IFSOCK,
    ftype3.NF3FIFO: stat.S_IFIFO,
}


def _utimens_time(nanoseconds: int) -> TimeToSet:
    if nanoseconds == UTIME_NOW:
        return SERVER_NOW
    if nanoseconds == UTIME_OMIT:
        return None
    return nanoseconds


def stat_fields(status: FileStat) -> dict[str, int]:
    """`status` as the stat(2) fields mfusepy copies into struct stat."""
    return {
        "st_mode": _FILE_TYPE_BITS[status.kind] | stat.S_IMODE(status.mode),
        "st_nlink": status.nlink,
        "st_uid": status.uid,
        "st_gid": status.gid,
        "st_size": status.size,
        "st_blksize": BLOCK_SIZE,
        "st_blocks": (status.size + 511) // 512,
        "st_atime": status.atime_ns,
        "st_mtime": status.mtime_ns,
        "st_ctime": status.ctime_ns,
    }


class NfsOperations:
    """FUSE callbacks over `client`, whose coroutines run on `loop`."""

    use_ns = True  # mfusepy: times are integers of nanoseconds

    def __init__(
        self, client: NfsClient, loop: LoopThread, on_ready: Callable[[], None] | None = None
    ) -> None:
        self.client = client
        self._loop = loop
        self._on_ready = on_ready
        self._files: dict[int, OpenFile] = {}
        self._numbers = itertools.count(1)

    def _run(self, operation: Coroutine[Any, Any, T], what: str, path: str) -> T:
        try:
            return self._loop.run(operation)
        except OSError:
            raise
        except Exception as error:
            log.exception("%s %s failed unexpectedly", what, path)
            raise OSError(errno.EIO, f"{what}: {error}", path) from error

    def _file(self, fh: int, path: str) -> OpenFile:
        try:
            return self._files[fh]
        except KeyError:
            raise OSError(errno.EBADF, f"no open file number {fh}", path) from None

    def _keep(self, opened: OpenFile) -> int:
        number = next(self._numbers)
        self._files[number] = opened
        return number

    # -- life cycle ---------------------------------------------------------------------

    def init(self, path: str) -> None:
        """The kernel has the mount: tell whoever waits for it."""
        if self._on_ready is not None:
            self._on_ready()

    # -- attributes and directories -----------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        status = self._run(self.client.stat(path, follow_symlinks=False), "getattr", path)
        return stat_fields(status)

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *self._run(self.client.listdir(path), "readdir", path)]

    def mkdir(self, path: str, mode: int) -> int:
        self._run(self.client.mkdir(path, stat.S_IMODE(mode)), "mkdir", path)
        return 0

    def rmdir(self, path: str) -> int:
        self._run(self.client.rmdir(path), "rmdir", path)
        return 0

    def unlink(self, path: str) -> int:
        self._run(self.client.remove(path), "unlink", path)
        return 0

    def rename(self, old: str, new: str) -> int:
        self._run(self.client.rename(old, new), "rename", old)
        return 0

    def link(self, target: str, source: str) -> int:
        """mfusepy's order: `target` is the new name, `source` the existing object."""
        self._run(self.client.link(source, target), "link", target)
        return 0

    def symlink(self, target: str, source: str) -> int:
        """mfusepy's order: `target` is the new link, `source` what it points to."""
        self._run(self.client.symlink(source, target), "symlink", target)
        return 0

    def readlink(self, path: str) -> str:
        return self._run(self.client.readlink(path), "readlink", path)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._run(self.client.truncate(path, length), "truncate", path)
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._run(self.client.chmod(path, mode), "chmod", path)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._run(self.client.chown(path, uid, gid), "chown", path)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        atime, mtime = (UTIME_NOW, UTIME_NOW) if times is None else times
        change = self.client.utime(path, _utimens_time(atime), _utimens_time(mtime))
        self._run(change, "utimens", path)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        usage = self._run(self.client.statvfs(path), "statfs", path)
        return {
            "f_bsize": BLOCK_SIZE,
            "f_frsize": FRAGMENT_SIZE,
            "f_blocks": usage.total_bytes // FRAGMENT_SIZE,
            "f_bfree": usage.free_bytes // FRAGMENT_SIZE,
            "f_bavail": usage.avail_bytes // FRAGMENT_SIZE,
            "f_files": usage.total_files,
            "f_ffree": usage.free_files,
            "f_favail": usage.avail_files,
            "f_namemax": NAME_MAX,
        }

    # -- files --------------------------------------------------------------------------

    def open(self, path: str, flags: int) -> int:
        opened = self._run(self.client.open(path, flags & os.O_ACCMODE), "open", path)
        return self._keep(opened)

    def create(self, path: str, mode: int, flags: int) -> int:
        wanted = os.O_CREAT | (flags & (os.O_ACCMODE | os.O_EXCL))
        opened = self._run(self.client.open(path, wanted, stat.S_IMODE(mode)), "create", path)
        return self._keep(opened)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self._run(self.client.read(self._file(fh, path), size, offset), "read", path)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return self._run(self.client.write(self._file(fh, path), data, offset), "write", path)

    def flush(self, path: str, fh: int) -> int:
        opened = self._file(fh, path)
        if self.client.options.cto and opened.writable:
            self._run(self.client.fsync(opened), "flush", path)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._run(self.client.fsync(self._file(fh, path)), "fsync", path)
        return 0

    def release(self, path: str, fh: int) -> int:
        opened = self._files.pop(fh, None)
        if opened is not None:
            self._run(self.client.close(opened), "release", path)
        return 0
