"""Which NFS and MOUNT calls the reference server's duplicate request cache keeps.

Rules:
- NFS3_NON_IDEMPOTENT holds the NFSv3 procedures whose repeated execution is not harmless:
  SETATTR, WRITE, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK (the ones Linux
  knfsd caches, fs/nfsd/nfs3proc.c). NFS2_NON_IDEMPOTENT holds the NFSv2 ones: SETATTR,
  WRITE, CREATE, REMOVE, RENAME, LINK, SYMLINK, MKDIR, RMDIR (fs/nfsd/nfsproc.c). Both are
  written with the generated procedure numbers, never bare numbers.
- NFS_DRC_POLICY caches exactly those, and no MOUNT v3 procedure (Linux's mountd has no
  cache). Any other program a server serves beside them (the portmapper) keeps the RPC
  layer's default: every procedure but NULL.
- This module is the one statement of the fact: the RPC layer is given NFS_DRC_POLICY by
  whoever builds a cache for an NFS server, and the suite derives its lists of
  non-idempotent and state-changing procedures from NFS3_NON_IDEMPOTENT.
"""

from __future__ import annotations

from types import MappingProxyType

from reference.rpc.drc import CachePolicy
from reference.xdr.gen import nfs2, nfs3
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3

NFS3_NON_IDEMPOTENT: frozenset[int] = frozenset(
    {
        nfs3.NFSPROC3_SETATTR,
        nfs3.NFSPROC3_WRITE,
        nfs3.NFSPROC3_CREATE,
        nfs3.NFSPROC3_MKDIR,
        nfs3.NFSPROC3_SYMLINK,
        nfs3.NFSPROC3_MKNOD,
        nfs3.NFSPROC3_REMOVE,
        nfs3.NFSPROC3_RMDIR,
        nfs3.NFSPROC3_RENAME,
        nfs3.NFSPROC3_LINK,
    }
)
NFS2_NON_IDEMPOTENT: frozenset[int] = frozenset(
    {
        nfs2.NFSPROC_SETATTR,
        nfs2.NFSPROC_WRITE,
        nfs2.NFSPROC_CREATE,
        nfs2.NFSPROC_REMOVE,
        nfs2.NFSPROC_RENAME,
        nfs2.NFSPROC_LINK,
        nfs2.NFSPROC_SYMLINK,
        nfs2.NFSPROC_MKDIR,
        nfs2.NFSPROC_RMDIR,
    }
)
NFS_DRC_POLICY = CachePolicy(
    cached=MappingProxyType(
        {
            (nfs3.NFS_PROGRAM, nfs3.NFS_V3): NFS3_NON_IDEMPOTENT,
            (nfs2.NFS_PROGRAM, nfs2.NFS_VERSION): NFS2_NON_IDEMPOTENT,
            (MOUNT_PROGRAM, MOUNT_V3): frozenset(),
        }
    ),
    default_for_unknown=True,
)
