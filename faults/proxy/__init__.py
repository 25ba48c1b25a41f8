"""Fault proxies on real sockets: per-RPC-message faults between any client and any server.

A proxy listens where the client connects and forwards to the server. Every RPC message —
one UDP datagram, one TCP record — is named (direction, XID, program, version, procedure;
a reply is named after its call) and then delivered, dropped, duplicated, delayed or
reordered, as steering rules or else a `FaultSource` decide, with the simulation world's
decisions (faults.sim.message_faults), so seeds, Hypothesis schedules and recordings mean
the same in both worlds. Every event goes to a faults.sim.trace.Trace in the simulation's
format. The modules, one job each:

- messages.py: naming messages (MessageId, CallMemory, identify).
- steering.py: rules tests give step by step (Rule, Action, Steering).
- core.py: the sans-I/O decision and trace core (ProxyCore, Copy, Plan).
- base.py: what both proxies share (ports, steering, wait_steered, stats).
- udp.py: UdpProxy.  tcp.py: TcpProxy (record-aware, sticky upstream ports).
- threaded.py: ThreadedProxy, a proxy on its own thread for blocking callers.
- standalone.py: `nfsprop proxy`.

Using one from a test (on the test's event loop):

    async with UdpProxy(("127.0.0.1", server_port), faults=SeededFaults(7),
                        rates=FaultRates(drop=0.1), trace=trace) as proxy:
        client = await RpcSocketClient.connect("127.0.0.1", proxy.port, "udp")
        steering = proxy.steer(Rule(DROP, direction="reply", procedure=12))
        ...  # the reply to the next REMOVE is dropped
        await proxy.wait_steered(steering)

For worlds and replay files: pass `faults=RecordingFaults(source)` and keep
`recording.choices` to replay with `ReplayFaults(choices)`; decisions are drawn in the
order messages reach the proxy, so a replay on real sockets repeats the run as far as the
message order repeats (always for one sequential client with `faulty=("call",)`).
`faulty` restricts which directions draw decisions. TcpProxy.reset_connections() cuts
every client connection (a client that comes back from the same port reaches the server
from the same proxy port, so the server's duplicate request cache still knows it).
"""

from faults.proxy.base import ProxyBase, ProxyStats
from faults.proxy.core import Copy, Plan, ProxyCore
from faults.proxy.messages import CALL, REPLY, CallMemory, MessageId, identify, procedure_name
from faults.proxy.steering import (
    DELAY,
    DELIVER,
    DROP,
    DUPLICATE,
    REORDER,
    Action,
    Rule,
    Steering,
)
from faults.proxy.tcp import TcpProxy
from faults.proxy.threaded import ThreadedProxy
from faults.proxy.udp import UdpProxy

__all__ = [
    "CALL",
    "DELAY",
    "DELIVER",
    "DROP",
    "DUPLICATE",
    "REORDER",
    "REPLY",
    "Action",
    "CallMemory",
    "Copy",
    "MessageId",
    "Plan",
    "ProxyBase",
    "ProxyCore",
    "ProxyStats",
    "Rule",
    "Steering",
    "TcpProxy",
    "ThreadedProxy",
    "UdpProxy",
    "identify",
    "procedure_name",
]
