"""The rules an NFSv3 server may break, each with its stable code and RFC section
(properties/harness/findings.py): the model's refusals, identity, attributes, data,
listings, staleness, handles, durability and the duplicate request cache.

Rules:
- A status the model does not allow is judged against the rule that made the model refuse
  (the first refusal it found: a dead handle before a bad name before an existing entry),
  or, when the model expected the call to succeed, against `refused(OPERATION)`: the
  operation's own "-REFUSED" rule. Codes name the situation, not the status, so that a
  baseline entry holds one misbehaviour and nothing else.
- Sections are RFC 1813's unless a rule says otherwise.
"""

from __future__ import annotations

from properties.harness.findings import Rule, define

# -- handles and names --
STALE = define("STALE", "a removed object's handle answers NFS3ERR_STALE", "RFC 1813 §2.6")
LIVE_STALE = define(
    "LIVE-STALE",
    "a live object's handle keeps working (never NFS3ERR_STALE), across RENAME too",
    "RFC 1813 §2.6, §4.1 (file handles)",
)
HANDLE_MOVED = define(
    "HANDLE-MOVED",
    "a live object's handle keeps working after RENAME moves it or a directory above it",
    "RFC 1813 §2.6, §4.1 (file handles)",
)
NOTDIR = define(
    "NOTDIR", "a directory operation on a non-directory answers NFS3ERR_NOTDIR", "RFC 1813 §2.6"
)
NOENT = define("NOENT", "a name without an entry answers NFS3ERR_NOENT", "RFC 1813 §3.3.3")
EXIST = define("EXIST", "creating a name that exists answers NFS3ERR_EXIST", "RFC 1813 §3.3.8")
DOTS = define(
    "DOTS", "'.' and '..' are never created, removed or replaced", "RFC 1813 §3.2, §3.3.13"
)
NAME_EMPTY = define("NAME-EMPTY", "an empty name is refused", "RFC 1813 §3.2")
NAME_SLASH = define(
    "NAME-SLASH", "a name is one component: a name holding '/' or NUL is refused", "RFC 1813 §3.2"
)
NAME_TOO_LONG = define(
    "NAME-TOO-LONG", "a name longer than the limit answers NFS3ERR_NAMETOOLONG", "RFC 1813 §2.6"
)

# -- operations on the wrong kind of object --
NOT_SYMLINK = define(
    "READLINK-NOT-SYMLINK", "READLINK of a non-symlink is refused", "RFC 1813 §3.3.5"
)
SIZE_NOT_FILE = define(
    "SETATTR-SIZE-NOT-FILE", "SETATTR of a size on a non-file is refused", "RFC 1813 §3.3.2"
)
READ_NOT_FILE = define(
    "READ-NOT-FILE", "READ of a directory or symlink is refused", "RFC 1813 §3.3.6"
)
WRITE_NOT_FILE = define(
    "WRITE-NOT-FILE", "WRITE to a directory or symlink is refused", "RFC 1813 §3.3.7"
)
COMMIT_NOT_FILE = define(
    "COMMIT-NOT-FILE", "COMMIT of a directory or symlink is refused", "RFC 1813 §3.3.21"
)
CREATE_KEEPS_DATA = define(
    "CREATE-UNCHECKED-KEEPS-DATA",
    "CREATE UNCHECKED of an existing file keeps its data unless size 0 is set",
    "RFC 1813 §3.3.8",
)
CREATE_VERIFIER = define(
    "CREATE-EXCLUSIVE-VERIFIER",
    "CREATE EXCLUSIVE of an existing file with another verifier answers NFS3ERR_EXIST",
    "RFC 1813 §3.3.8",
)
CREATE_RETRY = define(
    "CREATE-EXCLUSIVE-RETRY",
    "CREATE EXCLUSIVE retried with its verifier returns the file it made, across a restart too",
    "RFC 1813 §3.3.8",
)
LINK_DIR = define("LINK-DIR", "LINK of a directory is refused", "RFC 1813 §3.3.15")
REMOVE_DIR = define("REMOVE-DIR", "REMOVE of a directory is refused", "RFC 1813 §3.3.12")
NOTEMPTY = define(
    "NOTEMPTY",
    "RMDIR of, or RENAME over, a non-empty directory is refused",
    "RFC 1813 §3.3.13, §3.3.14",
)
RENAME_INTO_ITSELF = define(
    "RENAME-INTO-ITSELF", "a directory cannot move into itself", "RFC 1813 §3.3.14"
)
CREATE_FOLLOWS_SYMLINK = define(
    "CREATE-FOLLOWS-SYMLINK",
    "CREATE over a symbolic link's name answers for the link, not for where it points",
    "RFC 1813 §3.3.8 (an existing name: NFS3ERR_EXIST), §3.3.5 (links are the client's)",
)
RENAME_TYPES = define(
    "RENAME-TYPES",
    "RENAME over an existing name: both directories or both not",
    "RFC 1813 §3.3.14",
)

