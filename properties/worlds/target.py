"""The Target interface every server property is written against.

Rules: a property talks to a server only through a Target: generated NFSv3 / MOUNT v3
stubs bound to the target's Caller, raw messages for same-XID retransmissions, and
crash/restart, network partitions and clock jumps where the world can do them. Worlds differ in how
time passes (virtual in the simulation, real on sockets): `run()` hides that, so the
same property code runs in every world. A capability a world lacks is a flag, never a silent no-op.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

T = TypeVar("T")


class SimulatedOnly(RuntimeError):
    """A socket world was asked for a fault only the simulation can make (its `can_` flag
    said so): partitions and clock jumps."""


class Target(Protocol):
    name: str  # "sim", "loopback" or "target:<url>": printed in failure reports
    export: bytes  # the export path MNT takes
    nfs: NFS_V3_Client
    mount: MOUNT_V3_Client
    can_crash: bool  # crash_and_restart() is supported
    has_drc: bool  # the server promises a duplicate request cache
    can_inject_faults: bool  # the fault source given to the factory reaches the messages
    can_partition: bool  # partition() is supported
    can_jump_clock: bool  # jump_clock() is supported

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine (calls through the stubs) to completion in this world."""
        ...

    async def send_raw(self, message: bytes) -> bytes | None:
        """Send one complete RPC call message as it is (e.g. a retransmission with an
        XID already used) and return the reply to its XID, or None if none came."""
        ...

    def next_xid(self) -> int:
        """An XID no call of this target's client has used, for send_raw."""
        ...

    def crash_and_restart(self) -> None:
        """Crash the server (losing volatile state) and start it again on the same store."""
        ...

    def partition(self, starts_in: float, lasts: float) -> None:
        """Cut the network between client and server `starts_in` seconds from now (while
        the next operations run), for `lasts` seconds."""
        ...

    def jump_clock(self, seconds: float) -> None:
        """Step the server's wall clock by `seconds` (back if negative), as NTP may."""
        ...

    def close(self) -> None: ...
