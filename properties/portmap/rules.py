"""The rules a port mapper (RFC 1833 §3, version 2) may break, each with its stable code
and section (properties/harness/findings.py).

Rules: sections are RFC 1833's. A port mapper the server does not run on its NFS port is
UNSUPPORTED (SERVED), never a failure: nothing obliges an NFS server to run one there.
"""

from __future__ import annotations

from properties.harness.findings import define

SERVED = define(
    "PMAP-SERVED",
    "the server runs a port mapper (program 100000 version 2) on its NFS port",
    "RFC 1833 §3",
)
SET = define(
    "PMAP-SET",
    "SET maps a key not yet mapped; for a mapped key it answers FALSE and changes nothing",
    "RFC 1833 §3.2 (PMAPPROC_SET)",
)
UNSET = define(
    "PMAP-UNSET",
    "UNSET removes (prog, vers) under every protocol and answers whether one was mapped",
    "RFC 1833 §3.2 (PMAPPROC_UNSET)",
)
GETPORT = define(
    "PMAP-GETPORT",
    "GETPORT answers the port of (prog, vers, prot), 0 when it is not mapped",
    "RFC 1833 §3.2 (PMAPPROC_GETPORT)",
)
DUMP = define(
    "PMAP-DUMP",
    "DUMP lists every mapping exactly once",
    "RFC 1833 §3.2 (PMAPPROC_DUMP)",
)
