"""NFSv2 (RFC 1094) on the wire: the 18 procedures of the generated skeleton, mapped onto
the same FileSystem as NFSv3.

Rules:
- This layer only translates, as reference.nfs.nfs3_service does: semantics (permissions,
  errors, durability) live in reference.nfs.fs. The caller's identity comes from the RPC
  credential (AUTH_SYS; AUTH_NONE is nobody; `root_squash` maps uid 0 to nobody).
- Handles: replies carry the 32-byte v2 form of the v3 handle (reference.nfs.handles);
  the FileSystem accepts that form as it comes, so a v2 handle and a v3 handle of one
  object name the same file.
- Status codes: an nfsstat3 that exists in RFC 1094's `stat` passes unchanged (the
  numbers are the same). The others map as Linux knfsd maps them for v2: BADHANDLE →
  NFSERR_STALE, XDEV → NFSERR_ACCES; every other v3-only code (INVAL, MLINK, NOT_SYNC,
  BAD_COOKIE, NOTSUPP, TOOSMALL, SERVERFAULT, BADTYPE, JUKEBOX...) → NFSERR_IO, the
  only general failure v2 has. An unexpected exception is logged and answered NFSERR_IO.
- ROOT and WRITECACHE are obsolete (RFC 1094 2.2.4, 2.2.8): answered with void, as Linux
  does. WRITE is synchronous (FILE_SYNC). READ returns at most MAXDATA bytes.
- sattr: a field of all ones (0xFFFFFFFF) means "unchanged"; a time is unchanged when
  its seconds or its microseconds are all ones, and useconds == 1000000 means "the
  server's time" (the BSD/Solaris convention); other useconds over 999999 are NFSERR_IO.
  A mode's file-type bits are ignored by SETATTR.
- fattr: times are microseconds; `mode` carries the file-type bits (RFC 1094 2.3.5);
  blocksize is BLOCK_SIZE and blocks counts those blocks (rounded up). Fields v2 cannot
  hold: a size over 2**32 - 1 is reported as 2**32 - 1 (saturated), a fileid keeps its
  low 32 bits, an rdev is (major << 8) | minor in Linux's new_encode_dev layout. v2 has
  no FIFO or socket type: a FIFO is NFCHR with rdev 0xFFFFFFFF (the RFC-era convention),
  a socket NFNON; both keep their type bits in `mode`.
- CREATE makes a regular file like open(O_CREAT) without O_EXCL (an existing regular file
  only gets the size, i.e. truncation). As in Linux, type bits in the mode ask for
  something else: S_IFCHR/S_IFBLK a device whose rdev is the size field (old_decode_dev:
  major = bits 8-15, minor = bits 0-7), S_IFCHR without a size a FIFO, S_IFIFO a FIFO,
  S_IFSOCK a socket; S_IFDIR and S_IFLNK are NFSERR_IO (BADTYPE).
- WRITE beyond byte 2**32 - 1 is NFSERR_FBIG (v2 offsets are 32 bits); READLINK of a
  target longer than MAXPATHLEN is NFSERR_NAMETOOLONG.
- READDIR: a cookie is the 4-byte big-endian form of the v3 cookie (entries whose cookie
  does not fit end the page; such a page with no entry is NFSERR_IO). The reply holds
  at most min(count, MAXDATA) bytes: the fixed part (status, end of list, eof) costs 12,
  an entry 16 and its padded name.
- STATFS: tsize MAXDATA, bsize BLOCK_SIZE, block counts saturated at 2**32 - 1.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from reference.nfs.access import Identity, identity_of
from reference.nfs.attributes import SERVER_TIME, Attributes, SetAttributes, TimeSetting
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.nfs.handles import to_v2
from reference.nfs.readdir import Budget, ByteBudget, DirEntry, padded
from reference.rpc.stubs import CallContext
from reference.xdr.gen.nfs2 import (
    MAXDATA,
    MAXPATHLEN,
    NFS_VERSION_Server,
    attrstat,
    createargs,
    diropargs,
    diropokres,
    diropres,
    entry,
    fattr,
    ftype,
    linkargs,
    readargs,
    readdirargs,
    readdirokres,
    readdirres,
    readlinkres,
    readokres,
    readres,
    renameargs,
    sattr,
    sattrargs,
    stat,
    statfsokres,
    statfsres,
    symlinkargs,
    timeval,
    writeargs,
)
from reference.xdr.gen.nfs3 import (
    NFS3ERR_BADHANDLE,
    NFS3ERR_BADTYPE,
    NFS3ERR_FBIG,
    NFS3ERR_INVAL,
    NFS3ERR_NAMETOOLONG,
    NFS3ERR_XDEV,
    createmode3,
    ftype3,
    stable_how,
)

log = logging.getLogger("nfsprop.nfs2")
R = TypeVar("R")

ALL_ONES = 0xFFFF_FFFF
U32_MAX = ALL_ONES
BLOCK_SIZE = 4096
SERVER_TIME_USECONDS = 1_000_000
FIFO_RDEV = ALL_ONES
READDIR_FIXED = 12  # status, end-of-list marker, eof
ENTRY_FIXED = 16  # value-follows, fileid, name length, cookie

S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000
PERMISSION_BITS = 0o7777

_SAME_NUMBERS = frozenset(int(status) for status in stat)
_MAPPED: dict[int, stat] = {NFS3ERR_BADHANDLE: stat.NFSERR_STALE, NFS3ERR_XDEV: stat.NFSERR_ACCES}
_V2_TYPES = {
    ftype3.NF3REG: (ftype.NFREG, S_IFREG),
    ftype3.NF3DIR: (ftype.NFDIR, S_IFDIR),
    ftype3.NF3BLK: (ftype.NFBLK, S_IFBLK),
    ftype3.NF3CHR: (ftype.NFCHR, S_IFCHR),
    ftype3.NF3LNK: (ftype.NFLNK, S_IFLNK),
    ftype3.NF3SOCK: (ftype.NFNON, S_IFSOCK),
    ftype3.NF3FIFO: (ftype.NFCHR, S_IFIFO),
}
_CREATE_TYPES = {
    S_IFCHR: ftype3.NF3CHR,
    S_IFBLK: ftype3.NF3BLK,
    S_IFIFO: ftype3.NF3FIFO,
    S_IFSOCK: ftype3.NF3SOCK,
    S_IFDIR: ftype3.NF3DIR,
    S_IFLNK: ftype3.NF3LNK,
}


def v2_status(status: int) -> stat:
    """The RFC 1094 status for an nfsstat3 code (see the module rules)."""
    if status in _SAME_NUMBERS:
        return stat(status)
    return _MAPPED.get(status, stat.NFSERR_IO)


def timeval_of(ns: int) -> timeval:
    seconds, nanoseconds = divmod(ns, 1_000_000_000)
    return timeval(seconds & U32_MAX, nanoseconds // 1000)


def encode_rdev(major: int, minor: int) -> int:
    """Linux's new_encode_dev: minor's low byte, major, then minor's higher bits."""
    return ((minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12)) & U32_MAX


