"""The worlds faults happen in: the deterministic simulation and fault proxies on sockets.

Both take every fault decision from a `FaultSource`, message by message with the same
decisions (faults.sim.message_faults), so a seed, a Hypothesis schedule or a recording
means the same in both. Toxiproxy's stream faults and the crash and restart of real
servers are driven from the suite, not from here (properties/peers/toxiproxy.py, the
socket worlds of properties/worlds/). The packages, one job each:

- sim/: the simulation: virtual clock, in-memory network, fault sources, partitions, node
  crashes and clock jumps, trace.
- proxy/: UDP and RPC-record-aware TCP fault proxies on real sockets (`nfsprop proxy`).
"""
