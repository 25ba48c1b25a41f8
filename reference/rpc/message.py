"""ONC RPC call and reply messages (RFC 5531 section 9), encoded and parsed.

Rules: the header codecs are written out by hand over fixed `struct` layouts because a
server must read a header that the strict generated `rpc_msg` decoder would reject as a
whole (an unknown auth flavor must still yield the xid, to answer AUTH_BADCRED; an RPC
version other than 2 must still be answered RPC_MISMATCH), and because the procedure's
arguments and results follow the header in the same buffer. tests/rpc checks that the
bytes agree with the generated `reference.xdr.gen.rpc_msg` types. Parsing never raises
anything but MalformedMessage.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

RPC_VERSION = 2
CALL = 0
REPLY = 1
MSG_ACCEPTED = 0
MSG_DENIED = 1
SUCCESS = 0
PROG_UNAVAIL = 1
PROG_MISMATCH = 2
PROC_UNAVAIL = 3
GARBAGE_ARGS = 4
SYSTEM_ERR = 5
RPC_MISMATCH = 0
AUTH_ERROR = 1
AUTH_BADCRED = 1
AUTH_NONE_FLAVOR = 0
MAX_AUTH_BYTES = 400

_U32 = struct.Struct(">I")
_XID_TYPE = struct.Struct(">II")
_CALL_HEAD = struct.Struct(">IIIIIII")  # xid CALL rpcvers prog vers proc cred.flavor
_REPLY_HEAD = struct.Struct(">III")  # xid REPLY reply_stat
_ACCEPTED_HEAD = struct.Struct(">IIIIII")  # xid REPLY MSG_ACCEPTED verf(flavor, 0) stat
_NULL_VERIFIER = _U32.pack(AUTH_NONE_FLAVOR) + _U32.pack(0)


class MalformedMessage(ValueError):
    """Bytes that are not the RPC message expected; `xid` is set when it could be read."""

    def __init__(self, reason: str, xid: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.xid = xid


class CallHeader(NamedTuple):
    """A call's header (a NamedTuple: built for every call, and a frozen dataclass's
    __init__ costs ten times as much)."""

    xid: int
    rpcvers: int
    program: int
    version: int
    procedure: int
    cred_flavor: int
    cred_body: bytes
    verf_flavor: int
    verf_body: bytes
    args_offset: int  # where the procedure's arguments start


@dataclass(frozen=True, slots=True)
class ReplyHeader:
    xid: int
    accepted: bool
    stat: int  # accept_stat if accepted, else reject_stat
    auth_stat: int | None = None  # for AUTH_ERROR
    low: int | None = None  # for PROG_MISMATCH and RPC_MISMATCH
    high: int | None = None
    results_offset: int = 0  # for SUCCESS: where the results start


def peek_xid(message: bytes) -> tuple[int, int] | None:
    """(xid, msg_type) of any message, or None if it is shorter than that."""
    if len(message) < 8:
        return None
    xid, msg_type = _XID_TYPE.unpack_from(message)
    return xid, msg_type


def encode_call(
    xid: int, program: int, version: int, procedure: int, credential: bytes, args: bytes
) -> bytes:
    """A CALL message: `credential` is an encoded opaque_auth (see reference.rpc.auth);
    the verifier is AUTH_NONE."""
    head = _XID_TYPE.pack(xid, CALL) + _U32.pack(RPC_VERSION)
    return b"".join(
        (head, struct.pack(">III", program, version, procedure), credential, _NULL_VERIFIER, args)
    )


def parse_call(message: bytes) -> CallHeader:
    """Parse a CALL header. Raises MalformedMessage (with the xid when it is known)."""
    if len(message) < _CALL_HEAD.size:
        raise MalformedMessage(
            f"{len(message)} bytes is too short for a call header",
            None if len(message) < 4 else _U32.unpack_from(message)[0],
        )
    xid, msg_type, rpcvers, program, version, procedure, cred_flavor = _CALL_HEAD.unpack_from(
        message
    )
    if msg_type != CALL:
        raise MalformedMessage(f"msg_type {msg_type} is not CALL", xid)
    offset = _CALL_HEAD.size
    cred_body, offset = _auth_body(message, offset, xid, "credential")
    if offset + 4 > len(message):
        raise MalformedMessage("the verifier is missing", xid)
    (verf_flavor,) = _U32.unpack_from(message, offset)
    verf_body, offset = _auth_body(message, offset + 4, xid, "verifier")
    return CallHeader(
        xid,
        rpcvers,
        program,
        version,
        procedure,
        cred_flavor,
        cred_body,
        verf_flavor,
        verf_body,
        offset,
    )


def _auth_body(message: bytes, offset: int, xid: int, what: str) -> tuple[bytes, int]:
    if offset + 4 > len(message):
        raise MalformedMessage(f"the {what} is truncated", xid)
    (length,) = _U32.unpack_from(message, offset)
    if length > MAX_AUTH_BYTES:
        raise MalformedMessage(f"the {what} body of {length} bytes exceeds 400", xid)
    start = offset + 4
    end = start + length + (-length & 3)
    if end > len(message):
        raise MalformedMessage(f"the {what} is truncated", xid)
    return message[start : start + length], end


def encode_success(xid: int, results: bytes) -> bytes:
    return _ACCEPTED_HEAD.pack(xid, REPLY, MSG_ACCEPTED, AUTH_NONE_FLAVOR, 0, SUCCESS) + results


def encode_accept_error(xid: int, stat: int, low: int = 0, high: int = 0) -> bytes:
    """An accepted reply with a non-SUCCESS accept_stat (low/high for PROG_MISMATCH)."""
    head = _ACCEPTED_HEAD.pack(xid, REPLY, MSG_ACCEPTED, AUTH_NONE_FLAVOR, 0, stat)
    return head + struct.pack(">II", low, high) if stat == PROG_MISMATCH else head


def encode_rpc_mismatch(xid: int) -> bytes:
    return struct.pack(">IIIIII", xid, REPLY, MSG_DENIED, RPC_MISMATCH, RPC_VERSION, RPC_VERSION)


def encode_auth_error(xid: int, auth_stat: int) -> bytes:
    return struct.pack(">IIIII", xid, REPLY, MSG_DENIED, AUTH_ERROR, auth_stat)


def parse_reply(message: bytes) -> ReplyHeader:
    """Parse a REPLY header. Raises MalformedMessage (with the xid when it is known)."""
    try:
        return _parse_reply(message)
    except struct.error:
        known = peek_xid(message)
        raise MalformedMessage("the reply is truncated", known and known[0]) from None


def _parse_reply(message: bytes) -> ReplyHeader:
    xid, msg_type, reply_stat = _REPLY_HEAD.unpack_from(message)
    if msg_type != REPLY:
        raise MalformedMessage(f"msg_type {msg_type} is not REPLY", xid)
    if reply_stat == MSG_DENIED:
        (reject,) = _U32.unpack_from(message, 12)
        if reject == RPC_MISMATCH:
            low, high = struct.unpack_from(">II", message, 16)
            return ReplyHeader(xid, False, reject, low=low, high=high)
        if reject == AUTH_ERROR:
            (auth_stat,) = _U32.unpack_from(message, 16)
            return ReplyHeader(xid, False, reject, auth_stat=auth_stat)
        raise MalformedMessage(f"reject_stat {reject} is unknown", xid)
    if reply_stat != MSG_ACCEPTED:
        raise MalformedMessage(f"reply_stat {reply_stat} is unknown", xid)
    (verf_length,) = _U32.unpack_from(message, 16)
    if verf_length > MAX_AUTH_BYTES:
        raise MalformedMessage(f"the verifier body of {verf_length} bytes exceeds 400", xid)
    offset = 20 + verf_length + (-verf_length & 3)
    (stat,) = _U32.unpack_from(message, offset)
    offset += 4
    if stat == PROG_MISMATCH:
        low, high = struct.unpack_from(">II", message, offset)
        return ReplyHeader(xid, True, stat, low=low, high=high)
    return ReplyHeader(xid, True, stat, results_offset=offset)
