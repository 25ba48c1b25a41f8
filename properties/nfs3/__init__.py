"""The NFSv3 server properties: operation sequences and handle scenarios against a Target.

A property drives one server through a Target (properties/worlds/target.py), once per
world that can honour it, and judges every reply against the model file system (model/),
classifying what RFC 1813 allows instead of failing on it. The modules, one job each:

- wire.py: what the properties send: procedures by name, attribute sets, raw calls.
- machine.py: the state machine: random operations, retransmissions, crashes,
  partitions and clock jumps, each reply checked by the model.
- handles.py: handle scenarios: a removed file's inode reused, handles forged.
- findings.py: known conformance findings about other servers, reported as expected
  failures.
- model/: the model file system, the oracle.
- test_server.py: the properties.
"""
