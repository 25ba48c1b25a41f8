"""What the client hands out: open files, file status, and how it reads paths.

Rules:
- Paths are str, relative to the export's root ("/a/b", "a/b" and "a//b/" are the
  same); components are encoded with os.fsencode. "." is skipped; ".." is kept for the
  resolver, which never climbs above the export's root. An absolute symlink target is
  taken relative to the export's root too.
- An OpenFile is one open file description: its handle, open flags and file position.
  After close() it refuses every use (EBADF).
- FileStat mirrors fattr3 with times in nanoseconds; `size` includes data this client
  wrote and has not sent yet. FsUsage mirrors FSSTAT3resok.
- A time to set (utime) is nanoseconds since the epoch (the client's time), SERVER_NOW
  (the server's clock, as utime(path, None) asks) or None (left alone).
"""

from __future__ import annotations

import enum
import errno
import os
from dataclasses import dataclass

from reference.xdr.gen.nfs3 import fattr3, ftype3


class ServerNow(enum.Enum):
    """A time set to the server's current time (SET_TO_SERVER_TIME)."""

    SERVER_NOW = "server-now"


SERVER_NOW = ServerNow.SERVER_NOW
TimeToSet = int | ServerNow | None


@dataclass(frozen=True, slots=True)
class FsUsage:
    """FSSTAT: sizes in bytes and counts of files (inodes) of the exported file system."""

    total_bytes: int
    free_bytes: int
    avail_bytes: int  # free for the caller (the rest may be reserved)
    total_files: int
    free_files: int
    avail_files: int


def split_path(path: str | bytes) -> list[bytes]:
    """The components of a path, without empty and "." ones."""
    raw = os.fsencode(path)
    return [part for part in raw.split(b"/") if part and part != b"."]


@dataclass(eq=False, slots=True)
class OpenFile:
    """An open file of an NfsClient (what a file descriptor stands for)."""

    path: str
    handle: bytes
    flags: int
    position: int = 0
    closed: bool = False

    @property
    def readable(self) -> bool:
        return self.flags & os.O_ACCMODE in (os.O_RDONLY, os.O_RDWR)

    @property
    def writable(self) -> bool:
        return self.flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)

    def check(self, reading: bool = False, writing: bool = False) -> None:
        """EBADF unless the file is open (and open for reading/writing as asked)."""
        if self.closed:
            raise OSError(errno.EBADF, "file is closed", self.path)
        if reading and not self.readable:
            raise OSError(errno.EBADF, "file is not open for reading", self.path)
        if writing and not self.writable:
            raise OSError(errno.EBADF, "file is not open for writing", self.path)


@dataclass(frozen=True, slots=True)
class FileStat:
    kind: ftype3
    mode: int
    nlink: int
    uid: int
    gid: int
    size: int
    fileid: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, attributes: fattr3, size: int) -> FileStat:
        def ns(seconds: int, nseconds: int) -> int:
            return seconds * 1_000_000_000 + nseconds

        return cls(
            attributes.type,
            attributes.mode,
            attributes.nlink,
            attributes.uid,
            attributes.gid,
            size,
            attributes.fileid,
            ns(attributes.atime.seconds, attributes.atime.nseconds),
            ns(attributes.mtime.seconds, attributes.mtime.nseconds),
            ns(attributes.ctime.seconds, attributes.ctime.nseconds),
        )

    @property
    def is_dir(self) -> bool:
        return self.kind == ftype3.NF3DIR

    @property
    def is_file(self) -> bool:
        return self.kind == ftype3.NF3REG

    @property
    def is_symlink(self) -> bool:
        return self.kind == ftype3.NF3LNK
