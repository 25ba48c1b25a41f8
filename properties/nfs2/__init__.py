"""The NFSv2 server family (RFC 1094): the seeds' own stateless protocol, over UDP and TCP.

- rules.py: the rules an NFSv2 server may break, with their RFC 1094 sections.
- wire.py: what the machine sends (the v2 procedures, sattr), how it finds the export's
  v2 root handle, and how a v2 status reads against the NFSv3 model's plans.
- machine.py: the state machine (the NFSv3 model file system as its oracle), with its
  retransmission and crash rule sets, and the family's replay (kind "nfs2").
- test_nfs2.py: the checks, in every world that serves NFSv2.
"""
