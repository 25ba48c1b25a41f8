"""The NFSv3 server properties: operation sequences and handle scenarios against a Target.

A property drives one server through a Target (properties/worlds/target.py), once per
world that can honour it, and judges every reply against the model file system (model/),
classifying what RFC 1813 allows instead of failing on it. The modules, one job each:

- wire.py: what the properties send: procedures by name, attribute sets, raw calls.
- model_machine.py: what every machine judged by the model shares (this one and
  NFSv2's): the log, drawing objects, identity, retransmission.
- machine.py: the state machine: random operations, retransmissions, crashes,
  partitions and clock jumps, each reply checked by the model.
- handles.py: handle scenarios (a removed file's inode reused, handles forged) and the
  calls every scenario makes, each counted and kept in its example's trail.
- guards.py: what requests carry beyond their target: SETATTR's ctime guard and times,
  COMMIT's range, WRITE's DATA_SYNC; RENAME's times.
- times.py: what an object's mtime and ctime promise wherever its attributes appear.
- verifiers.py: what verifiers promise: CREATE EXCLUSIVE's, READDIR's cookie verifier.
- rules.py: the rules a server may break, each with its stable finding code and RFC
  section (properties/harness/findings.py).
- calls.py: single NFSv3 calls that must succeed, for tests that drive a server by hand.
- optional.py: the optional features the probe finds missing, as UNSUPPORTED findings.
- model/: the model file system, the oracle.
- test_server.py: the properties.
"""
