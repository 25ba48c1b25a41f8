"""The Inode record a store keeps for every live file, directory, symlink or device.

Rules:
- `ino` is the inode number (also the NFS fileid); `generation` counts how often that
  number has been handed out. A store hands out the lowest free number first and bumps
  the generation when it reuses one, so a handle naming an older generation is stale.
- The root directory is inode ROOT_INO, allocated when a store is created and never freed;
  its `parent` is itself, so '..' of the root is the root.
- `mode` holds the permission bits only (0o7777); the file type is `type`.
- `size`: bytes for regular files, the target's length for symlinks, DIRECTORY_SIZE for
  directories, 0 for devices, sockets and FIFOs.
- Times are integers in nanoseconds since the epoch.
- `parent` is meaningful for directories only (they have exactly one name); `target` for
  symlinks only; `rdev` (major, minor) for character and block devices only;
  `verifier` is the 8-byte EXCLUSIVE create verifier of a regular file created that way
  (empty otherwise); `next_cookie` is the READDIR cookie the next entry added to a
  directory receives (cookies are never reused within one directory).
- Records are immutable: change one with `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.xdr.gen.nfs3 import ftype3

ROOT_INO = 1
DIRECTORY_SIZE = 4096
FIRST_GENERATION = 1
GENERATION_LIMIT = 1 << 32
# READDIR cookies: 0 starts a listing, 1 and 2 are '.' and '..', entries count from 3.
DOT_COOKIE = 1
DOTDOT_COOKIE = 2
FIRST_ENTRY_COOKIE = 3


def next_generation(generation: int) -> int:
    """The generation a reused inode number gets (wraps past 2**32 - 1, skipping 0)."""
    bumped = (generation + 1) % GENERATION_LIMIT
    return bumped or FIRST_GENERATION


@dataclass(frozen=True, slots=True)
class Inode:
    ino: int
    generation: int
    type: ftype3
    mode: int
    nlink: int
    uid: int
    gid: int
    size: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    parent: int = 0
    target: bytes = b""
    rdev: tuple[int, int] = (0, 0)
    verifier: bytes = b""
    next_cookie: int = FIRST_ENTRY_COOKIE

    @property
    def is_dir(self) -> bool:
        return self.type == ftype3.NF3DIR

    @property
    def is_regular(self) -> bool:
        return self.type == ftype3.NF3REG
