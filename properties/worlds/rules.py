"""The rules a world checks of its server between examples, each with its stable code and
RFC section (properties/harness/findings.py). SILENT and EXPORT_LOST are WARN where the
world restarts the server (the run goes on, the restart is on record in the summary,
results.json and JUnit) and end the run where it cannot (properties/worlds/dead.py).
REPEATABLE is WARN on real sockets, where a run ends early when the server answers the
same steps differently (properties/nfs3/test_server.py: repeatable).
"""

from __future__ import annotations

from properties.harness.findings import define

SILENT = define(
    "SERVER-SILENT",
    "between examples the server answers NULL without a restart",
    "RFC 5531 §12.1 (procedure 0), RFC 1813 §3.3.0",
)
EXPORT_LOST = define(
    "EXPORT-LOST",
    "after an example the export can still be mounted and emptied",
    "RFC 1813 §5.2.1 (MOUNTPROC3_MNT), §3.3.17 (READDIRPLUS)",
)
REPEATABLE = define(
    "NOT-REPEATABLE",
    "the same steps get the same answers when an example runs again",
    "RFC 1813 §4.5 (a retransmission may race its original), RFC 5531 §8",
)
