"""The ONC RPC layer's properties: at-most-once, bad input, record marking, stream faults.

Each runs the RPC runtime (reference.rpc) on its own, below NFS: in the simulation world,
on real sockets or behind Toxiproxy. The modules, one job each:

- counter.py: the at-most-once scenario: one client incrementing the counter service over
  a faulty simulated network, and the check of what the server executed.
- test_at_most_once.py: the duplicate request cache runs each call once.
- test_bad_input.py: bad bytes never crash the real TCP and UDP servers.
- test_record_marking.py: records reassemble across any fragmentation and segmentation.
- test_toxiproxy.py: Toxiproxy's stream faults between the client and `nfsprop serve`.
"""
