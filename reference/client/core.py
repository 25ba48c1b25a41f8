"""The machinery under the NFS client's API: RPCs, the caches kept coherent, path walking
and directory reading.

Rules:
- Every RPC goes through the mount's Caller (its RetryPolicy retransmits; a soft timeout
  or another RPC failure becomes EIO). A failed NFS status raises the mapped OSError;
  STALE or BADHANDLE for a handle forgets everything cached about it.
- Attributes from any reply (GETATTR, LOOKUP, READ, post-op and wcc data) go into the
  attribute cache stamped with the time the RPC started (see attr_cache). Cached
  attributes are used while valid; otherwise a GETATTR revalidates them.
- Names and listings are trusted only as far as the directory attributes they belong to
  (lookup_cache). Our own directory changes are recognised by their wcc pre-op attributes
  and keep the names, updated. A cached name whose file turns out STALE is looked up again.
- Paths are walked from the export's root one LOOKUP (or cached name) at a time;
  symlinks are followed (at most MAX_SYMLINKS), ".." never leaves the export.
- Time comes only from the injected clock; nothing here sleeps or opens sockets.
"""

from __future__ import annotations

import errno
import hashlib
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from reference.client.attr_cache import AttributeCache, Signature
from reference.client.data_cache import DataCache
from reference.client.errors import StaleFileHandle, nfs_error, rpc_failure
from reference.client.files import SERVER_NOW, TimeToSet, split_path
from reference.client.lookup_cache import DirectoryView, LookupCache
from reference.client.options import MountOptions
from reference.client.stats import CacheStats, CountingCaller
from reference.client.write_back import WriteBack
from reference.rpc.errors import RpcError
from reference.xdr.gen.nfs3 import (
    GETATTR3args,
    LOOKUP3args,
    NFS_V3_Client,
    READDIR3args,
    READLINK3args,
    diropargs3,
    fattr3,
    ftype3,
    nfs_fh3,
    nfsstat3,
    nfstime3,
    post_op_attr,
    post_op_fh3,
    sattr3,
    set_atime,
    set_gid3,
    set_mode3,
    set_mtime,
    set_size3,
    set_uid3,
    time_how,
    wcc_data,
)

T = TypeVar("T")

MAX_SYMLINKS = 40
READDIR_COUNT = 64 * 1024
NO_COOKIE_VERIFIER = bytes(8)
FAILED_STATUSES_THAT_FORGET = (nfsstat3.NFS3ERR_STALE, nfsstat3.NFS3ERR_BADHANDLE)


class _Status(Protocol):
    @property
    def status(self) -> nfsstat3: ...


class _EntryMade(Protocol):
    """CREATE3resok, MKDIR3resok, SYMLINK3resok."""

    @property
    def obj(self) -> post_op_fh3: ...
    @property
    def obj_attributes(self) -> post_op_attr: ...
    @property
    def dir_wcc(self) -> wcc_data: ...


class _EntryNotMade(Protocol):
    @property
    def dir_wcc(self) -> wcc_data: ...


class _NewEntryResult(_Status, Protocol):
    """CREATE3res, MKDIR3res, SYMLINK3res."""

    @property
    def resok(self) -> _EntryMade | None: ...
    @property
    def resfail(self) -> _EntryNotMade | None: ...


def new_attributes(
    mode: int | None = None,
    size: int | None = None,
    *,
    uid: int | None = None,
    gid: int | None = None,
    atime: TimeToSet = None,
    mtime: TimeToSet = None,
) -> sattr3:
    """A sattr3 that sets what is given and leaves everything else (None) alone."""
    return sattr3(
        set_mode3(mode is not None, mode),
        set_uid3(uid is not None, uid),
        set_gid3(gid is not None, gid),
        set_size3(size is not None, size),
        set_atime(*_time_to_set(atime)),
        set_mtime(*_time_to_set(mtime)),
    )


def _time_to_set(when: TimeToSet) -> tuple[time_how, nfstime3 | None]:
    if when is None:
        return time_how.DONT_CHANGE, None
    if when is SERVER_NOW:
        return time_how.SET_TO_SERVER_TIME, None
    seconds, nseconds = divmod(when, 1_000_000_000)
    if not 0 <= seconds < 2**32:
        raise OSError(errno.EINVAL, f"NFSv3 times run from 1970 to 2106, not {when} ns")
    return time_how.SET_TO_CLIENT_TIME, nfstime3(seconds, nseconds)


def pre_op(wcc: wcc_data) -> Signature | None:
    before = wcc.before.attributes
    return None if before is None else Signature.of(before)