def fattr2(attributes: Attributes) -> fattr:
    kind, type_bits = _V2_TYPES[attributes.type]
    if attributes.type == ftype3.NF3FIFO:
        rdev = FIFO_RDEV
    elif attributes.type in (ftype3.NF3CHR, ftype3.NF3BLK):
        rdev = encode_rdev(*attributes.rdev)
    else:
        rdev = 0
    return fattr(
        kind,
        type_bits | attributes.mode,
        attributes.nlink,
        attributes.uid,
        attributes.gid,
        min(attributes.size, U32_MAX),
        BLOCK_SIZE,
        rdev,
        min(-(-attributes.used // BLOCK_SIZE), U32_MAX),
        attributes.fsid & U32_MAX,
        attributes.fileid & U32_MAX,
        timeval_of(attributes.atime_ns),
        timeval_of(attributes.mtime_ns),
        timeval_of(attributes.ctime_ns),
    )


def _time_setting(value: timeval) -> TimeSetting:
    if ALL_ONES in (value.seconds, value.useconds):
        return None
    if value.useconds == SERVER_TIME_USECONDS:
        return SERVER_TIME
    if value.useconds > SERVER_TIME_USECONDS:
        raise NfsError(NFS3ERR_INVAL, f"useconds {value.useconds} is over a second")
    return value.seconds * 1_000_000_000 + value.useconds * 1000


def _field(value: int) -> int | None:
    return None if value == ALL_ONES else value


def set_attributes2(new: sattr) -> SetAttributes:
    """What a v2 sattr asks to change (the mode's type bits are dropped)."""
    mode = _field(new.mode)
    return SetAttributes(
        mode=None if mode is None else mode & PERMISSION_BITS,
        uid=_field(new.uid),
        gid=_field(new.gid),
        size=_field(new.size),
        atime=_time_setting(new.atime),
        mtime=_time_setting(new.mtime),
    )


class _CookieLimit:
    """Refuses entries whose cookie does not fit v2's 4 bytes; otherwise asks `inner`."""

    def __init__(self, inner: Budget) -> None:
        self._inner = inner

    def take(self, entry: DirEntry) -> bool:
        return entry.cookie <= U32_MAX and self._inner.take(entry)


def readdir2_budget(count: int) -> Budget:
    limit = min(count, MAXDATA) - READDIR_FIXED
    return _CookieLimit(ByteBudget(limit, lambda e: ENTRY_FIXED + padded(len(e.name))))


class NfsV2Service(NFS_VERSION_Server):
    """The reference NFSv2 server over one FileSystem."""

    def __init__(self, fs: FileSystem, root_squash: bool = False) -> None:
        self.fs = fs
        self.root_squash = root_squash

    def _who(self, ctx: CallContext) -> Identity:
        return identity_of(ctx.credential, self.root_squash)

    def _answer(self, name: str, ok: Callable[[], R], fail: Callable[[stat], R]) -> R:
        try:
            return ok()
        except NfsError as error:
            return fail(v2_status(error.status))
        except Exception:
            log.exception("%s failed unexpectedly; answering NFSERR_IO", name)
            return fail(stat.NFSERR_IO)

    def _status(self, name: str, operation: Callable[[], object]) -> stat:
        def ok() -> stat:
            operation()
            return stat.NFS_OK

        return self._answer(name, ok, lambda status: status)

    def _attributes(self, handle: bytes) -> attrstat:
        return attrstat(stat.NFS_OK, fattr2(self.fs.getattr(handle)))

    # -- attributes ------------------------------------------------------------------

    def NFSPROC_GETATTR(self, args: bytes, ctx: CallContext) -> attrstat:
        return self._answer("GETATTR", lambda: self._attributes(args), attrstat)

    def NFSPROC_SETATTR(self, args: sattrargs, ctx: CallContext) -> attrstat:
        def ok() -> attrstat:
            changes = set_attributes2(args.attributes)
            change = self.fs.setattr(args.file, changes, self._who(ctx))
            return attrstat(stat.NFS_OK, fattr2(change.after))

        return self._answer("SETATTR", ok, attrstat)

    def NFSPROC_ROOT(self, args: None, ctx: CallContext) -> None:
        return None

    # -- names -----------------------------------------------------------------------

    def NFSPROC_LOOKUP(self, args: diropargs, ctx: CallContext) -> diropres:
        def ok() -> diropres:
            found = self.fs.lookup(args.dir, args.name, self._who(ctx))
            return diropres(stat.NFS_OK, diropokres(to_v2(found.handle), fattr2(found.attributes)))

        return self._answer("LOOKUP", ok, diropres)

    def NFSPROC_READLINK(self, args: bytes, ctx: CallContext) -> readlinkres:
        def ok() -> readlinkres:
            target = self.fs.readlink(args).target
            if len(target) > MAXPATHLEN:
                raise NfsError(NFS3ERR_NAMETOOLONG, f"target of {len(target)} bytes for v2")
            return readlinkres(stat.NFS_OK, target)

        return self._answer("READLINK", ok, readlinkres)

    # -- data ------------------------------------------------------------------------

    def NFSPROC_READ(self, args: readargs, ctx: CallContext) -> readres:
        def ok() -> readres:
            count = min(args.count, MAXDATA)
            read = self.fs.read(args.file, args.offset, count, self._who(ctx))
            return readres(stat.NFS_OK, readokres(fattr2(read.attributes), read.data))

        return self._answer("READ", ok, readres)

    def NFSPROC_WRITECACHE(self, args: None, ctx: CallContext) -> None:
        return None

    def NFSPROC_WRITE(self, args: writeargs, ctx: CallContext) -> attrstat:
        def ok() -> attrstat:
            end = args.offset + len(args.data)
            if end > U32_MAX:
                raise NfsError(NFS3ERR_FBIG, f"a v2 write up to byte {end}")
            who = self._who(ctx)
            bug = self.fs.bugs.nfs2_writes_are_unstable
            stable = stable_how.UNSTABLE if bug else stable_how.FILE_SYNC
            written = self.fs.write(args.file, args.offset, args.data, stable, who)
            return attrstat(stat.NFS_OK, fattr2(written.wcc.after))

        return self._answer("WRITE", ok, attrstat)

    # -- creating --------------------------------------------------------------------

    def NFSPROC_CREATE(self, args: createargs, ctx: CallContext) -> diropres:
        def ok() -> diropres:
            directory, name, who = args.where.dir, args.where.name, self._who(ctx)
            attributes = set_attributes2(args.attributes)
            mode = args.attributes.mode
            type_bits = 0 if mode == ALL_ONES else mode & S_IFMT
            if type_bits in (0, S_IFREG):
                created = self.fs.create(directory, name, who, createmode3.UNCHECKED, attributes)
            else:
                kind, rdev = _special_file(type_bits, attributes.size)
                without_size = replace(attributes, size=None)
                created = self.fs.mknod(directory, name, kind, without_size, who, rdev)
            return diropres(
                stat.NFS_OK, diropokres(to_v2(created.handle), fattr2(created.attributes))
            )

        return self._answer("CREATE", ok, diropres)

    def NFSPROC_MKDIR(self, args: createargs, ctx: CallContext) -> diropres:
        def ok() -> diropres:
            attributes = set_attributes2(args.attributes)
            created = self.fs.mkdir(args.where.dir, args.where.name, attributes, self._who(ctx))
            return diropres(
                stat.NFS_OK, diropokres(to_v2(created.handle), fattr2(created.attributes))
            )

        return self._answer("MKDIR", ok, diropres)

    def NFSPROC_SYMLINK(self, args: symlinkargs, ctx: CallContext) -> stat:
        return self._status(
            "SYMLINK",
            lambda: self.fs.symlink(
                args.from_.dir,
                args.from_.name,
                args.to,
                set_attributes2(args.attributes),
                self._who(ctx),
            ),
        )

    def NFSPROC_LINK(self, args: linkargs, ctx: CallContext) -> stat:
        return self._status(
            "LINK", lambda: self.fs.link(args.from_, args.to.dir, args.to.name, self._who(ctx))
        )

    # -- removing and renaming ---------------------------------------------------------

    def NFSPROC_REMOVE(self, args: diropargs, ctx: CallContext) -> stat:
        return self._status("REMOVE", lambda: self.fs.remove(args.dir, args.name, self._who(ctx)))

    def NFSPROC_RMDIR(self, args: diropargs, ctx: CallContext) -> stat:
        return self._status("RMDIR", lambda: self.fs.rmdir(args.dir, args.name, self._who(ctx)))

    def NFSPROC_RENAME(self, args: renameargs, ctx: CallContext) -> stat:
        source, target = args.from_, args.to
        return self._status(
            "RENAME",
            lambda: self.fs.rename(
                source.dir, source.name, target.dir, target.name, self._who(ctx)
            ),
        )

    # -- directories and the file system ------------------------------------------------

    def NFSPROC_READDIR(self, args: readdirargs, ctx: CallContext) -> readdirres:
        def ok() -> readdirres:
            (cookie,) = struct.unpack(">I", args.cookie)
            page = self.fs.readdir(
                args.dir, self._who(ctx), cookie, bytes(8), readdir2_budget(args.count)
            )
            entries = [
                entry(e.fileid & U32_MAX, e.name, struct.pack(">I", e.cookie)) for e in page.entries
            ]
            return readdirres(stat.NFS_OK, readdirokres(entries, page.eof))

        return self._answer("READDIR", ok, readdirres)

    def NFSPROC_STATFS(self, args: bytes, ctx: CallContext) -> statfsres:
        def ok() -> statfsres:
            s = self.fs.fsstat(args)
            return statfsres(
                stat.NFS_OK,
                statfsokres(
                    MAXDATA,
                    BLOCK_SIZE,
                    _blocks(s.total_bytes),
                    _blocks(s.free_bytes),
                    _blocks(s.avail_bytes),
                ),
            )

        return self._answer("STATFS", ok, statfsres)


def _special_file(type_bits: int, size: int | None) -> tuple[ftype3, tuple[int, int]]:
    """The file type and rdev a v2 CREATE with these mode type bits and size asks for."""
    kind = _CREATE_TYPES.get(type_bits)
    if kind is None:
        raise NfsError(NFS3ERR_BADTYPE, f"CREATE with file type bits {type_bits:#o}")
    if kind == ftype3.NF3CHR and size is None:
        return ftype3.NF3FIFO, (0, 0)
    if kind in (ftype3.NF3CHR, ftype3.NF3BLK) and size is not None:
        return kind, ((size >> 8) & 0xFF, size & 0xFF)
    return kind, (0, 0)


def _blocks(size: int) -> int:
    return min(size // BLOCK_SIZE, U32_MAX)
