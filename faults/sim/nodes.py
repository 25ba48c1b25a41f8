"""Per-node bookkeeping: addresses, incarnations and the state a crash throws away.

Rules:
- A node is a name; an address is (node name, port).
- A node's incarnation number changes on every crash and every restart. Anything
  scheduled for a node (a timer, a task step, a datagram in flight to it) remembers the
  incarnation it was meant for and is discarded if the number has changed by the time it is
  due: a crash loses exactly what is in flight.
- Bindings, listeners, open streams and tasks are volatile: a crash empties them, and the
  node's `on_start` callback rebuilds them on restart.
- Ephemeral ports keep counting across restarts, so a restarted node never reuses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faults.sim.errors import NodeDown, UnknownNode

if TYPE_CHECKING:
    from faults.sim.streams import SimStream
    from faults.sim.tasks import SimTask
    from faults.sim.world import NodeContext

Address = tuple[str, int]
DatagramHandler = Callable[[bytes, Address], None]
AcceptHandler = Callable[["SimStream"], None]

FIRST_EPHEMERAL_PORT = 49152


@dataclass(slots=True, eq=False)
class NodeRecord:
    name: str
    on_start: Callable[[NodeContext], None]
    incarnation: int = 0
    up: bool = False
    next_ephemeral_port: int = FIRST_EPHEMERAL_PORT
    ports: dict[int, DatagramHandler] = field(default_factory=dict)
    listeners: dict[int, AcceptHandler] = field(default_factory=dict)
    streams: dict[SimStream, None] = field(default_factory=dict)
    tasks: dict[SimTask[Any], None] = field(default_factory=dict)

    def allocate_port(self) -> int:
        port = self.next_ephemeral_port
        self.next_ephemeral_port = port + 1
        return port


def lookup(nodes: dict[str, NodeRecord], name: str) -> NodeRecord:
    """The node called `name`, or a clear error naming the known ones."""
    record = nodes.get(name)
    if record is None:
        raise UnknownNode(f"no node {name!r}; known nodes: {sorted(nodes)}; add it with add_node")
    return record


def running(nodes: dict[str, NodeRecord], name: str) -> NodeRecord:
    """The node called `name`, which must be up."""
    record = lookup(nodes, name)
    if not record.up:
        raise NodeDown(f"node {name!r} is crashed; restart it before it can act")
    return record
