"""The Target interface every server property is written against, and a world's Capabilities.

Rules:
- A property talks to a server only through a Target: a generic RPC `caller` for the NFS
  port and `mount_caller` for MOUNT (the same caller when the server serves MOUNT on the
  NFS port); each family binds its own generated stubs to them. Raw messages go through
  `send_raw` for same-XID retransmissions. `sim` is the simulated world when the target
  lives in one (its trace goes into replay files), None on real sockets.
- Several clients: `another_client()` is one more client of the same server, a RawClient
  with an address of its own (the simulation: a node of its own; real sockets: a socket
  of its own, so a local port of its own, over UDP where the server serves it, else TCP,
  as `send_raw` chooses), that sends raw calls as `send_raw` does. It lives as long as
  the target (an example's: until the example's target is closed). The target itself is
  the first client; the XIDs a property gives its clients' calls are its own business
  (colliding ones included: that is what a duplicate request cache must tell apart).
- Worlds differ in how time passes (virtual in the simulation, real on sockets): `run()`
  hides that, so the same property code runs in every world.
- What a world can do is its Capabilities, known before any target is built (the world
  registry, properties/worlds/registry.py, declares them); every target carries its
  world's. SIMULATED, REAL_SOCKETS and GONFS are the declared ones of our worlds. A
  capability a world lacks is a False field, never a silent no-op: asked
  anyway, a socket world raises SimulatedOnly. What the server supports of the optional
  parts of NFSv3 is its `features`, probed once per server (properties/worlds/probe.py).
- A TargetFactory builds an example's target from its fault source, whether the server's
  duplicate request cache is on, and the fault rates (None: no faults).
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # the registry reads this module; it stays light for `nfsprop --help`
    from faults.sim import FaultRates, FaultSource, SimWorld
    from properties.worlds.probe import Features
    from reference.rpc.aio_client import WireMessage
    from reference.rpc.stubs import AuthSys, Caller

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a world can do to its server and its network."""

    crashes: bool  # crash_and_restart() kills the server and starts it on the same store
    drc: bool  # a server with a duplicate request cache can be had (drc=True)
    drc_off: bool  # a server without a duplicate request cache can be had (drc=False)
    network_faults: bool  # the example's fault source decides the fate of each message
    partitions: bool  # partition() cuts the network between client and server
    clock_jumps: bool  # jump_clock() steps the server's wall clock
    # a handle made before crash_and_restart() still names its object after it (what the
    # crash property relies on); None: not known (a --target server without --restart-cmd)
    handles_survive_restart: bool | None


# The simulation can do everything to its server and network.
SIMULATED = Capabilities(
    crashes=True,
    drc=True,
    drc_off=True,
    network_faults=True,
    partitions=True,
    clock_jumps=True,
    handles_survive_restart=True,
)
# A server of ours on real sockets (nfsprop serve, NFS-Ganesha): killed and restarted
# (its handles are persistent), started without its cache, reached through a fault
# proxy; its clock and the kernel's network are real.
REAL_SOCKETS = Capabilities(
    crashes=True,
    drc=True,
    drc_off=True,
    network_faults=True,
    partitions=False,
    clock_jumps=False,
    handles_survive_restart=True,
)
# go-nfs: killed and restarted, reached through a fault proxy; it has no cache at all (so
# none to turn off: the suite's own power without a cache is shown where one can be), and
# its handles live in memory: a restart loses them.
GONFS = Capabilities(
    crashes=True,
    drc=False,
    drc_off=False,
    network_faults=True,
    partitions=False,
    clock_jumps=False,
    handles_survive_restart=False,
)


class SimulatedOnly(RuntimeError):
    """A socket world was asked for a fault only the simulation can make (its Capabilities
    said so): partitions and clock jumps."""


class ExportUnusable(RuntimeError):
    """The export cannot be mounted or emptied: `reason` says which call answered what."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target}: {reason}")
        self.reason = reason


class RawClient(Protocol):
    """A client that sends whole RPC call messages (Target.send_raw, another_client())."""

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None: ...


class Target(Protocol):
    @property
    def name(self) -> str: ...  # "sim", "loopback" or "target:<url>": printed in reports

    @property
    def export(self) -> bytes: ...  # the export path MNT takes

    @property
    def caller(self) -> Caller: ...  # the NFS port

    @property
    def mount_caller(self) -> Caller: ...  # the MOUNT port

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def sim(self) -> SimWorld | None: ...  # the simulated world the target lives in, if any

    @property
    def features(self) -> Features: ...  # what the server supports (worlds/probe.py)

    @property
    def credential(self) -> AuthSys: ...  # the AUTH_SYS identity of every call (--uid/--gid)

    @property
    def wire(self) -> list[WireMessage] | None: ...  # the example's RPC messages, on sockets

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine (calls through the callers) to completion in this world."""
        ...

    async def send_raw(self, message: bytes, reconnect: bool = False) -> bytes | None:
        """Send one complete RPC call message as it is (e.g. a retransmission with an
        XID already used) and return the reply to its XID, or None if none came. Over
        TCP, `reconnect` first resets the raw connection and opens a new one from the same
        local port, as a client's reconnect does; datagrams have no connection to renew."""
        ...

    def next_xid(self) -> int:
        """An XID no call of this target's client has used, for send_raw."""
        ...

    def another_client(self) -> RawClient:
        """One more client of the server, with an address of its own (see the rules)."""
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


class TargetFactory(Protocol):
    def __call__(
        self, faults: FaultSource, drc: bool = True, rates: FaultRates | None = None
    ) -> Target: ...
