"""The objects of the model file system: directories, regular files and symbolic links.

Rules:
- Every object has a model id, fixed for its lifetime and never reused: the suite keeps
  the server's file handle and fileid per model id. The root directory is ROOT_ID.
- `links` counts the directory entries naming the object (the root has none, and is
  always alive). An object with no links is dead: its handle should answer STALE, and
  the model keeps it only to know what a server that still answers must return.
- A directory has at most one link (no hard links to directories) and knows its parent;
  its NFS link count is 2 plus its subdirectories ('.', its entry, each child's '..').
- `mode` is None where the server chooses it (EXCLUSIVE create, symlinks, the root) or
  where RFC 1813 lets it keep or change it (an UNCHECKED create of an existing file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

from properties.nfs3.model.content import Content
from reference.xdr.gen.nfs3 import NF3DIR, NF3LNK, NF3REG, ftype3

ObjectId = NewType("ObjectId", int)
ROOT_ID = ObjectId(0)


@dataclass
class Directory:
    id: ObjectId
    parent: ObjectId
    mode: int | None
    links: int = 1
    entries: dict[bytes, ObjectId] = field(default_factory=dict)

    @property
    def type(self) -> ftype3:
        return NF3DIR

    @property
    def alive(self) -> bool:
        return self.id == ROOT_ID or self.links > 0


@dataclass
class RegularFile:
    id: ObjectId
    mode: int | None
    links: int = 1
    content: Content = field(default_factory=Content)
    create_verifier: bytes | None = None  # set by an EXCLUSIVE create
    verifier_may_be_lost: bool = False  # attributes changed since: servers keep it there

    @property
    def type(self) -> ftype3:
        return NF3REG

    @property
    def alive(self) -> bool:
        return self.links > 0


@dataclass
class Symlink:
    id: ObjectId
    target: bytes
    links: int = 1

    @property
    def type(self) -> ftype3:
        return NF3LNK

    @property
    def mode(self) -> int | None:
        return None

    @property
    def alive(self) -> bool:
        return self.links > 0


ModelObject = Directory | RegularFile | Symlink
