"""NfsClient: a file-level API over NFSv3 with the Linux client's caching.

Rules:
- `await NfsClient.mount(nfs_stub, mount_stub, export, clock, options)` asks MOUNT for the
  export's root handle and FSINFO for the transfer sizes. The stubs may run over any
  Caller (simulation or sockets); build it with `options.retry_policy()`.
- The calls mirror the POSIX ones: open/read/write/close/fsync, stat, listdir, mkdir,
  rmdir, remove, rename, link, symlink, readlink, truncate, chmod, chown, utime,
  statvfs. Failures are OSErrors with the errno of the NFS status
  (reference.client.errors).
- Caching (reference.client.core and file_io): attribute cache with acregmin..acregmax
  and acdirmin..acdirmax, a lookup cache and a page cache checked against the attributes,
  write-behind with UNSTABLE writes and COMMIT.
- Close-to-open (`cto`, the default): open() revalidates the file's attributes with a
  GETATTR (unless the LOOKUP of this very open brought them), so it sees the data of
  every close() that returned before it; close() of a file open for writing flushes and
  COMMITs, and reports their errors. With `nocto` both are skipped; the data waits for
  fsync(), sync(), unmount() or the write-behind limit. (Linux flushes on close even with
  nocto; this client follows the option's name.)
- open() follows Linux: O_CREAT uses CREATE UNCHECKED (EXCLUSIVE with O_EXCL, then a
  SETATTR of the mode); O_TRUNC sends SETATTR size 0; an open that finds the cached name
  STALE looks the name up again once. Only regular files can be opened (a directory is
  EISDIR). remove() of an open file does not "silly rename" it.
- One client serves its callers one operation at a time per file; several clients (or
  tasks on different files) may run at once.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from reference.client.attr_cache import Signature
from reference.client.core import new_attributes
from reference.client.errors import StaleFileHandle, errno_of, rpc_failure
from reference.client.file_io import MAX_RESTARTS, FileIo
from reference.client.files import (
    SERVER_NOW,
    FileStat,
    FsUsage,
    OpenFile,
    TimeToSet,
    split_path,
)
from reference.client.options import MountOptions
from reference.client.stats import CountingCaller
from reference.rpc.errors import RpcError
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    CREATE3args,
    FSINFO3args,
    FSSTAT3args,
    LINK3args,
    MKDIR3args,
    NFS_V3_Client,
    REMOVE3args,
    REMOVE3res,
    RENAME3args,
    RMDIR3args,
    RMDIR3res,
    SYMLINK3args,
    createhow3,
    createmode3,
    diropargs3,
    fattr3,
    ftype3,
    nfs_fh3,
    sattr3,
    symlinkdata3,
)


class NfsClient(FileIo):
    """A mounted NFSv3 export."""

    def __init__(
        self,
        caller: CountingCaller,
        mount: MOUNT_V3_Client,
        export: bytes,
        root: bytes,
        clock: Callable[[], float],
        options: MountOptions,
        name: str,
    ) -> None:
        super().__init__(caller, root, clock, options, name)
        self._mount = mount
        self.export = export

    @classmethod
    async def mount(
        cls,
        nfs_stub: NFS_V3_Client,
        mount_stub: MOUNT_V3_Client,
        export: str | bytes,
        clock: Callable[[], float],
        options: MountOptions | None = None,
        *,
        name: str = "nfsprop",
    ) -> NfsClient:
        """Mount `export`; `name` tells this client's EXCLUSIVE create verifiers apart."""
        options = options or MountOptions()
        caller = CountingCaller(nfs_stub.caller)
        mount = MOUNT_V3_Client(CountingCaller(mount_stub.caller, caller.calls))
        path = os.fsencode(export)
        try:
            reply = await mount.MOUNTPROC3_MNT(path)
        except RpcError as error:
            raise rpc_failure(error, "MNT", os.fsdecode(path)) from error
        if reply.mountinfo is None:  # mountstat3 shares nfsstat3's numbers
            status = reply.fhs_status
            message = f"MNT: server answered {status.name}"
            raise OSError(errno_of(status), message, os.fsdecode(path))
        client = cls(caller, mount, path, reply.mountinfo.fhandle, clock, options, name)
        await client._fsinfo()
        return client

    async def _fsinfo(self) -> None:
        started = self.clock()
        args = FSINFO3args(nfs_fh3(self.root))
        result = await self._call("FSINFO", "/", self.nfs.NFSPROC3_FSINFO(args))
        if result.resok is None:
            raise self._failed(result, "FSINFO", "/", self.root)
        info = result.resok
        self.note_attributes(self.root, info.obj_attributes, started)
        self.rsize = max(1, min(self.options.rsize, info.rtmax or self.options.rsize))
        self.wsize = max(1, min(self.options.wsize, info.wtmax or self.options.wsize))

    async def unmount(self) -> None:
        """Send everything written, then UMNT."""
        await self.sync()
        try:
            await self._mount.MOUNTPROC3_UMNT(self.export)
        except RpcError as error:
            raise rpc_failure(error, "UMNT", os.fsdecode(self.export)) from error

    # -- files -------------------------------------------------------------------------

    async def open(self, path: str, flags: int = os.O_RDONLY, mode: int = 0o644) -> OpenFile:
        """Open a regular file (O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC,
        O_APPEND)."""
        try:
            return await self._open(path, flags, mode)
        except StaleFileHandle:  # a cached name led to a removed file: it is forgotten now
            return await self._open(path, flags, mode)

    async def _open(self, path: str, flags: int, mode: int) -> OpenFile:
        started = self.clock()
        directory, name = await self.parent_of(path)
        try:
            handle, attributes = await self.lookup(directory, name, path)
        except FileNotFoundError:
            if not flags & os.O_CREAT:
                raise
            return await self._create(directory, name, flags, mode, path)
        if attributes.type == ftype3.NF3LNK:
            handle, attributes = await self.walk(split_path(path), path)
        if flags & os.O_CREAT and flags & os.O_EXCL:
            raise OSError(errno.EEXIST, "file exists", path)
        _require_regular(attributes, path)
        entry = self.attributes.get(handle)
        revalidate = self.options.cto and not self.options.bugs.never_revalidate
        if revalidate and (entry is None or entry.fetched_at < started):
            try:
                await self.getattr(handle, path)
            except StaleFileHandle:
                self.lookups.forget_name(directory, name)
                raise
        opened = OpenFile(path, handle, flags)
        if flags & os.O_TRUNC and opened.writable:
            await self.set_attributes(handle, new_attributes(size=0), path)
        return opened

    async def _create(
        self, directory: bytes, name: bytes, flags: int, mode: int, path: str
    ) -> OpenFile:
        exclusive = bool(flags & os.O_EXCL)
        if exclusive:
            how = createhow3(createmode3.EXCLUSIVE, verf=self.create_verifier())
        else:
            size = 0 if flags & os.O_TRUNC else None
            how = createhow3(createmode3.UNCHECKED, new_attributes(mode=mode, size=size))
        started = self.clock()
        args = CREATE3args(diropargs3(nfs_fh3(directory), name), how)
        result = await self._call("CREATE", path, self.nfs.NFSPROC3_CREATE(args))
        handle = self.entry_made(result, "CREATE", path, directory, name, started)
        if handle is None:  # the server may leave it out: look it up
            handle, _ = await self.lookup(directory, name, path)
        if exclusive:
            await self.set_attributes(handle, new_attributes(mode=mode), path)
        return OpenFile(path, handle, flags)

    async def read(self, file: OpenFile, count: int, offset: int | None = None) -> bytes:
        """Up to `count` bytes at `offset` (default: the file position, which advances)."""
        file.check(reading=True)
        start = file.position if offset is None else offset
        data = await self.read_handle(file.handle, start, count, file.path)
        if offset is None:
            file.position = start + len(data)
        return data

    async def write(self, file: OpenFile, data: bytes, offset: int | None = None) -> int:
        """Write `data` at `offset` (default: the file position, or the end with
        O_APPEND); buffered until close/fsync unless `noac`."""
        file.check(writing=True)
        if file.flags & os.O_APPEND:
            attributes = await self.attributes_of(file.handle, file.path)
            start = self.size_seen(file.handle, attributes)
        else:
            start = file.position if offset is None else offset
        if self.options.noac:
            await self.write_through(file.handle, start, data, file.path)
        else:
            write_back = self.write_back(file.handle)
            write_back.dirty.add(start, data)
            if write_back.dirty.total >= self.options.write_behind:
                await self.flush(file.handle, file.path)
        if offset is None:
            file.position = start + len(data)
        return len(data)

    async def fsync(self, file: OpenFile) -> None:
        """Send and COMMIT everything written to the file."""
        file.check()
        await self.sync_handle(file.handle, file.path)

    async def close(self, file: OpenFile) -> None:
        """Close; with cto, flush and COMMIT first (their errors are raised here)."""
        file.check()
        file.closed = True
        flush = self.options.cto and not self.options.bugs.skip_flush_on_close
        if file.writable and flush:
            await self.sync_handle(file.handle, file.path)

    async def sync(self) -> None:
        """Send and COMMIT everything this client wrote."""
        for handle in list(self.write_backs):
            await self.sync_handle(handle, None)

    async def truncate(self, path: str, size: int) -> None:
        handle, attributes = await self.walk(split_path(path), path)
        _require_regular(attributes, path)
        await self.set_attributes(handle, new_attributes(size=size), path)

    # -- status and names --------------------------------------------------------------

    async def stat(self, path: str, follow_symlinks: bool = True) -> FileStat:
        handle, attributes = await self.walk(split_path(path), path, follow_symlinks)
        return FileStat.of(attributes, self.size_seen(handle, attributes))

    async def chmod(self, path: str, mode: int, follow_symlinks: bool = True) -> None:
        """Set the permission bits (and setuid, setgid, sticky) of `path`."""
        await self._set(path, new_attributes(mode=stat.S_IMODE(mode)), follow_symlinks)

    async def chown(self, path: str, uid: int, gid: int, follow_symlinks: bool = True) -> None:
        """Set the owner and group of `path`; -1 leaves one alone (as os.chown)."""
        changes = new_attributes(uid=None if uid == -1 else uid, gid=None if gid == -1 else gid)
        await self._set(path, changes, follow_symlinks)

    async def utime(
        self,
        path: str,
        atime: TimeToSet = SERVER_NOW,
        mtime: TimeToSet = SERVER_NOW,
        follow_symlinks: bool = True,
    ) -> None:
        """Set the access and modification times of `path`: nanoseconds, SERVER_NOW (the
        default, as os.utime(path) without times) or None to leave one alone."""
        await self._set(path, new_attributes(atime=atime, mtime=mtime), follow_symlinks)

    async def _set(self, path: str, changes: sattr3, follow_symlinks: bool) -> None:
        handle, _ = await self.walk(split_path(path), path, follow_symlinks)
        await self.set_attributes(handle, changes, path)

    async def statvfs(self, path: str = "/") -> FsUsage:
        """FSSTAT: the size and use of the file system that holds `path`."""
        handle, _ = await self.walk(split_path(path), path)
        started = self.clock()
        result = await self._call(
            "FSSTAT", path, self.nfs.NFSPROC3_FSSTAT(FSSTAT3args(nfs_fh3(handle)))
        )
        if result.resok is None:
            raise self._failed(result, "FSSTAT", path, handle)
        usage = result.resok
        self.note_attributes(handle, usage.obj_attributes, started)
        return FsUsage(
            usage.tbytes, usage.fbytes, usage.abytes, usage.tfiles, usage.ffiles, usage.afiles
        )

    async def listdir(self, path: str = "/") -> list[str]:
        """The names in a directory (without "." and ".."), in the server's order."""
        handle, attributes = await self.walk(split_path(path), path)
        if attributes.type != ftype3.NF3DIR:
            raise OSError(errno.ENOTDIR, "not a directory", path)
        for _ in range(MAX_RESTARTS):
            attributes = await self.attributes_of(handle, path)
            view = self.lookups.view(handle, Signature.of(attributes))
            if view.listing is not None:
                self.stats.listing_hits += 1
                return [os.fsdecode(name) for name in view.listing]
            self.stats.listing_misses += 1
            names = await self.read_directory(handle, view.signature, path)
            if names is not None:
                self.lookups.view(handle, view.signature).listing = names
                return [os.fsdecode(name) for name in names]
        raise OSError(errno.EIO, "the directory kept changing while it was read", path)

    async def mkdir(self, path: str, mode: int = 0o755) -> None:
        directory, name = await self.parent_of(path)
        started = self.clock()
        args = MKDIR3args(diropargs3(nfs_fh3(directory), name), new_attributes(mode=mode))
        result = await self._call("MKDIR", path, self.nfs.NFSPROC3_MKDIR(args))
        self.entry_made(result, "MKDIR", path, directory, name, started)

    async def rmdir(self, path: str) -> None:
        await self._unlink(path, directory=True)

    async def remove(self, path: str) -> None:
        await self._unlink(path, directory=False)

    async def _unlink(self, path: str, directory: bool) -> None:
        parent, name = await self.parent_of(path)
        cached = self._cached_child(parent, name)
        started = self.clock()
        where = diropargs3(nfs_fh3(parent), name)
        result: RMDIR3res | REMOVE3res
        if directory:
            result = await self._call("RMDIR", path, self.nfs.NFSPROC3_RMDIR(RMDIR3args(where)))
        else:
            result = await self._call("REMOVE", path, self.nfs.NFSPROC3_REMOVE(REMOVE3args(where)))
        outcome = result.resok or result.resfail
        assert outcome is not None
        view = self.own_directory_change(parent, outcome.dir_wcc, started)
        if view is not None:
            view.entries.pop(name, None)
        if result.resok is None:
            raise self._failed(result, "RMDIR" if directory else "REMOVE", path, parent)
        if cached is not None:
            self.attributes.forget(cached)  # nlink and ctime changed; it may be gone

    def _cached_child(self, directory: bytes, name: bytes) -> bytes | None:
        entry = self.attributes.get(directory)
        if entry is None:
            return None
        return self.lookups.view(directory, entry.signature).entries.get(name)

    async def rename(self, source: str, target: str) -> None:
        from_dir, from_name = await self.parent_of(source)
        to_dir, to_name = await self.parent_of(target)
        moved = self._cached_child(from_dir, from_name)
        replaced = self._cached_child(to_dir, to_name)
        started = self.clock()
        args = RENAME3args(
            diropargs3(nfs_fh3(from_dir), from_name), diropargs3(nfs_fh3(to_dir), to_name)
        )
        result = await self._call("RENAME", source, self.nfs.NFSPROC3_RENAME(args))
        outcome = result.resok or result.resfail
        assert outcome is not None
        from_view = self.own_directory_change(from_dir, outcome.fromdir_wcc, started)
        to_view = from_view
        if to_dir != from_dir:
            to_view = self.own_directory_change(to_dir, outcome.todir_wcc, started)
        if result.resok is None:
            raise self._failed(result, "RENAME", source, from_dir)
        if from_view is not None:
            from_view.entries.pop(from_name, None)
        if to_view is not None:
            to_view.entries.pop(to_name, None)
            if moved is not None:
                to_view.entries[to_name] = moved
        for handle in (moved, replaced):
            if handle is not None:
                self.attributes.forget(handle)

    async def link(self, source: str, target: str) -> None:
        """A hard link `target` to the object `source` names (a symlink is not followed)."""
        handle, _ = await self.walk(split_path(source), source, follow=False)
        directory, name = await self.parent_of(target)
        started = self.clock()
        args = LINK3args(nfs_fh3(handle), diropargs3(nfs_fh3(directory), name))
        result = await self._call("LINK", target, self.nfs.NFSPROC3_LINK(args))
        outcome = result.resok or result.resfail
        assert outcome is not None
        self.note_attributes(handle, outcome.file_attributes, started)
        view = self.own_directory_change(directory, outcome.linkdir_wcc, started)
        if result.resok is None:
            raise self._failed(result, "LINK", target, handle)
        if view is not None:
            view.entries[name] = handle

    async def symlink(self, target: str, path: str) -> None:
        """Create `path` as a symbolic link to `target`."""
        directory, name = await self.parent_of(path)
        started = self.clock()
        data = symlinkdata3(new_attributes(), os.fsencode(target))
        args = SYMLINK3args(diropargs3(nfs_fh3(directory), name), data)
        result = await self._call("SYMLINK", path, self.nfs.NFSPROC3_SYMLINK(args))
        self.entry_made(result, "SYMLINK", path, directory, name, started)

    async def readlink(self, path: str) -> str:
        handle, attributes = await self.walk(split_path(path), path, follow=False)
        if attributes.type != ftype3.NF3LNK:
            raise OSError(errno.EINVAL, "not a symbolic link", path)
        return os.fsdecode(await self.readlink_handle(handle, path))


def _require_regular(attributes: fattr3, path: str) -> None:
    if attributes.type == ftype3.NF3DIR:
        raise OSError(errno.EISDIR, "is a directory", path)
    if attributes.type != ftype3.NF3REG:
        raise OSError(errno.EINVAL, "only regular files can be opened", path)
