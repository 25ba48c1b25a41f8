"""The ONC RPC layer's properties: at-most-once, bad input, record marking, stream faults.

Most run the RPC runtime (reference.rpc) on its own, below NFS: in the simulation world,
on real sockets or behind Toxiproxy; the bad input aimed at a world's server runs in
every socket world. The modules, one job each:

- counter.py: the at-most-once scenario: one client incrementing the counter service over
  a faulty simulated network, and the check of what the server executed.
- test_at_most_once.py: the duplicate request cache runs each call once.
- rules.py: the rules an RPC server may break, with their codes and RFC 5531 sections.
- test_bad_input.py: bad bytes never crash our own TCP and UDP servers.
- test_target_bad_input.py: the same bad input aimed at each world's NFS and MOUNT ports.
- test_record_marking.py: records reassemble across any fragmentation and segmentation.
- test_toxiproxy.py: Toxiproxy's stream faults between the client and `nfsprop serve`.
"""
