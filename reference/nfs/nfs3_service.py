"""NFSv3 (RFC 1813) on the wire: the 22 procedures of the generated skeleton, mapped
onto the FileSystem.

Rules:
- This layer only translates: generated XDR arguments in, FileSystem calls, generated
  XDR results out. Semantics (permissions, errors, durability) live in reference.nfs.fs.
- The caller's identity comes from the RPC credential (AUTH_SYS uid/gid/gids; AUTH_NONE
  is nobody; `root_squash` maps uid 0 to nobody).
- Every failure is the procedure's failure arm with the nfsstat3 of the NfsError, and the
  post-op attributes RFC 1813 puts there (read again after the failure; absent if the
  object is gone); pre-op attributes of a failed call are absent. An unexpected
  exception is logged and answered NFS3ERR_SERVERFAULT: the server keeps serving.
- Attributes become fattr3 once: `fattr` and `post_op` remember their last
  ATTRIBUTE_RESULTS results by value (Attributes and the XDR records are frozen, so a
  remembered one is the one a fresh call would build; GETATTR and each READDIRPLUS entry
  no longer build seven records).
- Over UDP a reply must fit one datagram: FSINFO caps rtmax/rtpref/wtmax/wtpref at
  UDP_MAX_TRANSFER, and READ counts and READDIR(PLUS) counts are capped at it too (as
  Linux knfsd caps its UDP payload), whatever the client asks for.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from reference.nfs.access import Identity, identity_of
from reference.nfs.attributes import (
    SERVER_TIME,
    Attributes,
    SetAttributes,
    TimeSetting,
    Wcc,
    from_seconds_ns,
    to_seconds_ns,
)
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.nfs.readdir import readdir3_budget, readdirplus3_budget
from reference.rpc.stubs import CallContext
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_SERVERFAULT,
    ACCESS3args,
    ACCESS3res,
    ACCESS3resfail,
    ACCESS3resok,
    COMMIT3args,
    COMMIT3res,
    COMMIT3resfail,
    COMMIT3resok,
    CREATE3args,
    CREATE3res,
    CREATE3resfail,
    CREATE3resok,
    FSINFO3args,
    FSINFO3res,
    FSINFO3resfail,
    FSINFO3resok,
    FSSTAT3args,
    FSSTAT3res,
    FSSTAT3resfail,
    FSSTAT3resok,
    GETATTR3args,
    GETATTR3res,
    GETATTR3resok,
    LINK3args,
    LINK3res,
    LINK3resfail,
    LINK3resok,
    LOOKUP3args,
    LOOKUP3res,
    LOOKUP3resfail,
    LOOKUP3resok,
    MKDIR3args,
    MKDIR3res,
    MKDIR3resfail,
    MKDIR3resok,
    MKNOD3args,
    MKNOD3res,
    MKNOD3resfail,
    MKNOD3resok,
    NFS_V3_Server,
    PATHCONF3args,
    PATHCONF3res,
    PATHCONF3resfail,
    PATHCONF3resok,
    READ3args,
    READ3res,
    READ3resfail,
    READ3resok,
    READDIR3args,
    READDIR3res,
    READDIR3resfail,
    READDIR3resok,
    READDIRPLUS3args,
    READDIRPLUS3res,
    READDIRPLUS3resfail,
    READDIRPLUS3resok,
    READLINK3args,
    READLINK3res,
    READLINK3resfail,
    READLINK3resok,
    REMOVE3args,
    REMOVE3res,
    REMOVE3resfail,
    REMOVE3resok,
    RENAME3args,
    RENAME3res,
    RENAME3resfail,
    RENAME3resok,
    RMDIR3args,
    RMDIR3res,
    RMDIR3resfail,
    RMDIR3resok,
    SETATTR3args,
    SETATTR3res,
    SETATTR3resfail,
    SETATTR3resok,
    SYMLINK3args,
    SYMLINK3res,
    SYMLINK3resfail,
    SYMLINK3resok,
    WRITE3args,
    WRITE3res,
    WRITE3resfail,
    WRITE3resok,
    createmode3,
    dirlist3,
    dirlistplus3,
    entry3,
    entryplus3,
    fattr3,
    ftype3,
    nfs_fh3,
    nfsstat3,
    nfstime3,
    post_op_attr,
    post_op_fh3,
    pre_op_attr,
    sattr3,
    specdata3,
    time_how,
    wcc_attr,
    wcc_data,
)

log = logging.getLogger("nfsprop.nfs3")
R = TypeVar("R")

UDP_MAX_TRANSFER = 32 * 1024
NO_ATTRIBUTES = post_op_attr(False)
NO_WCC = wcc_data(pre_op_attr(False), NO_ATTRIBUTES)


def transfer_limit(ctx: CallContext, count: int) -> int:
    """`count`, capped at UDP_MAX_TRANSFER for a call that came over UDP."""
    return min(count, UDP_MAX_TRANSFER) if ctx.transport == "udp" else count


def nfstime(ns: int) -> nfstime3:
    seconds, nseconds = to_seconds_ns(ns)
    return nfstime3(seconds & 0xFFFFFFFF, nseconds)


ATTRIBUTE_RESULTS = 4096


@functools.lru_cache(maxsize=ATTRIBUTE_RESULTS)
def fattr(attributes: Attributes) -> fattr3:
    return fattr3(
        attributes.type,
        attributes.mode,
        attributes.nlink,
        attributes.uid,
        attributes.gid,
        attributes.size,
        attributes.used,
        specdata3(*attributes.rdev),
        attributes.fsid,
        attributes.fileid,
        nfstime(attributes.atime_ns),
        nfstime(attributes.mtime_ns),
        nfstime(attributes.ctime_ns),
    )


@functools.lru_cache(maxsize=ATTRIBUTE_RESULTS)
def post_op(attributes: Attributes) -> post_op_attr:
    return post_op_attr(True, fattr(attributes))


def wcc(change: Wcc) -> wcc_data:
    before = change.before
    return wcc_data(
        pre_op_attr(
            True, wcc_attr(before.size, nfstime(before.mtime_ns), nfstime(before.ctime_ns))
        ),
        post_op(change.after),
    )


def set_attributes(new: sattr3) -> SetAttributes:
    return SetAttributes(
        mode=new.mode.mode if new.mode.set_it else None,
        uid=new.uid.uid if new.uid.set_it else None,
        gid=new.gid.gid if new.gid.set_it else None,
        size=new.size.size if new.size.set_it else None,
        atime=_time_setting(new.atime.set_it, new.atime.atime),
        mtime=_time_setting(new.mtime.set_it, new.mtime.mtime),
    )


def _time_setting(how: time_how, when: nfstime3 | None) -> TimeSetting:
    if how == time_how.SET_TO_SERVER_TIME:
        return SERVER_TIME
    if how == time_how.SET_TO_CLIENT_TIME and when is not None:
        return from_seconds_ns(when.seconds, when.nseconds)
    return None


class NfsV3Service(NFS_V3_Server):
    """The reference NFSv3 server over one FileSystem."""

    def __init__(self, fs: FileSystem, root_squash: bool = False) -> None:
        self.fs = fs
        self.root_squash = root_squash

    def _who(self, ctx: CallContext) -> Identity:
        return identity_of(ctx.credential, self.root_squash)

    def _attributes(self, handle: bytes) -> post_op_attr:
        """Post-op attributes of a failed call: whatever the object looks like now."""
        if self.fs.bugs.failed_replies_show_the_root:
            handle = self.fs.root_handle()
        try:
            return post_op(self.fs.getattr(handle))
        except NfsError:
            return NO_ATTRIBUTES

    def _dir_wcc(self, handle: bytes) -> wcc_data:
        return wcc_data(pre_op_attr(False), self._attributes(handle))

    def _answer(self, name: str, ok: Callable[[], R], fail: Callable[[nfsstat3], R]) -> R:
        try:
            return ok()
        except NfsError as error:
            return fail(nfsstat3(error.status))
        except Exception:
            log.exception("%s failed unexpectedly; answering NFS3ERR_SERVERFAULT", name)
            return fail(NFS3ERR_SERVERFAULT)

    # -- attributes ------------------------------------------------------------------

    def NFSPROC3_GETATTR(self, args: GETATTR3args, ctx: CallContext) -> GETATTR3res:
        handle = args.object.data
        return self._answer(
            "GETATTR",
            lambda: GETATTR3res(NFS3_OK, GETATTR3resok(fattr(self.fs.getattr(handle)))),
            lambda status: GETATTR3res(status),
        )

    def NFSPROC3_SETATTR(self, args: SETATTR3args, ctx: CallContext) -> SETATTR3res:
        handle = args.object.data
        guard = args.guard.obj_ctime
        guard_ns = None if guard is None else from_seconds_ns(guard.seconds, guard.nseconds)

        def ok() -> SETATTR3res:
            change = self.fs.setattr(
                handle, set_attributes(args.new_attributes), self._who(ctx), guard_ns
            )
            return SETATTR3res(NFS3_OK, SETATTR3resok(wcc(change)))

        return self._answer(
            "SETATTR",
            ok,
            lambda status: SETATTR3res(status, resfail=SETATTR3resfail(self._dir_wcc(handle))),
        )

    def NFSPROC3_ACCESS(self, args: ACCESS3args, ctx: CallContext) -> ACCESS3res:
        handle = args.object.data

        def ok() -> ACCESS3res:
            result = self.fs.access(handle, self._who(ctx), args.access)
            return ACCESS3res(NFS3_OK, ACCESS3resok(post_op(result.attributes), result.granted))

        return self._answer(
            "ACCESS",
            ok,
            lambda status: ACCESS3res(status, resfail=ACCESS3resfail(self._attributes(handle))),
        )

    # -- names -----------------------------------------------------------------------

    def NFSPROC3_LOOKUP(self, args: LOOKUP3args, ctx: CallContext) -> LOOKUP3res:
        directory = args.what.dir.data

        def ok() -> LOOKUP3res:
            found = self.fs.lookup(directory, args.what.name, self._who(ctx))
            return LOOKUP3res(
                NFS3_OK,
                LOOKUP3resok(
                    nfs_fh3(found.handle), post_op(found.attributes), post_op(found.directory)
                ),
            )

        return self._answer(
            "LOOKUP",
            ok,
            lambda status: LOOKUP3res(status, resfail=LOOKUP3resfail(self._attributes(directory))),
        )

    def NFSPROC3_READLINK(self, args: READLINK3args, ctx: CallContext) -> READLINK3res:
        handle = args.symlink.data

        def ok() -> READLINK3res:
            link = self.fs.readlink(handle)
            return READLINK3res(NFS3_OK, READLINK3resok(post_op(link.attributes), link.target))

        return self._answer(
            "READLINK",
            ok,
            lambda status: READLINK3res(status, resfail=READLINK3resfail(self._attributes(handle))),
        )

    # -- data ------------------------------------------------------------------------

    def NFSPROC3_READ(self, args: READ3args, ctx: CallContext) -> READ3res:
        handle = args.file.data

        def ok() -> READ3res:
            count = transfer_limit(ctx, args.count)
            read = self.fs.read(handle, args.offset, count, self._who(ctx))
            return READ3res(
                NFS3_OK, READ3resok(post_op(read.attributes), len(read.data), read.eof, read.data)
            )

        return self._answer(
            "READ",
            ok,
            lambda status: READ3res(status, resfail=READ3resfail(self._attributes(handle))),
        )

    def NFSPROC3_WRITE(self, args: WRITE3args, ctx: CallContext) -> WRITE3res:
        handle = args.file.data

        def ok() -> WRITE3res:
            data = args.data[: args.count]
            written = self.fs.write(handle, args.offset, data, args.stable, self._who(ctx))
            return WRITE3res(
                NFS3_OK,
                WRITE3resok(wcc(written.wcc), written.count, written.committed, written.verifier),
            )

        return self._answer(
            "WRITE",
            ok,
            lambda status: WRITE3res(status, resfail=WRITE3resfail(self._dir_wcc(handle))),
        )

    def NFSPROC3_COMMIT(self, args: COMMIT3args, ctx: CallContext) -> COMMIT3res:
        handle = args.file.data

        def ok() -> COMMIT3res:
            committed = self.fs.commit(handle, args.count)
            return COMMIT3res(NFS3_OK, COMMIT3resok(wcc(committed.wcc), committed.verifier))

        return self._answer(
            "COMMIT",
            ok,
            lambda status: COMMIT3res(status, resfail=COMMIT3resfail(self._dir_wcc(handle))),
        )

    # -- creating --------------------------------------------------------------------

    def NFSPROC3_CREATE(self, args: CREATE3args, ctx: CallContext) -> CREATE3res:
        directory = args.where.dir.data
        how = args.how

        def ok() -> CREATE3res:
            attributes = (
                SetAttributes()
                if how.obj_attributes is None
                else set_attributes(how.obj_attributes)
            )
            created = self.fs.create(
                directory,
                args.where.name,
                self._who(ctx),
                createmode3(how.mode),
                attributes,
                how.verf or b"",
            )
            return CREATE3res(
                NFS3_OK,
                CREATE3resok(
                    post_op_fh3(True, nfs_fh3(created.handle)),
                    post_op(created.attributes),
                    wcc(created.directory),
                ),
            )

        return self._answer(
            "CREATE",
            ok,
            lambda status: CREATE3res(status, resfail=CREATE3resfail(self._dir_wcc(directory))),
        )

    def NFSPROC3_MKDIR(self, args: MKDIR3args, ctx: CallContext) -> MKDIR3res:
        directory = args.where.dir.data

        def ok() -> MKDIR3res:
            created = self.fs.mkdir(
                directory, args.where.name, set_attributes(args.attributes), self._who(ctx)
            )
            return MKDIR3res(
                NFS3_OK,
                MKDIR3resok(
                    post_op_fh3(True, nfs_fh3(created.handle)),
                    post_op(created.attributes),
                    wcc(created.directory),
                ),
            )

        return self._answer(
            "MKDIR",
            ok,
            lambda status: MKDIR3res(status, resfail=MKDIR3resfail(self._dir_wcc(directory))),
        )

    def NFSPROC3_SYMLINK(self, args: SYMLINK3args, ctx: CallContext) -> SYMLINK3res:
        directory = args.where.dir.data
        link = args.symlink

        def ok() -> SYMLINK3res:
            created = self.fs.symlink(
                directory,
                args.where.name,
                link.symlink_data,
                set_attributes(link.symlink_attributes),
                self._who(ctx),
            )
            return SYMLINK3res(
                NFS3_OK,
                SYMLINK3resok(
                    post_op_fh3(True, nfs_fh3(created.handle)),
                    post_op(created.attributes),
                    wcc(created.directory),
                ),
            )

        return self._answer(
            "SYMLINK",
            ok,
            lambda status: SYMLINK3res(status, resfail=SYMLINK3resfail(self._dir_wcc(directory))),
        )

    def NFSPROC3_MKNOD(self, args: MKNOD3args, ctx: CallContext) -> MKNOD3res:
        directory = args.where.dir.data
        what = args.what

        def ok() -> MKNOD3res:
            rdev = (0, 0)
            if what.device is not None:
                attributes = set_attributes(what.device.dev_attributes)
                rdev = (what.device.spec.specdata1, what.device.spec.specdata2)
            elif what.pipe_attributes is not None:
                attributes = set_attributes(what.pipe_attributes)
            else:
                attributes = SetAttributes()
            created = self.fs.mknod(
                directory, args.where.name, ftype3(what.type), attributes, self._who(ctx), rdev
            )
            return MKNOD3res(
                NFS3_OK,
                MKNOD3resok(
                    post_op_fh3(True, nfs_fh3(created.handle)),
                    post_op(created.attributes),
                    wcc(created.directory),
                ),
            )

        return self._answer(
            "MKNOD",
            ok,
            lambda status: MKNOD3res(status, resfail=MKNOD3resfail(self._dir_wcc(directory))),
        )

    # -- removing, renaming, linking ---------------------------------------------------

    def NFSPROC3_REMOVE(self, args: REMOVE3args, ctx: CallContext) -> REMOVE3res:
        directory = args.object.dir.data
        return self._answer(
            "REMOVE",
            lambda: REMOVE3res(
                NFS3_OK,
                REMOVE3resok(wcc(self.fs.remove(directory, args.object.name, self._who(ctx)))),
            ),
            lambda status: REMOVE3res(status, resfail=REMOVE3resfail(self._dir_wcc(directory))),
        )

    def NFSPROC3_RMDIR(self, args: RMDIR3args, ctx: CallContext) -> RMDIR3res:
        directory = args.object.dir.data
        return self._answer(
            "RMDIR",
            lambda: RMDIR3res(
                NFS3_OK,
                RMDIR3resok(wcc(self.fs.rmdir(directory, args.object.name, self._who(ctx)))),
            ),
            lambda status: RMDIR3res(status, resfail=RMDIR3resfail(self._dir_wcc(directory))),
        )

    def NFSPROC3_RENAME(self, args: RENAME3args, ctx: CallContext) -> RENAME3res:
        source = args.from_.dir.data
        target = args.to.dir.data

        def ok() -> RENAME3res:
            renamed = self.fs.rename(source, args.from_.name, target, args.to.name, self._who(ctx))
            return RENAME3res(
                NFS3_OK,
                RENAME3resok(wcc(renamed.source_directory), wcc(renamed.target_directory)),
            )

        return self._answer(
            "RENAME",
            ok,
            lambda status: RENAME3res(
                status, resfail=RENAME3resfail(self._dir_wcc(source), self._dir_wcc(target))
            ),
        )

    def NFSPROC3_LINK(self, args: LINK3args, ctx: CallContext) -> LINK3res:
        handle = args.file.data
        directory = args.link.dir.data

        def ok() -> LINK3res:
            linked = self.fs.link(handle, directory, args.link.name, self._who(ctx))
            return LINK3res(NFS3_OK, LINK3resok(post_op(linked.attributes), wcc(linked.directory)))

        return self._answer(
            "LINK",
            ok,
            lambda status: LINK3res(
                status, resfail=LINK3resfail(self._attributes(handle), self._dir_wcc(directory))
            ),
        )

    # -- directories -------------------------------------------------------------------

    def NFSPROC3_READDIR(self, args: READDIR3args, ctx: CallContext) -> READDIR3res:
        directory = args.dir.data

        def ok() -> READDIR3res:
            page = self.fs.readdir(
                directory,
                self._who(ctx),
                args.cookie,
                args.cookieverf,
                readdir3_budget(transfer_limit(ctx, args.count)),
            )
            entries = [entry3(e.fileid, e.name, e.cookie) for e in page.entries]
            return READDIR3res(
                NFS3_OK,
                READDIR3resok(post_op(page.directory), page.verifier, dirlist3(entries, page.eof)),
            )

        return self._answer(
            "READDIR",
            ok,
            lambda status: READDIR3res(
                status, resfail=READDIR3resfail(self._attributes(directory))
            ),
        )

    def NFSPROC3_READDIRPLUS(self, args: READDIRPLUS3args, ctx: CallContext) -> READDIRPLUS3res:
        directory = args.dir.data

        def ok() -> READDIRPLUS3res:
            page = self.fs.readdir(
                directory,
                self._who(ctx),
                args.cookie,
                args.cookieverf,
                readdirplus3_budget(
                    transfer_limit(ctx, args.dircount), transfer_limit(ctx, args.maxcount)
                ),
                plus=True,
            )
            entries = [
                entryplus3(
                    e.fileid,
                    e.name,
                    e.cookie,
                    NO_ATTRIBUTES if e.attributes is None else post_op(e.attributes),
                    post_op_fh3(False)
                    if e.handle is None
                    else post_op_fh3(True, nfs_fh3(e.handle)),
                )
                for e in page.entries
            ]
            return READDIRPLUS3res(
                NFS3_OK,
                READDIRPLUS3resok(
                    post_op(page.directory), page.verifier, dirlistplus3(entries, page.eof)
                ),
            )

        return self._answer(
            "READDIRPLUS",
            ok,
            lambda status: READDIRPLUS3res(
                status, resfail=READDIRPLUS3resfail(self._attributes(directory))
            ),
        )

    # -- file system information ---------------------------------------------------------

    def NFSPROC3_FSSTAT(self, args: FSSTAT3args, ctx: CallContext) -> FSSTAT3res:
        handle = args.fsroot.data

        def ok() -> FSSTAT3res:
            s = self.fs.fsstat(handle)
            return FSSTAT3res(
                NFS3_OK,
                FSSTAT3resok(
                    post_op(s.attributes),
                    s.total_bytes,
                    s.free_bytes,
                    s.avail_bytes,
                    s.total_files,
                    s.free_files,
                    s.avail_files,
                    s.invarsec,
                ),
            )

        return self._answer(
            "FSSTAT",
            ok,
            lambda status: FSSTAT3res(status, resfail=FSSTAT3resfail(self._attributes(handle))),
        )

    def NFSPROC3_FSINFO(self, args: FSINFO3args, ctx: CallContext) -> FSINFO3res:
        handle = args.fsroot.data

        def ok() -> FSINFO3res:
            i = self.fs.fsinfo(handle)
            return FSINFO3res(
                NFS3_OK,
                FSINFO3resok(
                    post_op(i.attributes),
                    transfer_limit(ctx, i.rtmax),
                    transfer_limit(ctx, i.rtpref),
                    i.rtmult,
                    transfer_limit(ctx, i.wtmax),
                    transfer_limit(ctx, i.wtpref),
                    i.wtmult,
                    i.dtpref,
                    i.maxfilesize,
                    nfstime(i.time_delta_ns),
                    i.properties,
                ),
            )

        return self._answer(
            "FSINFO",
            ok,
            lambda status: FSINFO3res(status, resfail=FSINFO3resfail(self._attributes(handle))),
        )

    def NFSPROC3_PATHCONF(self, args: PATHCONF3args, ctx: CallContext) -> PATHCONF3res:
        handle = args.object.data

        def ok() -> PATHCONF3res:
            p = self.fs.pathconf(handle)
            return PATHCONF3res(
                NFS3_OK,
                PATHCONF3resok(
                    post_op(p.attributes),
                    p.linkmax,
                    p.name_max,
                    p.no_trunc,
                    p.chown_restricted,
                    p.case_insensitive,
                    p.case_preserving,
                ),
            )

        return self._answer(
            "PATHCONF",
            ok,
            lambda status: PATHCONF3res(status, resfail=PATHCONF3resfail(self._attributes(handle))),
        )
