"""What the model answers for names that cannot be directory entries.

Rules:
- NAME_MAX is 255 bytes (what Linux, Ganesha and the reference server accept); longer
  names answer NFS3ERR_NAMETOOLONG. An operation that only looks a name up may also say
  NFS3ERR_NOENT (no such entry can exist): that is a WARN.
- An empty name or one holding '/' or NUL is INVAL; ACCES is what Linux knfsd answers
  (lookup_one_len), so both pass; for a look-up NOENT passes too.
- '.' and '..' are valid names; each operation decides what they mean.
"""

from __future__ import annotations

from properties.nfs3 import rules
from properties.nfs3.model.verdict import Refusals
from reference.xdr.gen.nfs3 import (
    NFS3ERR_ACCES,
    NFS3ERR_INVAL,
    NFS3ERR_NAMETOOLONG,
    NFS3ERR_NOENT,
)

NAME_MAX = 255
DOT = b"."
DOTDOT = b".."


def is_dot(name: bytes) -> bool:
    return name in (DOT, DOTDOT)


def check_name(why: Refusals, name: bytes, looking_up: bool) -> bool:
    """Add the refusals a bad name earns; True if the name could be an entry."""
    if len(name) > NAME_MAX:
        why.add(
            rules.NAME_TOO_LONG,
            f"a name of {len(name)} bytes is longer than {NAME_MAX}",
            NFS3ERR_NAMETOOLONG,
        )
        if looking_up:
            why.warn(rules.NAME_TOO_LONG, "an over-long name cannot name an entry", NFS3ERR_NOENT)
        return False
    if not name or b"/" in name or b"\0" in name:
        rule = rules.NAME_SLASH if name else rules.NAME_EMPTY
        why.add(rule, f"{shown(name)} cannot be a file name", NFS3ERR_INVAL, NFS3ERR_ACCES)
        if looking_up:
            why.add(rule, f"{shown(name)} cannot name an entry", NFS3ERR_NOENT)
        return False
    return True


def shown(name: bytes) -> str:
    """A name for messages: long ones abbreviated."""
    if len(name) <= 40:
        return repr(name)
    return f"{name[:8]!r}...({len(name)} bytes)"
