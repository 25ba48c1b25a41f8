"""The errors the NFS client raises: OSErrors with the errno an NFS status maps to.

Rules:
- Every failure the client reports is an OSError whose `errno` follows the Linux client's
  mapping of nfsstat3 (NFS3ERR_NOENT -> ENOENT, ...). Python picks the OSError subclass
  from the errno (FileNotFoundError, FileExistsError, NotADirectoryError, ...); ESTALE has
  no builtin subclass, so it is StaleFileHandle.
- Statuses that mean nothing to a program (BADHANDLE, NOT_SYNC, BAD_COOKIE, TOOSMALL,
  BADTYPE) become EIO/EINVAL as Linux's userspace sees them; SERVERFAULT is EREMOTEIO;
  JUKEBOX is EAGAIN.
- An RPC failure (a soft mount giving up, a denied or unparsable reply) is EIO, with the
  RPC error chained as the cause. The message names the NFS status or the RPC error, and
  the path when there is one.
"""

from __future__ import annotations

import errno

from reference.rpc.errors import RpcError, RpcTimeout
from reference.xdr.gen.nfs3 import nfsstat3

_ERRNO: dict[int, int] = {
    nfsstat3.NFS3ERR_PERM: errno.EPERM,
    nfsstat3.NFS3ERR_NOENT: errno.ENOENT,
    nfsstat3.NFS3ERR_IO: errno.EIO,
    nfsstat3.NFS3ERR_NXIO: errno.ENXIO,
    nfsstat3.NFS3ERR_ACCES: errno.EACCES,
    nfsstat3.NFS3ERR_EXIST: errno.EEXIST,
    nfsstat3.NFS3ERR_XDEV: errno.EXDEV,
    nfsstat3.NFS3ERR_NODEV: errno.ENODEV,
    nfsstat3.NFS3ERR_NOTDIR: errno.ENOTDIR,
    nfsstat3.NFS3ERR_ISDIR: errno.EISDIR,
    nfsstat3.NFS3ERR_INVAL: errno.EINVAL,
    nfsstat3.NFS3ERR_FBIG: errno.EFBIG,
    nfsstat3.NFS3ERR_NOSPC: errno.ENOSPC,
    nfsstat3.NFS3ERR_ROFS: errno.EROFS,
    nfsstat3.NFS3ERR_MLINK: errno.EMLINK,
    nfsstat3.NFS3ERR_NAMETOOLONG: errno.ENAMETOOLONG,
    nfsstat3.NFS3ERR_NOTEMPTY: errno.ENOTEMPTY,
    nfsstat3.NFS3ERR_DQUOT: errno.EDQUOT,
    nfsstat3.NFS3ERR_STALE: errno.ESTALE,
    nfsstat3.NFS3ERR_REMOTE: errno.EREMOTE,
    nfsstat3.NFS3ERR_BADHANDLE: errno.ESTALE,
    nfsstat3.NFS3ERR_NOT_SYNC: errno.EIO,
    nfsstat3.NFS3ERR_BAD_COOKIE: errno.EIO,
    nfsstat3.NFS3ERR_NOTSUPP: errno.EOPNOTSUPP,
    nfsstat3.NFS3ERR_TOOSMALL: errno.EIO,
    nfsstat3.NFS3ERR_SERVERFAULT: errno.EREMOTEIO,
    nfsstat3.NFS3ERR_BADTYPE: errno.EINVAL,
    nfsstat3.NFS3ERR_JUKEBOX: errno.EAGAIN,
}


class StaleFileHandle(OSError):
    """ESTALE: the file a handle named is gone from the server."""


def errno_of(status: int) -> int:
    """The errno a (non-OK) nfsstat3 maps to; EIO for statuses outside RFC 1813."""
    return _ERRNO.get(status, errno.EIO)


def status_name(status: int) -> str:
    try:
        return nfsstat3(status).name
    except ValueError:
        return f"nfsstat3 {status}"


def nfs_error(status: int, operation: str, path: str | None = None) -> OSError:
    """The OSError for a failed NFS call."""
    code = errno_of(status)
    message = f"{operation}: server answered {status_name(status)}"
    if code == errno.ESTALE:
        return StaleFileHandle(code, message, path)
    return OSError(code, message, path)


def rpc_failure(error: RpcError, operation: str, path: str | None = None) -> OSError:
    """EIO for an RPC that failed (chain the RpcError as the cause when raising)."""
    if isinstance(error, RpcTimeout):
        return OSError(errno.EIO, f"{operation}: server not responding (soft mount): {error}", path)
    return OSError(errno.EIO, f"{operation}: RPC failed: {error}", path)
