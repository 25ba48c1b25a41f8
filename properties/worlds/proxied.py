"""Per-message faults for the real-socket worlds: an example's target reached through a
fresh RPC-aware TCP fault proxy (faults/proxy) bound to the example's fault source.

Rules:
- One proxy per example: a TcpProxy on a free 127.0.0.1 port, forwarding to the shared
  server, on the example's own SocketTarget's event loop (so fault decisions are drawn in
  the test's thread, while the example runs: Hypothesis data can only be drawn there);
  the target's client connects through it, and closing the target closes the proxy.
  The shared server and its export are the world's (properties/worlds/shared.py); only
  the client and the proxy are new (with the shared target's credential and scratch
  directory).
- The example's fault decisions are taken up front, PREFETCHED of them, when the target
  is made (faults.sim.PrefetchedFaults): how many messages reach the proxy depends on
  real time (timer-driven retransmissions), and Hypothesis requires each re-run of an
  example to draw the same data ("inconsistent data generation" otherwise). Drawn in the
  test's thread, a used-up example's StopTest is also raised there, never inside the
  proxy's event loop callbacks, where it would lose the call to a logged error while the
  hard-mounted client retransmitted until the run's timeout. Calls beyond PREFETCHED
  pass without faults.
- Only calls draw fault decisions (faulty=("call",)): with one sequential client the
  order in which calls reach the proxy repeats from run to run, so the recorded choices
  replay the same decisions on real sockets as far as the server's replies repeat.
- Real time is spent on every delay and every retransmission, so a proxied target
  retransmits after PROXIED_POLICY.timeo seconds and no delay exceeds MAX_REAL_DELAY:
  examples stay fast while drops, duplicates, delays and reorders all still happen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from faults.proxy import TcpProxy
from faults.sim import FaultRates, FaultSource, PrefetchedFaults
from properties.worlds.sockets import SocketTarget
from reference.rpc.client import RetryPolicy

# Hypothesis picks among possible faults evenly (faults.sim.HypothesisFaults), so most
# calls meet one: a lost call costs timeo of real time (MODEL-FAULTS in loopback: 31.5 s
# at 0.05, 17.8 s at 0.02). A retransmission sent before a slow reply is one more
# duplicate, which the checks already expect.
PROXIED_POLICY = RetryPolicy(timeo=0.02, retrans=2, hard=True, max_timeo=0.4, backoff="linear")
MAX_REAL_DELAY = 0.02
FAULTY = ("call",)
PREFETCHED = 128  # fault decisions per example; a 30-step example makes 30-90 calls


def real_time_rates(rates: FaultRates) -> FaultRates:
    """`rates` with delays capped at MAX_REAL_DELAY seconds."""
    return dataclasses.replace(rates, max_delay=min(rates.max_delay, MAX_REAL_DELAY))


def proxied_target(
    shared: SocketTarget[Any],
    faults: FaultSource,
    rates: FaultRates,
    cleanup: Callable[[], None] = lambda: None,
) -> SocketTarget[Any]:
    """A target on `shared`'s server whose calls pass a fault proxy deciding with `faults`;
    closing it runs `cleanup`."""
    proxy = TcpProxy(
        (shared.host, shared.server.port),
        faults=PrefetchedFaults(faults, PREFETCHED),
        rates=real_time_rates(rates),
        faulty=FAULTY,
    )
    return SocketTarget(
        shared.name,
        shared.server,
        shared.export,
        shared.capabilities,
        cleanup,
        host=shared.host,
        proxy=proxy,
        features=shared.features,
        policy=PROXIED_POLICY,
        credential=shared.credential,
        scratch_dir=shared.scratch_dir,
    )
