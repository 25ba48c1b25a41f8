"""MOUNT version 3 (RFC 1813 appendix I): hands out the export's root handle.

Rules:
- One export. MNT of the export path (trailing slashes ignored) or of a directory under
  it returns that directory's handle and the flavors served (AUTH_SYS, AUTH_NONE); a
  path outside the export is MNT3ERR_ACCES, a missing component NOENT, a non-directory
  NOTDIR (a path over MNTPATHLEN never decodes: GARBAGE_ARGS). Paths are resolved with
  the caller's identity, one LOOKUP at a time, so '..' cannot climb out of the export.
- The mount list (DUMP) is volatile, like Linux's rmtab without its file: a restart
  forgets it. UMNT and UMNTALL only edit that list.
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
        self.mounts: dict[tuple[bytes, bytes], None] = {}

    def MOUNTPROC3_MNT(self, args: bytes, ctx: CallContext) -> mountres3:
        path = _normal(args)
        if path != self.export and not path.startswith(self.export + b"/"):
            return mountres3(mountstat3.MNT3ERR_ACCES)
        who = identity_of(ctx.credential, self.root_squash)
        try:
            handle = self.fs.root_handle()
            for name in path[len(self.export) :].split(b"/"):
                if name:
                    handle = self.fs.lookup(handle, name, who).handle
            if self.fs.getattr(handle).type != ftype3.NF3DIR:
                return mountres3(mountstat3.MNT3ERR_NOTDIR)
        except NfsError as error:
            return mountres3(_mount_status(error.status))
        self.mounts[(ctx.client[0].encode(), path)] = None
        return mountres3(MNT3_OK, mountres3_ok(handle, list(FLAVORS)))

    def MOUNTPROC3_DUMP(self, args: None, ctx: CallContext) -> list[mountbody]:
        return [mountbody(host, path) for host, path in self.mounts]

    def MOUNTPROC3_UMNT(self, args: bytes, ctx: CallContext) -> None:
        self.mounts.pop((ctx.client[0].encode(), _normal(args)), None)

    def MOUNTPROC3_UMNTALL(self, args: None, ctx: CallContext) -> None:
        host = ctx.client[0].encode()
        for key in [key for key in self.mounts if key[0] == host]:
            del self.mounts[key]

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
