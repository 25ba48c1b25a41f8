"""MOUNT version 1 (RFC 1094 Appendix A): what an NFSv2 client mounts through.

Rules:
- Every procedure is the MOUNT v3 service's (reference.nfs.mount_service), on its mount
  list: v1 and v3 mounts are one list, as in Linux's mountd.
- MNT answers fhstatus: the errno (the same numbers as mountstat3's) and, on success, the
  32-byte NFSv2 form of the export's handle (reference.nfs.handles.to_v2), which the NFSv2
  service takes as it comes.
"""

from __future__ import annotations

from reference.nfs.handles import to_v2
from reference.nfs.mount_service import MountService
from reference.rpc.stubs import CallContext
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V1_Server, exportnode, fhstatus, mountbody


class MountV1Service(MOUNT_V1_Server):
    def __init__(self, v3: MountService) -> None:
        self.v3 = v3

    def MOUNTPROC_MNT(self, args: bytes, ctx: CallContext) -> fhstatus:
        mounted = self.v3.MOUNTPROC3_MNT(args, ctx)
        if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
            return fhstatus(int(mounted.fhs_status))
        return fhstatus(0, to_v2(mounted.mountinfo.fhandle))

    def MOUNTPROC_DUMP(self, args: None, ctx: CallContext) -> list[mountbody]:
        return self.v3.MOUNTPROC3_DUMP(args, ctx)

    def MOUNTPROC_UMNT(self, args: bytes, ctx: CallContext) -> None:
        self.v3.MOUNTPROC3_UMNT(args, ctx)

    def MOUNTPROC_UMNTALL(self, args: None, ctx: CallContext) -> None:
        self.v3.MOUNTPROC3_UMNTALL(args, ctx)

    def MOUNTPROC_EXPORT(self, args: None, ctx: CallContext) -> list[exportnode]:
        return self.v3.MOUNTPROC3_EXPORT(args, ctx)
