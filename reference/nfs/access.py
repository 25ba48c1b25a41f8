"""Who is calling (Identity) and what the mode bits let them do.

Rules:
- AUTH_SYS gives uid, gid and up to 16 extra gids; AUTH_NONE is nobody (65534/65534).
  With root squash, uid 0 becomes nobody and gid 0 (primary or extra) becomes nobody's gid.
- POSIX classes: the owner's bits if uid matches, else the group's if any of the caller's
  gids matches, else the others'. No ACLs.
- Root (uid 0, unsquashed) may do everything, except execute a non-directory that has
  no execute bit at all.
- Owner override (as Linux knfsd): READ, WRITE and truncation are allowed to the file's
  owner whatever the mode says, because clients check permission at open() and may
  chmod the open file afterwards.
- ACCESS3 bits are granted as knfsd grants them: for directories READ needs r, LOOKUP x,
  MODIFY/EXTEND/DELETE w and x, EXECUTE nothing; for other files READ needs r,
  MODIFY/EXTEND w, EXECUTE x, LOOKUP/DELETE nothing. Only requested bits are returned.
- A sticky directory lets only root, the directory's owner or the entry's owner remove or
  rename an entry (NFS3ERR_PERM, as Linux's EPERM).
- SETATTR: changing mode needs owner or root (PERM); uid only root (chown_restricted);
  gid root, or the owner to a group they belong to; setting times to a client time needs
  owner or root (PERM), to the server time also write permission (ACCES). A non-root
  chmod by someone outside the file's group clears the setgid bit silently (as Linux).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from reference.nfs.attributes import ServerTime, SetAttributes
from reference.nfs.errors import NfsError
from reference.nfs.inode import Inode
from reference.rpc.stubs import AuthNone, Credential
from reference.xdr.gen.nfs3 import (
    ACCESS3_DELETE,
    ACCESS3_EXECUTE,
    ACCESS3_EXTEND,
    ACCESS3_LOOKUP,
    ACCESS3_MODIFY,
    ACCESS3_READ,
    NFS3ERR_ACCES,
    NFS3ERR_PERM,
)

NOBODY = 65534
MAY_READ = 4
MAY_WRITE = 2
MAY_EXEC = 1
S_ISGID = 0o2000
S_ISVTX = 0o1000
ANY_EXECUTE = 0o111


@dataclass(frozen=True, slots=True)
class Identity:
    """The uid and groups an operation runs as."""

    uid: int
    gid: int
    gids: tuple[int, ...] = ()

    @property
    def is_root(self) -> bool:
        return self.uid == 0

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.gids


IDENTITIES_REMEMBERED = 1024
NOBODY_IDENTITY = Identity(NOBODY, NOBODY)
ROOT_IDENTITY = Identity(0, 0)


@functools.lru_cache(maxsize=IDENTITIES_REMEMBERED)
def identity_of(credential: Credential, root_squash: bool = False) -> Identity:
    """The Identity an RPC credential stands for (remembered by value: both are frozen,
    and a client sends one credential with every call)."""
    if isinstance(credential, AuthNone):
        return NOBODY_IDENTITY
    identity = Identity(credential.uid, credential.gid, tuple(credential.gids))
    if not root_squash:
        return identity
    return Identity(
        NOBODY if identity.uid == 0 else identity.uid,
        NOBODY if identity.gid == 0 else identity.gid,
        tuple(NOBODY if gid == 0 else gid for gid in identity.gids),
    )


def permitted(inode: Inode, who: Identity, want: int, owner_override: bool = False) -> bool:
    """Whether `who` may do `want` (MAY_* bits) to `inode`."""
    if who.is_root:
        return not (want & MAY_EXEC and not inode.is_dir and not inode.mode & ANY_EXECUTE)
    if who.uid == inode.uid:
        if owner_override:
            return True
        bits = inode.mode >> 6
    elif who.in_group(inode.gid):
        bits = inode.mode >> 3
    else:
        bits = inode.mode
    return want & ~bits & 7 == 0


def require(inode: Inode, who: Identity, want: int, owner_override: bool = False) -> None:
    """Raise NFS3ERR_ACCES unless `who` may do `want` to `inode`."""
    if not permitted(inode, who, want, owner_override):
        raise NfsError(NFS3ERR_ACCES, f"uid {who.uid} lacks {_describe(want)} on {inode.ino}")


_LETTERS = ((MAY_READ, "r"), (MAY_WRITE, "w"), (MAY_EXEC, "x"))


def _describe(want: int) -> str:
    return "".join(letter for bit, letter in _LETTERS if want & bit)


_DIRECTORY_NEEDS = {
    ACCESS3_READ: MAY_READ,
    ACCESS3_LOOKUP: MAY_EXEC,
    ACCESS3_MODIFY: MAY_WRITE | MAY_EXEC,
    ACCESS3_EXTEND: MAY_WRITE | MAY_EXEC,
    ACCESS3_DELETE: MAY_WRITE | MAY_EXEC,
}
_FILE_NEEDS = {
    ACCESS3_READ: MAY_READ,
    ACCESS3_MODIFY: MAY_WRITE,
    ACCESS3_EXTEND: MAY_WRITE,
    ACCESS3_EXECUTE: MAY_EXEC,
}


def granted_access(inode: Inode, who: Identity, requested: int) -> int:
    """The ACCESS3 bits among `requested` that `who` holds on `inode`."""
    needs = _DIRECTORY_NEEDS if inode.is_dir else _FILE_NEEDS
    granted = 0
    for bit, want in needs.items():
        if requested & bit and permitted(inode, who, want):
            granted |= bit
    return granted


def require_may_delete(directory: Inode, victim: Inode, who: Identity) -> None:
    """Raise unless `who` may remove (or rename away) `victim`'s entry in `directory`."""
    require(directory, who, MAY_WRITE | MAY_EXEC)
    sticky = directory.mode & S_ISVTX
    if sticky and not who.is_root and who.uid not in (directory.uid, victim.uid):
        raise NfsError(NFS3ERR_PERM, f"directory {directory.ino} is sticky")


def checked_mode(inode: Inode, who: Identity, changes: SetAttributes) -> int:
    """The mode a SETATTR leaves (after the permission checks), permission bits only."""
    if changes.mode is None:
        return inode.mode
    if not who.is_root and who.uid != inode.uid:
        raise NfsError(NFS3ERR_PERM, f"only the owner or root may chmod {inode.ino}")
    mode = changes.mode & 0o7777
    group = inode.gid if changes.gid is None else changes.gid
    if not who.is_root and not who.in_group(group):
        mode &= ~S_ISGID
    return mode


def check_ownership_change(inode: Inode, who: Identity, changes: SetAttributes) -> None:
    gid = inode.gid if changes.gid is None else changes.gid
    if changes.uid is not None and changes.uid != inode.uid and not who.is_root:
        raise NfsError(NFS3ERR_PERM, "only root may change a file's owner")
    if gid != inode.gid and not who.is_root and (who.uid != inode.uid or not who.in_group(gid)):
        raise NfsError(NFS3ERR_PERM, f"uid {who.uid} may not chgrp to {gid}")


def check_time_change(inode: Inode, who: Identity, changes: SetAttributes) -> None:
    times = (changes.atime, changes.mtime)
    if who.is_root or who.uid == inode.uid or all(t is None for t in times):
        return
    if any(t is not None and not isinstance(t, ServerTime) for t in times):
        raise NfsError(NFS3ERR_PERM, "only the owner or root may set times explicitly")
    require(inode, who, MAY_WRITE)
