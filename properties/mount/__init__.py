"""The MOUNT v3 properties: MNT, UMNT, UMNTALL, DUMP and EXPORT against a model of the
mount list (RFC 1813 §5, appendix I), in every world, across restarts where it can.

The modules, one job each:

- rules.py: the rules a MOUNT server may break, each with its stable finding code and RFC
  section (properties/harness/findings.py).
- model.py: the mount list model of one example's own paths, and the judgement of DUMP.
- machine.py: the state machine: random MOUNT calls (and restarts), each reply judged;
  the MOUNT replay family.
- test_mount.py: the properties, and the planted bugs they find.
"""
