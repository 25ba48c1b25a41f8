"""The one error the NFS store and file system raise: NfsError, carrying an nfsstat3 code.

Rules: `status` is an nfsstat3 value from reference.xdr.gen.nfs3 (never NFS3_OK); the
message says in words what was wrong, for logs and failure reports. The protocol layer
turns an NfsError into the failure arm of the reply, so an operation that raises has
changed nothing (every precondition is checked before the first mutation).
"""

from __future__ import annotations

from reference.xdr.gen.nfs3 import nfsstat3


class NfsError(Exception):
    """An NFS operation failed with `status` (an nfsstat3 code)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{_status_name(status)}: {message}")
        self.status = status
        self.message = message


def _status_name(status: int) -> str:
    try:
        return nfsstat3(status).name
    except ValueError:
        return f"nfsstat3 {status}"
