"""MOUNT version 3 (RFC 1813 appendix I): hands out the export's root handle.

Rules:
- One export. MNT of the export path (trailing slashes ignored) or of a directory under
  it returns that directory's handle and the flavors served (AUTH_SYS, AUTH_NONE); a
  path outside the export is MNT3ERR_ACCES, a missing component NOENT, a non-directory
  NOTDIR (a path over MNTPATHLEN never decodes: GARBAGE_ARGS). Paths are resolved with
  the caller's identity, one LOOKUP at a time, so '..' cannot climb out of the export.
- The mount list (DUMP) is volatile, like Linux's rmtab without its file: a restart
  forgets it. It holds each (client host, path) pair once, the host being the caller's
  address; UMNT and UMNTALL only edit that list.
- Planted bugs (reference.nfs.mutants, read from the FileSystem's `bugs`, off unless a
  test turns one on): UMNT that leaves its entry (umnt_keeps_the_entry), MNT that lists
  a pair again (mnt_lists_a_pair_twice), MNT outside the export that answers the
  export's root (mnt_outside_answers_the_root).
"""

from __future__ import annotations

from reference.nfs.access import identity_of
from reference.nfs.errors import NfsError
from reference.nfs.fs import FileSystem
from reference.rpc.stubs import CallContext
from reference.xdr.gen.mount3 import (
    MNT3_OK,
    MOUNT_V3_Server,
    exportnode,
    mountbody,
    mountres3,
    mountres3_ok,
    mountstat3,
)
from reference.xdr.gen.nfs3 import ftype3
from reference.xdr.gen.rpc_msg import AUTH_NONE, AUTH_SYS

FLAVORS = [int(AUTH_SYS), int(AUTH_NONE)]


class MountService(MOUNT_V3_Server):
    def __init__(self, fs: FileSystem, export: bytes = b"/export", root_squash: bool = False):
        self.fs = fs
        self.export = _normal(export)
        self.root_squash = root_squash
        self.mounts: list[tuple[bytes, bytes]] = []  # (host, path), in the order mounted

    def MOUNTPROC3_MNT(self, args: bytes, ctx: CallContext) -> mountres3:
        path = resolved = _normal(args)
        if path != self.export and not path.startswith(self.export + b"/"):
            if not self.fs.bugs.mnt_outside_answers_the_root:
                return mountres3(mountstat3.MNT3ERR_ACCES)
            resolved = self.export
        who = identity_of(ctx.credential, self.root_squash)
        try:
            handle = self.fs.root_handle()
            for name in resolved[len(self.export) :].split(b"/"):
                if name:
                    handle = self.fs.lookup(handle, name, who).handle
            if self.fs.getattr(handle).type != ftype3.NF3DIR:
                return mountres3(mountstat3.MNT3ERR_NOTDIR)
        except NfsError as error:
            return mountres3(_mount_status(error.status))
        entry = (ctx.client[0].encode(), path)
        if entry not in self.mounts or self.fs.bugs.mnt_lists_a_pair_twice:
            self.mounts.append(entry)
        return mountres3(MNT3_OK, mountres3_ok(handle, list(FLAVORS)))

    def MOUNTPROC3_DUMP(self, args: None, ctx: CallContext) -> list[mountbody]:
        return [mountbody(host, path) for host, path in self.mounts]

    def MOUNTPROC3_UMNT(self, args: bytes, ctx: CallContext) -> None:
        entry = (ctx.client[0].encode(), _normal(args))
        if not self.fs.bugs.umnt_keeps_the_entry:
            self.mounts = [mounted for mounted in self.mounts if mounted != entry]

    def MOUNTPROC3_UMNTALL(self, args: None, ctx: CallContext) -> None:
        host = ctx.client[0].encode()
        self.mounts = [mounted for mounted in self.mounts if mounted[0] != host]

    def MOUNTPROC3_EXPORT(self, args: None, ctx: CallContext) -> list[exportnode]:
        return [exportnode(self.export, [])]


def _normal(path: bytes) -> bytes:
    trimmed = path.rstrip(b"/")
    return trimmed or b"/"


def _mount_status(status: int) -> mountstat3:
    """mountstat3 shares nfsstat3's numbers for the errors both have."""
    try:
        return mountstat3(status)
    except ValueError:
        return mountstat3.MNT3ERR_SERVERFAULT