# -- what an operation the model allows must answer --
_SECTIONS = {
    "GETATTR": "3.3.1",
    "SETATTR": "3.3.2",
    "LOOKUP": "3.3.3",
    "READLINK": "3.3.5",
    "READ": "3.3.6",
    "WRITE": "3.3.7",
    "CREATE": "3.3.8",
    "MKDIR": "3.3.9",
    "SYMLINK": "3.3.10",
    "REMOVE": "3.3.12",
    "RMDIR": "3.3.13",
    "RENAME": "3.3.14",
    "LINK": "3.3.15",
    "READDIR": "3.3.16",
    "READDIRPLUS": "3.3.17",
    "COMMIT": "3.3.21",
}
_REFUSED = {
    operation: define(
        f"{operation}-REFUSED",
        f"a {operation} the model allows is not refused",
        f"RFC 1813 §{section}",
    )
    for operation, section in _SECTIONS.items()
}


def refused(operation: str) -> Rule:
    """The rule of an operation (its first word: `READ #3 [0, +10)`) refused wrongly."""
    return _REFUSED[operation.split()[0]]


# -- answers at the RPC level to well-formed NFSv3 calls --
PROC_UNAVAIL = define(
    "NFS-PROC-UNAVAIL",
    "every NFSv3 procedure is served (PROC_UNAVAIL is no NFSv3 answer)",
    "RFC 1813 §3.3, RFC 5531 §9",
)
GARBAGE_ARGS = define(
    "NFS-GARBAGE-ARGS", "well-formed arguments are decoded, not GARBAGE_ARGS", "RFC 5531 §9"
)
SYSTEM_ERR = define(
    "NFS-SYSTEM-ERR",
    "a call is answered with an NFS status, not SYSTEM_ERR",
    "RFC 1813 §3.3, RFC 5531 §9",
)
DENIED = define(
    "NFS-DENIED", "a call with AUTH_SYS credentials is not denied", "RFC 1813 §2.1, RFC 5531 §9"
)
UNDECODABLE = define(
    "NFS-REPLY-UNDECODABLE",
    "a reply decodes as the procedure's results",
    "RFC 1813 §3.3, RFC 4506",
)
RPC_ANSWERS = {3: PROC_UNAVAIL, 4: GARBAGE_ARGS}  # accept_stat -> rule; others SYSTEM_ERR

# -- identity and attributes --
FILEID = define(
    "FILEID", "an object keeps one fileid, never shared with another live object", "RFC 1813 §2.5"
)
STALE_REUSED = define(
    "STALE-REUSED",
    "a removed object's handle never answers as another object",
    "RFC 1813 §2.6 (NFS3ERR_STALE)",
)
TYPE = define("TYPE", "an object keeps its type", "RFC 1813 §2.5")
NLINK = define("NLINK", "a file's nlink counts its names", "RFC 1813 §2.5")
DIR_NLINK = define(
    "DIR-NLINK", "a directory's nlink is 2 plus its subdirectories (POSIX)", "RFC 1813 §2.5"
)
SIZE = define("SIZE", "a file's size is what was written", "RFC 1813 §2.5")
SYMLINK_SIZE = define(
    "SYMLINK-SIZE", "a symlink's size is the length of its target", "RFC 1813 §2.5"
)
MODE = define("MODE", "a mode that was set is the mode reported", "RFC 1813 §3.3.2")
GUARD = define(
    "SETATTR-GUARD",
    "SETATTR guarded by the object's ctime applies; guarded by another, NOT_SYNC and no change",
    "RFC 1813 §3.3.2",
)
TIMES_SET = define(
    "SETATTR-TIMES",
    "SETATTR sets a client's time as sent (at its granularity), the server's not before a change",
    "RFC 1813 §3.3.2 (time_how), §3.3.19 (time_delta)",
)
WCC_PRE_TIMES = define(
    "WCC-PRE-TIMES",
    "wcc_data's pre-op mtime and ctime are the last the client saw, if nothing changed it since",
    "RFC 1813 §2.6 (wcc_attr), §4.11",
)
ATTR_STEADY = define(
    "ATTR-STEADY",
    "an object nothing changed shows the same mtime and ctime in every reply",
    "RFC 1813 §2.6 (fattr3), §4.11",
)
CHANGE_TIME = define(
    "CHANGE-TIME",
    "a change gives ctime (and a data change mtime) no earlier than any ctime shown before",
    "RFC 1813 §2.6 (fattr3: mtime, ctime), §3.3.7",
)
WCC_SIZE = define(
    "WCC-PRE-SIZE", "wcc_data's pre-op size is the size before the call", "RFC 1813 §2.5"
)
NO_HANDLE = define(
    "CREATED-HANDLE",
    "an object a CREATE, MKDIR or SYMLINK made can be looked up",
    "RFC 1813 §3.3.8",
)

