"""Which file names the file system accepts, and what it answers for the others.

Rules (the same for every operation that takes a name):
- A name longer than NAME_MAX (255) bytes → NFS3ERR_NAMETOOLONG.
- An empty name, or one containing '/' or NUL → NFS3ERR_INVAL: such a name can never
  be a directory entry, and INVAL says "bad argument" where Linux would return EINVAL
  or EACCES depending on the path.
- Names are bytes and compared byte for byte (case-sensitive, case-preserving).
- '.' and '..' pass this check; each operation decides what they mean (see fs.py):
  LOOKUP resolves them, CREATE/MKDIR/SYMLINK/MKNOD/LINK answer EXIST (the name exists),
  REMOVE answers ISDIR (both name directories), RMDIR answers INVAL for '.' and EXIST
  for '..' (POSIX allows EEXIST or ENOTEMPTY there; Linux rmdir(2) gives ENOTEMPTY),
  RENAME answers INVAL for either name being '.' or '..'.
"""

from __future__ import annotations

from reference.nfs.errors import NfsError
from reference.xdr.gen.nfs3 import NFS3ERR_INVAL, NFS3ERR_NAMETOOLONG

NAME_MAX = 255
DOT = b"."
DOTDOT = b".."


def check_name(name: bytes) -> None:
    """Raise NfsError unless `name` could be a directory entry ('.' and '..' pass)."""
    if len(name) > NAME_MAX:
        raise NfsError(NFS3ERR_NAMETOOLONG, f"name of {len(name)} bytes (at most {NAME_MAX})")
    if not name:
        raise NfsError(NFS3ERR_INVAL, "empty name")
    if b"/" in name or b"\0" in name:
        raise NfsError(NFS3ERR_INVAL, f"name {name!r} contains '/' or NUL")


def is_dot_or_dotdot(name: bytes) -> bool:
    return name in (DOT, DOTDOT)
