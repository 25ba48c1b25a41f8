"""The rules several clients of one server may see broken, each with its stable code and
RFC section (properties/harness/findings.py).

Rules:
- A reply to a call that changes the server (CREATE, MKDIR, REMOVE, RMDIR, WRITE) that
  is not what the calls before it make it, and that is byte for byte the reply another
  client got to a call with the same XID, is OWN-REPLY: the server answered one client
  with another's (a duplicate request cache that does not key on the client's address).
  Not such a copy, it is REPLY (a status or a WRITE count the calls before it rule out)
  or, for a name the call made, IDENTITY. A READ that returns other bytes than the
  FILE_SYNC writes so far is FILE-SYNC (a READ is in no duplicate request cache).
- Another error than the calls before make (NOSPC, JUKEBOX, ...) is allowed: a WARN,
  REFUSED, and the step ends there; the run ends when the call may have run.
- Sections are RFC 1813's unless a rule says otherwise. A retransmission's own rules
  (AT-MOST-ONCE, RAW-NO-REPLY) are the NFSv3 family's (properties/nfs3/rules.py).
"""

from __future__ import annotations

from properties.harness.findings import define

OWN_REPLY = define(
    "CLIENTS-OWN-REPLY",
    "a client's call is answered its own reply, never another client's with the same XID",
    "RFC 5531 §5 (XIDs detect a client's retransmissions), §8, §9 (xid); RFC 1813 §4.5",
)
REPLY = define(
    "CLIENTS-REPLY",
    "a call by any client gets the reply the calls before it make (its status, WRITE's count)",
    "RFC 1813 §3.3.7, §3.3.8, §3.3.9, §3.3.12, §3.3.13",
)
IDENTITY = define(
    "CLIENTS-IDENTITY",
    "a name a client made is the object its reply named, a fileid no other live name has",
    "RFC 1813 §3.3.3 (LOOKUP), §3.3.8, §3.3.9, §2.6 (fileid)",
)
FILE_SYNC = define(
    "CLIENTS-FILE-SYNC",
    "after a WRITE FILE_SYNC returns to one client, every client's READ returns those bytes",
    "RFC 1813 §3.3.7 (stable_how FILE_SYNC), §3.3.6",
)
REFUSED = define(
    "CLIENTS-REFUSED",
    "a call gets an error the calls before it do not explain (allowed, but nothing is tested)",
    "RFC 1813 §3.3, RFC 5531 §9",
)
