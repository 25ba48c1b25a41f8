"""What the server properties send: NFSv3 procedures by name, attribute sets, raw calls.

Rules:
- Procedures are the generated descriptors (reference.xdr.gen.nfs3), typed per procedure;
  NON_IDEMPOTENT lists the ones a duplicate request cache must answer from its cache: the
  descriptors of reference.nfs.drc_policy.NFS3_NON_IDEMPOTENT, the reference server's own
  list, so the suite and the server cannot disagree.
- A raw call is a whole RPC call message with an XID the caller chose, for sending the
  same bytes twice through `Target.send_raw`. Raw calls carry AUTH_SYS root credentials,
  as the suite's clients do. `decode_reply` turns a raw reply back into the result, and
  raises RawReplyError for anything but an accepted, successful reply.
- `same_xid_replies` sends one raw call the way a retransmitting client does (twice with
  one XID; over TCP a third time after a reconnect from the same local port) and returns
  every reply: the NFSv3 and NFSv2 machines judge them alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from reference.nfs.drc_policy import NFS3_NON_IDEMPOTENT
from reference.rpc import message
from reference.rpc.auth import encode_credential
from reference.rpc.stubs import AuthSys, Procedure
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs3 import NFS_V3_PROCEDURES

if TYPE_CHECKING:
    from properties.worlds.target import Target

A = TypeVar("A")
R = TypeVar("R")

GETATTR: Procedure[nfs3.GETATTR3args, nfs3.GETATTR3res] = NFS_V3_PROCEDURES[1]
SETATTR: Procedure[nfs3.SETATTR3args, nfs3.SETATTR3res] = NFS_V3_PROCEDURES[2]
LOOKUP: Procedure[nfs3.LOOKUP3args, nfs3.LOOKUP3res] = NFS_V3_PROCEDURES[3]
READLINK: Procedure[nfs3.READLINK3args, nfs3.READLINK3res] = NFS_V3_PROCEDURES[5]
READ: Procedure[nfs3.READ3args, nfs3.READ3res] = NFS_V3_PROCEDURES[6]
WRITE: Procedure[nfs3.WRITE3args, nfs3.WRITE3res] = NFS_V3_PROCEDURES[7]
CREATE: Procedure[nfs3.CREATE3args, nfs3.CREATE3res] = NFS_V3_PROCEDURES[8]
MKDIR: Procedure[nfs3.MKDIR3args, nfs3.MKDIR3res] = NFS_V3_PROCEDURES[9]
SYMLINK: Procedure[nfs3.SYMLINK3args, nfs3.SYMLINK3res] = NFS_V3_PROCEDURES[10]
MKNOD: Procedure[nfs3.MKNOD3args, nfs3.MKNOD3res] = NFS_V3_PROCEDURES[11]
REMOVE: Procedure[nfs3.REMOVE3args, nfs3.REMOVE3res] = NFS_V3_PROCEDURES[12]
RMDIR: Procedure[nfs3.RMDIR3args, nfs3.RMDIR3res] = NFS_V3_PROCEDURES[13]
RENAME: Procedure[nfs3.RENAME3args, nfs3.RENAME3res] = NFS_V3_PROCEDURES[14]
LINK: Procedure[nfs3.LINK3args, nfs3.LINK3res] = NFS_V3_PROCEDURES[15]
READDIR: Procedure[nfs3.READDIR3args, nfs3.READDIR3res] = NFS_V3_PROCEDURES[16]
READDIRPLUS: Procedure[nfs3.READDIRPLUS3args, nfs3.READDIRPLUS3res] = NFS_V3_PROCEDURES[17]
COMMIT: Procedure[nfs3.COMMIT3args, nfs3.COMMIT3res] = NFS_V3_PROCEDURES[21]

NON_IDEMPOTENT: frozenset[Procedure[Any, Any]] = frozenset(
    NFS_V3_PROCEDURES[number] for number in NFS3_NON_IDEMPOTENT
)


class RawReplyError(AssertionError):
    """A raw call got no reply, or a reply that is not an accepted SUCCESS."""


def sattr(mode: int | None = None, size: int | None = None) -> nfs3.sattr3:
    """A sattr3 setting the mode and/or size, leaving everything else alone."""
    return nfs3.sattr3(
        nfs3.set_mode3(mode is not None, mode),
        nfs3.set_uid3(False),
        nfs3.set_gid3(False),
        nfs3.set_size3(size is not None, size),
        nfs3.set_atime(nfs3.DONT_CHANGE),
        nfs3.set_mtime(nfs3.DONT_CHANGE),
    )


def raw_call(xid: int, procedure: Procedure[A, R], args: A, credential: AuthSys) -> bytes:
    """One whole call message, as the target's own client would send it."""
    return message.encode_call(
        xid,
        procedure.program,
        procedure.version,
        procedure.number,
        encode_credential(credential),
        procedure.encode_args(args),
    )


def decode_reply(procedure: Procedure[A, R], reply: bytes | None) -> R:
    if reply is None:
        raise RawReplyError(f"{procedure.name}: no reply to the raw call")
    header = message.parse_reply(reply)
    if not header.accepted or header.stat != message.SUCCESS:
        raise RawReplyError(f"{procedure.name}: the raw call was answered {header}")
    return procedure.decode_result(reply[header.results_offset :])


def same_xid_replies(
    target: Target, procedure: Procedure[A, R], args: A
) -> tuple[int, list[bytes | None]]:
    """The XID, and the replies to one call sent as a retransmitting client sends it."""
    xid = target.next_xid()
    call = raw_call(xid, procedure, args, target.credential)
    replies = [target.run(target.send_raw(call)), target.run(target.send_raw(call))]
    if target.sim is None and not target.features.udp:
        # over TCP, once more after a reconnect from the same port, as a client does
        replies.append(target.run(target.send_raw(call, reconnect=True)))
    return xid, replies