class ClientCore:
    """Caches and RPC paths of one mount; NfsClient adds the file-level API on top."""

    def __init__(
        self,
        caller: CountingCaller,
        root: bytes,
        clock: Callable[[], float],
        options: MountOptions,
        name: str,
    ) -> None:
        self.rpc = caller
        self.nfs = NFS_V3_Client(caller)
        self.root = root
        self.clock = clock
        self.options = options
        self.stats = CacheStats()
        self.attributes = AttributeCache(options)
        self.data = DataCache()
        self.lookups = LookupCache()
        self.write_backs: dict[bytes, WriteBack] = {}
        self.rsize = options.rsize
        self.wsize = options.wsize
        self._name = name.encode()
        self._creates = 0

    # -- RPC plumbing ------------------------------------------------------------------

    async def _call(self, operation: str, path: str | None, call: Awaitable[T]) -> T:
        try:
            return await call
        except RpcError as error:
            raise rpc_failure(error, operation, path) from error

    def _failed(
        self, result: _Status, operation: str, path: str | None, handle: bytes | None = None
    ) -> OSError:
        if handle is not None and result.status in FAILED_STATUSES_THAT_FORGET:
            self.forget(handle)
        return nfs_error(result.status, operation, path)

    def entry_made(
        self,
        result: _NewEntryResult,
        operation: str,
        path: str,
        directory: bytes,
        name: bytes,
        started: float,
    ) -> bytes | None:
        """Take in the reply of a CREATE, MKDIR or SYMLINK of `name` in `directory`: the
        directory's change, the new object's attributes and entry; its handle, or None
        when the server left it out. Raises the OSError of a failed call."""
        if result.resok is None:
            assert result.resfail is not None
            self.own_directory_change(directory, result.resfail.dir_wcc, started)
            raise self._failed(result, operation, path, directory)
        made = result.resok
        view = self.own_directory_change(directory, made.dir_wcc, started)
        if made.obj.handle is None:
            return None
        handle = made.obj.handle.data
        self.note_attributes(handle, made.obj_attributes, started)
        if view is not None:
            view.entries[name] = handle
        return handle

    def forget(self, handle: bytes) -> None:
        """Drop everything cached about `handle` (the object is gone)."""
        self.attributes.forget(handle)
        self.data.forget(handle)
        self.lookups.forget(handle)
        self.write_backs.pop(handle, None)

    def create_verifier(self) -> bytes:
        """A verifier for EXCLUSIVE CREATE, unique per client name and create."""
        self._creates += 1
        material = self._name + struct.pack(">Q", self._creates)
        return hashlib.sha256(material).digest()[:8]

    # -- attributes --------------------------------------------------------------------

    def note_attributes(self, handle: bytes, post: post_op_attr, started: float) -> None:
        if post.attributes is not None:
            self.attributes.store(handle, post.attributes, started)

    async def getattr(self, handle: bytes, path: str | None) -> fattr3:
        started = self.clock()
        result = await self._call(
            "GETATTR", path, self.nfs.NFSPROC3_GETATTR(GETATTR3args(nfs_fh3(handle)))
        )
        if result.resok is None:
            raise self._failed(result, "GETATTR", path, handle)
        return self.attributes.store(handle, result.resok.obj_attributes, started)

    async def attributes_of(self, handle: bytes, path: str | None) -> fattr3:
        """Valid cached attributes, or fresh ones from a GETATTR."""
        cached = self.attributes.valid(handle, self.clock())
        if cached is not None:
            self.stats.attribute_hits += 1
            return cached
        self.stats.attribute_misses += 1
        return await self.getattr(handle, path)

    def own_directory_change(
        self, directory: bytes, wcc: wcc_data, started: float
    ) -> DirectoryView | None:
        """We changed `directory`: store its post-op attributes and move its view (None
        when the reply had no post-op attributes: the view is dropped)."""
        after = wcc.after.attributes
        before = pre_op(wcc)
        if after is None:
            self.lookups.forget(directory)
            self.attributes.forget(directory)
            return None
        cached = self.attributes.get(directory)
        own = cached is not None and before == cached.signature
        self.attributes.store(directory, after, started, own=own)
        trust = self.options.bugs.trust_wcc
        return self.lookups.own_change(directory, before, Signature.of(after), trust)

    # -- names -------------------------------------------------------------------------

    async def lookup(self, directory: bytes, name: bytes, path: str) -> tuple[bytes, fattr3]:
        """The handle and valid attributes of `name` in `directory` (a dentry validated by
        the directory's attributes, or a LOOKUP)."""
        directory_attributes = await self.attributes_of(directory, path)
        view = self.lookups.view(directory, Signature.of(directory_attributes))
        cached = view.entries.get(name)
        if cached is not None:
            try:
                attributes = await self.attributes_of(cached, path)
            except StaleFileHandle:
                self.lookups.forget_name(directory, name)
            else:
                self.stats.lookup_hits += 1
                return cached, attributes
        self.stats.lookup_misses += 1
        started = self.clock()
        args = LOOKUP3args(diropargs3(nfs_fh3(directory), name))
        result = await self._call("LOOKUP", path, self.nfs.NFSPROC3_LOOKUP(args))
        if result.resok is None:
            assert result.resfail is not None
            self.note_attributes(directory, result.resfail.dir_attributes, started)
            raise self._failed(result, "LOOKUP", path, directory)
        found = result.resok
        handle = found.object.data
        self.note_attributes(directory, found.dir_attributes, started)
        self.note_attributes(handle, found.obj_attributes, started)
        if found.obj_attributes.attributes is None:
            await self.getattr(handle, path)
        directory_entry = self.attributes.get(directory)
        if directory_entry is not None:
            self.lookups.view(directory, directory_entry.signature).entries[name] = handle
        entry = self.attributes.get(handle)
        assert entry is not None
        return handle, entry.attributes

    async def readlink_handle(self, handle: bytes, path: str) -> bytes:
        started = self.clock()
        args = READLINK3args(nfs_fh3(handle))
        result = await self._call("READLINK", path, self.nfs.NFSPROC3_READLINK(args))
        if result.resok is None:
            raise self._failed(result, "READLINK", path, handle)
        self.note_attributes(handle, result.resok.symlink_attributes, started)
        return result.resok.data

    async def walk(
        self, parts: list[bytes], path: str, follow: bool = True
    ) -> tuple[bytes, fattr3]:
        """Resolve path components from the export's root, following symlinks (the last
        one only with `follow`)."""
        pending = deque(parts)
        trail = [self.root]
        attributes = await self.attributes_of(self.root, path)
        links = 0
        while pending:
            name = pending.popleft()
            if name == b"..":
                if len(trail) > 1:
                    trail.pop()
                attributes = await self.attributes_of(trail[-1], path)
                continue
            if attributes.type != ftype3.NF3DIR:
                raise OSError(errno.ENOTDIR, "not a directory", path)
            handle, found = await self.lookup(trail[-1], name, path)
            if found.type == ftype3.NF3LNK and (pending or follow):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = await self.readlink_handle(handle, path)
                if target.startswith(b"/"):
                    del trail[1:]
                    attributes = await self.attributes_of(self.root, path)
                pending.extendleft(reversed(split_path(target)))
                continue
            trail.append(handle)
            attributes = found
        return trail[-1], attributes

    async def parent_of(self, path: str) -> tuple[bytes, bytes]:
        """The directory handle and last name of `path` (which must name an entry)."""
        parts = split_path(path)
        if not parts or parts[-1] == b"..":
            raise OSError(errno.EINVAL, "the path names no entry of a directory", path)
        directory, attributes = await self.walk(parts[:-1], path)
        if attributes.type != ftype3.NF3DIR:
            raise OSError(errno.ENOTDIR, "not a directory", path)
        return directory, parts[-1]

    async def read_directory(
        self, handle: bytes, signature: Signature, path: str
    ) -> tuple[bytes, ...] | None:
        """Every name in the directory (READDIR from cookie 0), or None if a reply showed
        the directory at another version than `signature`."""
        names: list[bytes] = []
        cookie, verifier = 0, NO_COOKIE_VERIFIER
        while True:
            started = self.clock()
            args = READDIR3args(nfs_fh3(handle), cookie, verifier, READDIR_COUNT)
            result = await self._call("READDIR", path, self.nfs.NFSPROC3_READDIR(args))
            if result.resok is None:
                assert result.resfail is not None
                self.note_attributes(handle, result.resfail.dir_attributes, started)
                raise self._failed(result, "READDIR", path, handle)
            listed = result.resok
            after = listed.dir_attributes.attributes
            if after is not None:
                self.attributes.store(handle, after, started)
                if Signature.of(after) != signature:
                    return None
            for entry in listed.reply.entries:
                if entry.name not in (b".", b".."):
                    names.append(entry.name)
                cookie = entry.cookie
            if listed.reply.eof or not listed.reply.entries:
                return tuple(names)
            verifier = listed.cookieverf
