"""What file system operations return (attributes, wcc data) and what SETATTR takes.

Rules:
- Attributes mirror fattr3 in plain integers: times in nanoseconds since the epoch
  (split them with `to_seconds_ns` for nfstime3), `rdev` as (major, minor), `fsid` the
  store's volume id, `fileid` the inode number. `mode` has the permission bits only.
  `used` equals `size` (the store does not account for sparse holes).
- PreOpAttributes are wcc_data's pre-op part (size, mtime, ctime) taken before the change;
  Wcc pairs them with the attributes after it.
- SetAttributes mirrors sattr3: None means "don't change"; a time is None, SERVER_TIME
  (SET_TO_SERVER_TIME) or an int of nanoseconds (SET_TO_CLIENT_TIME).
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.nfs.inode import Inode
from reference.xdr.gen.nfs3 import ftype3

NS_PER_SECOND = 1_000_000_000


def to_seconds_ns(ns: int) -> tuple[int, int]:
    """(seconds, nanoseconds) of a time in nanoseconds, as nfstime3 carries it."""
    return divmod(ns, NS_PER_SECOND)


def from_seconds_ns(seconds: int, nseconds: int) -> int:
    return seconds * NS_PER_SECOND + nseconds


@dataclass(frozen=True, slots=True)
class Attributes:
    type: ftype3
    mode: int
    nlink: int
    uid: int
    gid: int
    size: int
    used: int
    rdev: tuple[int, int]
    fsid: int
    fileid: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, inode: Inode, fsid: int) -> Attributes:
        return cls(
            type=inode.type,
            mode=inode.mode,
            nlink=inode.nlink,
            uid=inode.uid,
            gid=inode.gid,
            size=inode.size,
            used=inode.size,
            rdev=inode.rdev,
            fsid=fsid,
            fileid=inode.ino,
            atime_ns=inode.atime_ns,
            mtime_ns=inode.mtime_ns,
            ctime_ns=inode.ctime_ns,
        )


@dataclass(frozen=True, slots=True)
class PreOpAttributes:
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, inode: Inode) -> PreOpAttributes:
        return cls(inode.size, inode.mtime_ns, inode.ctime_ns)


@dataclass(frozen=True, slots=True)
class Wcc:
    """wcc_data: attributes before and after a change."""

    before: PreOpAttributes
    after: Attributes


@dataclass(frozen=True, slots=True)
class ServerTime:
    """SET_TO_SERVER_TIME."""


SERVER_TIME = ServerTime()
TimeSetting = int | ServerTime | None


@dataclass(frozen=True, slots=True)
class SetAttributes:
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    atime: TimeSetting = None
    mtime: TimeSetting = None

    def is_empty(self) -> bool:
        return self == NO_CHANGES


NO_CHANGES = SetAttributes()