# -- data and listings --
DATA = define("DATA", "READ returns the bytes written", "RFC 1813 §3.3.6")
READ_COUNT = define("READ-COUNT", "READ's count is the number of bytes returned", "RFC 1813 §3.3.6")
READ_EOF = define(
    "READ-EOF", "READ's eof is true exactly at the end of the file", "RFC 1813 §3.3.6"
)
WRITE_SHORT = define(
    "WRITE-SHORT",
    "WRITE writes all it was given (a short write is allowed; the model stops following)",
    "RFC 1813 §3.3.7",
)
WRITE_COMMITTED = define(
    "WRITE-COMMITTED", "WRITE commits at least as stably as asked", "RFC 1813 §3.3.7"
)
READLINK_DATA = define(
    "READLINK-DATA", "READLINK returns the target SYMLINK stored", "RFC 1813 §3.3.5"
)
LISTING = define(
    "LISTING", "READDIR lists every entry once, and only the entries", "RFC 1813 §3.3.16"
)
LISTING_PAGES = define(
    "LISTING-PAGES",
    "READDIR continues from a cookie it gave until eof",
    "RFC 1813 §3.3.16",
)
RESUMED_LISTING = define(
    "READDIR-RESUME",
    "a listing resumed after a change lists each entry it left alone once, no name never there",
    "RFC 1813 §3.3.16 (cookieverf)",
)
READDIR_TOOSMALL = define(
    "READDIR-TOOSMALL",
    "READDIR lists entries for a count of 512 bytes or more (NFS3ERR_TOOSMALL is allowed)",
    "RFC 1813 §3.3.16",
)
DOT_FILEIDS = define(
    "DOT-FILEIDS", "'.' and '..' listed carry their directories' fileids", "RFC 1813 §3.3.16"
)
ROOT_LOST = define(
    "EXPORT-ROOT",
    "the export's root still answers after every operation",
    "RFC 1813 §3.3.13 (RMDIR), §4.3 (path names)",
)

# -- restarts, durability, the write verifier, the duplicate request cache --
HANDLES_SURVIVE = define(
    "HANDLES-SURVIVE-RESTART", "a file handle survives a server restart", "RFC 1813 §4.8"
)
DURABLE = define(
    "DURABLE",
    "data written FILE_SYNC or committed survives a crash",
    "RFC 1813 §3.3.7, §3.3.21, §4.8",
)
VERIFIER_RESTART = define(
    "VERIFIER-RESTART", "the write verifier changes when the server restarts", "RFC 1813 §3.3.7"
)
VERIFIER_STEADY = define(
    "VERIFIER-STEADY",
    "the write verifier changes only when the server restarts",
    "RFC 1813 §3.3.7",
)
AT_MOST_ONCE = define(
    "AT-MOST-ONCE",
    "a retransmission (same XID) gets the first reply, not a second execution",
    "RFC 1813 §4.5 (duplicate request cache), RFC 5531 §8",
    claim="target_drc",
)
RAW_NO_REPLY = define("RAW-NO-REPLY", "a call sent twice with one XID is answered", "RFC 5531 §8")
CTIME_BACK = define(
    "CTIME-BACK",
    "an object's ctime never goes back, even when the clock is stepped back",
    "RFC 1813 §4.11 (caching policies)",
)
MNT = define("MNT", "the export can be mounted", "RFC 1813 §5.2.1 (MOUNTPROC3_MNT)")
FORGED = define(
    "FORGED-HANDLE",
    "a damaged handle answers NFS3ERR_BADHANDLE or NFS3ERR_STALE, never another object",
    "RFC 1813 §2.6 (NFS3ERR_BADHANDLE)",
)
# its own code, so that a baseline knowing FORGED-HANDLE (another answer to a damaged
# handle, e.g. NFS3ERR_INVAL) never covers a handle that reached another object
FORGED_OTHER = define(
    "FORGED-OTHER-OBJECT",
    "a crafted handle never reaches another object",
    "RFC 1813 §2.6 (NFS3ERR_BADHANDLE), §4.1",
)
FORGED_SAME = define(
    "FORGED-SAME-OBJECT",
    "a damaged handle is refused, not taken as the undamaged one",
    "RFC 1813 §2.6 (NFS3ERR_BADHANDLE)",
)
FORGED_RPC = define(
    "FORGED-RPC-DENIED",
    "a damaged handle is refused by NFS, not at the RPC layer",
    "RFC 1813 §2.6 (NFS3ERR_BADHANDLE)",
)
SETUP = define("SETUP", "the calls a scenario is built from succeed", "RFC 1813 §3.3")
