"""What the NFSv2 machine sends, how it mounts, and how a v2 status reads against the model.

Rules:
- Procedures are the generated descriptors (reference.xdr.gen.nfs2), typed per procedure;
  NON_IDEMPOTENT are the descriptors of reference.nfs.drc_policy.NFS2_NON_IDEMPOTENT, the
  reference server's own list.
- An NFSv2 client mounts with MOUNT v1 (RFC 1094 Appendix A): `mount_v1` MNTs the export.
  Whether a server serves NFSv2 and MOUNT v1 at all is its probed feature `nfs2`
  (properties/worlds/probe.py): a server without them is UNSUPPORTED, never a failure.
- `sattr2` sets a mode and/or a size and leaves every other field all ones ("unchanged",
  RFC 1094 §2.3.6).
- `readings(status)`: the NFSv3 statuses (the model's language) a v2 status may stand for.
  The numbers v2 has are the same in v3; v2 has no code for the others (INVAL, NOTSUPP,
  BADHANDLE...), so NFSERR_IO, its general failure, stands for every v3-only one, and
  NFSERR_STALE also for BADHANDLE (what Linux answers for both).
"""

from __future__ import annotations

from typing import Any

from properties.worlds.target import Target
from reference.nfs.drc_policy import NFS2_NON_IDEMPOTENT
from reference.rpc.stubs import Procedure
from reference.xdr.gen import nfs2
from reference.xdr.gen.mount3 import MOUNT_V1_Client, fhstatus
from reference.xdr.gen.nfs2 import NFS_VERSION_PROCEDURES, stat
from reference.xdr.gen.nfs3 import nfsstat3

GETATTR: Procedure[bytes, nfs2.attrstat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_GETATTR]
SETATTR: Procedure[nfs2.sattrargs, nfs2.attrstat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_SETATTR]
LOOKUP: Procedure[nfs2.diropargs, nfs2.diropres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_LOOKUP]
READLINK: Procedure[bytes, nfs2.readlinkres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_READLINK]
READ: Procedure[nfs2.readargs, nfs2.readres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_READ]
WRITE: Procedure[nfs2.writeargs, nfs2.attrstat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_WRITE]
CREATE: Procedure[nfs2.createargs, nfs2.diropres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_CREATE]
REMOVE: Procedure[nfs2.diropargs, stat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_REMOVE]
RENAME: Procedure[nfs2.renameargs, stat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_RENAME]
LINK: Procedure[nfs2.linkargs, stat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_LINK]
SYMLINK: Procedure[nfs2.symlinkargs, stat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_SYMLINK]
MKDIR: Procedure[nfs2.createargs, nfs2.diropres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_MKDIR]
RMDIR: Procedure[nfs2.diropargs, stat] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_RMDIR]
READDIR: Procedure[nfs2.readdirargs, nfs2.readdirres] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_READDIR]
NULL: Procedure[None, None] = NFS_VERSION_PROCEDURES[nfs2.NFSPROC_NULL]

NON_IDEMPOTENT: frozenset[Procedure[Any, Any]] = frozenset(
    NFS_VERSION_PROCEDURES[number] for number in NFS2_NON_IDEMPOTENT
)
UNCHANGED = 0xFFFF_FFFF
UNSET_TIME = nfs2.timeval(UNCHANGED, UNCHANGED)
_V2_CODES = frozenset(int(code) for code in stat)
_V3_ONLY = tuple(code for code in nfsstat3 if int(code) not in _V2_CODES)


def sattr2(mode: int | None = None, size: int | None = None) -> nfs2.sattr:
    return nfs2.sattr(
        UNCHANGED if mode is None else mode,
        UNCHANGED,
        UNCHANGED,
        UNCHANGED if size is None else size,
        UNSET_TIME,
        UNSET_TIME,
    )


async def mount_v1(target: Target) -> fhstatus:
    """MOUNT v1 MNT of the target's export."""
    return await MOUNT_V1_Client(target.mount_caller).MOUNTPROC_MNT(target.export)


def readings(status: int) -> tuple[int, ...]:
    """The NFSv3 statuses an NFSv2 `status` may stand for (see the module rules)."""
    if status == stat.NFSERR_IO:
        return (status, *_V3_ONLY)
    if status == stat.NFSERR_STALE:
        return (status, nfsstat3.NFS3ERR_BADHANDLE)
    return (status,)
