"""What an RPC message is, as a fault proxy sees it: direction, XID, program, procedure.

Rules:
- A message's direction is its msg_type: "call" (CALL) or "reply" (REPLY). Bytes too
  short to hold an XID and a msg_type, or with another msg_type, keep the direction of
  the side that sent them (client side: "call", server side: "reply") and have no XID.
- A call names its program, version and procedure in its header. A reply does not: it
  gets them from the call with the same XID, remembered by the `CallMemory` of its
  conversation (one per UDP client address, one per TCP connection). A reply whose call
  was never seen, or was forgotten, has no program or procedure.
- A `CallMemory` holds at most `capacity` XIDs; a new one forgets the oldest. Nothing is
  forgotten when a reply arrives: duplicated replies need the call too.
- Procedures are named from the generated stubs of the programs the project knows (NFS v2
  and v3, MOUNT v3, portmap v2, counter v1); any other is named "PROG.VERS.PROC".
- Identifying a message never raises and never copies its bytes.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from reference.rpc.message import CALL as MSG_CALL
from reference.rpc.message import REPLY as MSG_REPLY
from reference.xdr.gen.counter import COUNTER_V1_PROCEDURES
from reference.xdr.gen.mount3 import MOUNT_V3_PROCEDURES
from reference.xdr.gen.nfs2 import NFS_VERSION_PROCEDURES
from reference.xdr.gen.nfs3 import NFS_V3_PROCEDURES
from reference.xdr.gen.portmap import PMAP_VERS_PROCEDURES

CALL: Final = "call"
REPLY: Final = "reply"
DIRECTIONS: Final = (CALL, REPLY)
CALL_MEMORY_CAPACITY: Final = 1024

_XID_TYPE = struct.Struct(">II")
_PROGRAM = struct.Struct(">III")  # program, version, procedure at offset 12 of a call
_CALL_HEADER_SIZE = 24

Program = tuple[int, int, int]  # program, version, procedure


def _known_names() -> dict[Program, str]:
    names: dict[Program, str] = {}
    tables = (
        NFS_V3_PROCEDURES,
        NFS_VERSION_PROCEDURES,
        MOUNT_V3_PROCEDURES,
        PMAP_VERS_PROCEDURES,
        COUNTER_V1_PROCEDURES,
    )
    for table in tables:
        for procedure in table.values():
            names[(procedure.program, procedure.version, procedure.number)] = procedure.name
    return names


_NAMES: Final = _known_names()


def procedure_name(program: int, version: int, procedure: int) -> str:
    """NFSPROC3_REMOVE for (100003, 3, 12); "PROG.VERS.PROC" for a program not known here."""
    name = _NAMES.get((program, version, procedure))
    return name if name is not None else f"{program}.{version}.{procedure}"


class MessageId(NamedTuple):
    """Who a message is: what rules match and what the trace's notes say (a tuple: made
    for every message, so made cheaply)."""

    direction: str
    xid: int | None
    program: int | None
    version: int | None
    procedure: int | None
    size: int

    @property
    def name(self) -> str:
        """The procedure's name, "?" when unknown."""
        if self.program is None or self.version is None or self.procedure is None:
            return "?"
        return procedure_name(self.program, self.version, self.procedure)

    @property
    def note(self) -> str:
        """The trace note: `call NFSPROC3_REMOVE xid=17` (`call ? (3 bytes, not RPC)`)."""
        if self.xid is None:
            return f"{self.direction} ? ({self.size} bytes, not RPC)"
        return f"{self.direction} {self.name} xid={self.xid}"


class CallMemory:
    """The calls of one conversation, by XID, so that replies can be named."""

    __slots__ = ("_calls", "capacity")

    def __init__(self, capacity: int = CALL_MEMORY_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"a call memory needs a capacity of at least 1, not {capacity}")
        self.capacity = capacity
        self._calls: dict[int, Program] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def remember(self, xid: int, program: Program) -> None:
        calls = self._calls
        if xid not in calls and len(calls) >= self.capacity:
            del calls[next(iter(calls))]
        calls[xid] = program

    def recall(self, xid: int) -> Program | None:
        return self._calls.get(xid)


def identify(message: bytes, from_client: bool, memory: CallMemory) -> MessageId:
    """The identity of `message`, sent by the client side (`from_client`) or the server
    side of a conversation; a call is remembered in `memory`."""
    size = len(message)
    side = CALL if from_client else REPLY
    if size < 8:
        return MessageId(side, None, None, None, None, size)
    xid, msg_type = _XID_TYPE.unpack_from(message)
    if msg_type == MSG_CALL:
        if size < _CALL_HEADER_SIZE:
            return MessageId(CALL, xid, None, None, None, size)
        program, version, procedure = _PROGRAM.unpack_from(message, 12)
        memory.remember(xid, (program, version, procedure))
        return MessageId(CALL, xid, program, version, procedure, size)
    if msg_type == MSG_REPLY:
        known = memory.recall(xid)
        if known is None:
            return MessageId(REPLY, xid, None, None, None, size)
        return MessageId(REPLY, xid, known[0], known[1], known[2], size)
    return MessageId(side, None, None, None, None, size)
