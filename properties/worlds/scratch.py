"""A scratch directory as the export's root (`--scratch-dir NAME`): the suite works inside
one directory of somebody else's export instead of emptying all of it.

Rules:
- ScratchMount is a MOUNT caller over the target's own: MNT of the export is sent as it
  is, and when it answers MNT3_OK the handle returned is the scratch directory's, found
  by LOOKUP in the export's root through the target's NFS caller and made by MKDIR (mode
  SCRATCH_MODE, as an export's root usually is) when it is missing (so one an example
  removed, as go-nfs does on RMDIR ".", is made again for the next). So everything that
  mounts through a Target (the machines, the handle scenarios, emptying the export
  before every example, the probe, the pre-run check) gets the scratch directory as its
  root without knowing it. Every other call, and a refused MNT, passes unchanged (MOUNT
  v1's too: an NFSv2 client would get the export's real root, so the probe finds no
  NFSv2 where there is a scratch directory, properties/worlds/probe.py).
- The scratch directory stands for an export's root, whose '..' is itself (as a server
  answers at its export's root, and as the model expects): ScratchNfs, the target's NFS
  caller, sends a LOOKUP of '..' in a scratch directory whose handle MNT returned as
  LOOKUP of '.', so the server answers it about the scratch directory. Nothing else is
  changed; READDIR's '..' entry still names the real parent (at most a warning of the
  server machine that the fileid of '..' is not its directory's).
- A scratch directory that can be neither found nor made, or that is not a directory, is
  ExportUnusable, naming the call and its answer: the export is unusable for the suite,
  as when it cannot be emptied.
"""

from __future__ import annotations

from typing import NoReturn, TypeVar, cast

from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import sattr
from properties.worlds.target import ExportUnusable
from reference.rpc.aio_client import RpcSocketClient
from reference.rpc.stubs import Caller, Procedure
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import (
    MNT3_OK,
    MOUNT_PROGRAM,
    MOUNT_V3,
    MOUNTPROC3_MNT,
    mountres3,
    mountres3_ok,
)
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_NOENT, NFS_V3_Client

A = TypeVar("A")
R = TypeVar("R")

SCRATCH_MODE = 0o777
DOT, DOTDOT = b".", b".."


class ScratchNfs:
    """The NFS caller of a target whose export's root is a scratch directory: LOOKUP '..'
    in it is LOOKUP '.'."""

    def __init__(self, nfs: RpcSocketClient) -> None:
        self.nfs = nfs
        self.roots: set[bytes] = set()  # the scratch directory's handles MNT returned

    @property
    def reconnects(self) -> int:
        """How often the client reconnected (as RpcSocketClient.reconnects)."""
        return self.nfs.reconnects

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        if isinstance(args, nfs3.LOOKUP3args):
            where = args.what
            if where.name == DOTDOT and where.dir.data in self.roots:
                args = cast(A, nfs3.LOOKUP3args(nfs3.diropargs3(where.dir, DOT)))
        return await self.nfs.call(procedure, args)


class ScratchMount:
    """The MOUNT caller of a target whose export's root is the scratch directory `name`."""

    def __init__(
        self, mount: Caller, nfs: ScratchNfs, export: bytes, name: bytes, target: str
    ) -> None:
        self.mount = mount
        self.scratch_nfs = nfs
        self.nfs = NFS_V3_Client(nfs.nfs)
        self.export = export
        self.name = name
        self.target = target

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        reply = await self.mount.call(procedure, args)
        mnt = procedure.program == MOUNT_PROGRAM and procedure.number == MOUNTPROC3_MNT
        mnt = mnt and procedure.version == MOUNT_V3
        if not mnt or args != self.export:
            return reply
        mounted = cast(mountres3, reply)
        if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
            return reply
        root = nfs3.nfs_fh3(mounted.mountinfo.fhandle)
        handle = await self._scratch(root)
        self.scratch_nfs.roots.add(handle.data)
        scratch = mountres3(MNT3_OK, mountres3_ok(handle.data, mounted.mountinfo.auth_flavors))
        return cast(R, scratch)

    async def _scratch(self, root: nfs3.nfs_fh3) -> nfs3.nfs_fh3:
        where = nfs3.diropargs3(root, self.name)
        found = await self.nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(where))
        if found.resok is not None:
            kind = await self.nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(found.resok.object))
            if kind.resok is None:
                self._unusable("GETATTR", kind.status)
            if kind.resok.obj_attributes.type != nfs3.ftype3.NF3DIR:
                raise ExportUnusable(
                    self.target,
                    f"the scratch directory {self._shown} in the export is a "
                    f"{kind.resok.obj_attributes.type.name}, not a directory",
                )
            return found.resok.object
        if found.status != NFS3ERR_NOENT:
            self._unusable("LOOKUP", found.status)
        made = await self.nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(where, sattr(SCRATCH_MODE)))
        if made.resok is None or made.resok.obj.handle is None:
            self._unusable("MKDIR", made.status if made.status != NFS3_OK else None)
        return made.resok.obj.handle

    @property
    def _shown(self) -> str:
        return repr(self.name.decode(errors="replace"))

    def _unusable(self, call: str, status: nfs3.nfsstat3 | None) -> NoReturn:
        answer = "no handle" if status is None else status_name(status)
        raise ExportUnusable(
            self.target,
            f"the scratch directory {self._shown} in the export: {call} answered {answer}",
        )
