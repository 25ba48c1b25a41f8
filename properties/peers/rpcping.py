"""NULL calls (procedure 0) that tell whether an ONC RPC program answers.

Rules: one call per connection (TCP, unix stream: record marked) or per datagram (UDP),
AUTH_NONE, a fresh random xid. Only an accepted SUCCESS reply with that xid counts. Every
wait is bounded by `timeout`; refusal, reset, timeout or garbage give False, never an
exception. Messages are built with the reference runtime's codecs (reference.rpc).
"""

from __future__ import annotations

import secrets
import socket
from typing import Literal

from reference.rpc.auth import encode_credential
from reference.rpc.errors import RecordTooLarge
from reference.rpc.message import SUCCESS, MalformedMessage, encode_call, parse_reply
from reference.rpc.record import RecordReader, frame
from reference.rpc.stubs import AuthNone

Transport = Literal["tcp", "udp", "unix"]
_MAX_REPLY = 1 << 16


def null_call(
    address: tuple[str, int] | str,
    program: int,
    version: int,
    *,
    transport: Transport = "tcp",
    timeout: float = 1.0,
) -> bool:
    """True if `program` `version` at `address` (host, port) — or a unix socket path for
    transport "unix" — answers a NULL call with SUCCESS within `timeout` seconds."""
    xid = secrets.randbits(32)
    call = encode_call(xid, program, version, 0, encode_credential(AuthNone()), b"")
    reply: bytes | None
    try:
        if transport == "udp":
            reply = _exchange_datagram(address, call, timeout)
        else:
            family = socket.AF_UNIX if transport == "unix" else socket.AF_INET
            reply = _exchange_stream(family, address, call, timeout)
        header = parse_reply(reply) if reply is not None else None
    except (OSError, MalformedMessage, RecordTooLarge):
        return False
    return header is not None and header.xid == xid and header.accepted and header.stat == SUCCESS


def _exchange_stream(
    family: socket.AddressFamily, address: tuple[str, int] | str, call: bytes, timeout: float
) -> bytes | None:
    with socket.socket(family, socket.SOCK_STREAM) as stream:
        stream.settimeout(timeout)
        stream.connect(address)
        stream.sendall(frame(call))
        reader = RecordReader(max_record=_MAX_REPLY)
        while True:
            data = stream.recv(_MAX_REPLY)
            if not data:
                return None
            records = reader.feed(data)
            if records:
                return records[0]


def _exchange_datagram(address: tuple[str, int] | str, call: bytes, timeout: float) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        datagram.settimeout(timeout)
        datagram.sendto(call, address)
        return datagram.recv(_MAX_REPLY)
