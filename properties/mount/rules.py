"""The rules a MOUNT v3 server may break, each with its stable code and RFC section
(properties/harness/findings.py).

Rules:
- Sections are RFC 1813's: its appendix I, the MOUNT protocol, is section 5 (5.2.1 MNT,
  5.2.2 DUMP, 5.2.3 UMNT, 5.2.4 UMNTALL, 5.2.5 EXPORT); §5 itself calls the mount list
  "not critical for the correct functioning of either the client or the server" and
  "intended for advisory use only", so losing entries is a WARN, never a FAIL.
- What a rule FAILs is what the RFC forbids: a handle for a path that names no directory
  of the export, a listing of a pair nobody mounted or that UMNT removed, a pair listed
  twice, an export MNT takes that EXPORT leaves out. What it allows but is unhelpful
  (handles that differ, an empty flavor list, a list that is not kept) is a WARN; a
  procedure the server does not serve is UNSUPPORTED.
- A reply the client cannot decode is the RPC family's RPC-REPLY-MALFORMED, one
  misbehaviour for every family, so one baseline entry holds it.
"""

from __future__ import annotations

from properties.harness.findings import define
from reference.xdr.gen.mount3 import (
    MOUNTPROC3_DUMP,
    MOUNTPROC3_EXPORT,
    MOUNTPROC3_UMNT,
    MOUNTPROC3_UMNTALL,
)

# -- MNT --
MNT_EXPORT = define(
    "MNT-EXPORT",
    "MNT of the export answers MNT3_OK with a handle of the export's root, every time",
    "RFC 1813 §5.2.1",
)
MNT_HANDLE_STEADY = define(
    "MNT-HANDLE-STEADY",
    "MNT of one directory answers the same handle every time, across a restart too",
    "RFC 1813 §5.2.1, §2.5 (nfs_fh3: one handle per file is a should)",
)
MNT_DIRECTORY = define(
    "MNT-DIRECTORY",
    "MNT of a directory in the export answers a handle of that directory, or an error",
    "RFC 1813 §5.2.1",
)
SUBDIRECTORY_MOUNTS = define(
    "MNT-SUBDIRECTORY",
    "a directory below the export can be mounted (an export may refuse it)",
    "RFC 1813 §5.2.1",
)
MNT_MISSING = define(
    "MNT-MISSING",
    "MNT of a path that names nothing answers an error (MNT3ERR_NOENT...), never a handle",
    "RFC 1813 §5.2.1",
)
MNT_OUTSIDE = define(
    "MNT-OUTSIDE",
    "MNT of a path outside every export, '..' climbing out too, answers an error, not a handle",
    "RFC 1813 §5.2.1, §5.2.5",
)
MNT_FLAVORS = define(
    "MNT-FLAVORS",
    "MNT3_OK lists the authentication flavors the handle may be used with",
    "RFC 1813 §5.2.1",
)

# -- the mount list --
DUMP_UNMOUNTED = define(
    "DUMP-UNMOUNTED",
    "DUMP never lists a directory that UMNT or UMNTALL removed",
    "RFC 1813 §5.2.2, §5.2.3, §5.2.4",
)
DUMP_DUPLICATE = define(
    "DUMP-DUPLICATE",
    "DUMP lists each (client host, directory) pair once, however often it was mounted",
    "RFC 1813 §5.2.2",
)
DUMP_NEVER_MOUNTED = define(
    "DUMP-NEVER-MOUNTED",
    "DUMP lists only directories a client mounted, under the name the server gives it",
    "RFC 1813 §5.2.1, §5.2.2",
)
DUMP_KEPT = define(
    "DUMP-KEPT",
    "DUMP lists the directories mounted since the server started (the list is advisory)",
    "RFC 1813 §5, §5.2.1, §5.2.2",
)

# -- the export list --
EXPORT_LISTED = define(
    "EXPORT-LISTED",
    "EXPORT lists the export the client mounts (or a directory above it)",
    "RFC 1813 §5.2.5",
)

# -- RPC answers --
MOUNT_RPC = define(
    "MOUNT-RPC",
    "a well-formed MOUNT v3 call gets a MOUNT reply, not an RPC error",
    "RFC 1813 §5.2, RFC 5531 §9",
)
# A procedure answered PROC_UNAVAIL (UNSUPPORTED: the server leaves it out).
UNSERVED = {
    MOUNTPROC3_DUMP: define(
        "DUMP-SERVED", "the server serves DUMP (PROC_UNAVAIL: no mount list)", "RFC 1813 §5.2.2"
    ),
    MOUNTPROC3_UMNT: define(
        "UMNT-SERVED", "the server serves UMNT (PROC_UNAVAIL: no mount list)", "RFC 1813 §5.2.3"
    ),
    MOUNTPROC3_UMNTALL: define(
        "UMNTALL-SERVED",
        "the server serves UMNTALL (PROC_UNAVAIL: no mount list)",
        "RFC 1813 §5.2.4",
    ),
    MOUNTPROC3_EXPORT: define(
        "EXPORT-SERVED",
        "the server serves EXPORT (PROC_UNAVAIL: no export list)",
        "RFC 1813 §5.2.5",
    ),
}
