"""The rules an NFSv2 server may break, each with its stable code and RFC section
(properties/harness/findings.py).

Rules:
- Sections are RFC 1094's (the NFSv2 and MOUNT v1 protocols) unless a rule says otherwise.
- A reply's status is judged by the NFSv3 model (properties/nfs3/model), whose reasoning
  about names, kinds and link counts is the same for v2; what it refuses is STATUS here
  (STALENESS when the refusal is about a removed object's handle or a live one's), and the
  message names the model's own rule.
"""

from __future__ import annotations

from properties.harness.findings import define

SERVED = define(
    "NFS2-SERVED",
    "NFS version 2 and MOUNT version 1 are served (optional: a server may serve v3 only)",
    "RFC 1094 §2.2, Appendix A",
)
MNT = define(
    "NFS2-MNT", "MOUNT v1 MNT of the export answers a 32-byte root handle", "RFC 1094 §A.5.2"
)
STATUS = define(
    "NFS2-STATUS",
    "each reply's status is one RFC 1094 allows in the situation (v3-only errors as NFSERR_IO)",
    "RFC 1094 §2.2, §2.3.1",
)
STALENESS = define(
    "NFS2-STALE",
    "a removed object's handle answers NFSERR_STALE; a live object's handle keeps working",
    "RFC 1094 §2.3.1, §2.3.3",
)
ATTRIBUTES = define(
    "NFS2-ATTRIBUTES",
    "fattr shows the object's type, fileid, link count, size and mode",
    "RFC 1094 §2.3.5",
)
FILEID = define(
    "NFS2-FILEID",
    "an object keeps one fileid, never shared with another live one",
    "RFC 1094 §2.3.5",
)
DATA = define(
    "NFS2-DATA",
    "READ returns the bytes written, READLINK the link's target",
    "RFC 1094 §2.2.7, §2.2.6",
)
LISTING = define(
    "NFS2-LISTING",
    "READDIR lists every entry exactly once, over as many calls as the server needs",
    "RFC 1094 §2.2.17",
)
AT_MOST_ONCE = define(
    "NFS2-AT-MOST-ONCE",
    "a retransmission (same XID) gets the first reply, not a second execution",
    "RFC 1094 §1.3, RFC 5531 §8",
)
RAW_NO_REPLY = define(
    "NFS2-RAW-NO-REPLY", "a call sent twice with one XID is answered", "RFC 5531 §8"
)
HANDLES_SURVIVE = define(
    "NFS2-HANDLES-SURVIVE", "a file handle survives a server crash", "RFC 1094 §1.3, §2.3.3"
)
DURABLE = define(
    "NFS2-DURABLE",
    "every acknowledged WRITE survives a crash: v2 writes are synchronous",
    "RFC 1094 §1.3, §2.2.9",
)
RPC_ANSWER = define(
    "NFS2-RPC-ANSWER",
    "a well-formed v2 call gets a v2 reply, not an RPC-level error",
    "RFC 1094 §2.2, RFC 5531 §9",
)
