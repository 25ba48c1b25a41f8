"""Where an AFS client keeps its whole-file copies: memory (simulation) or a directory.

Rules:
- A copy is the file's whole contents and the version they are; nothing else (promises
  are volatile and live in CallbackState). A copy found after a client restart is
  therefore never trusted as it is, only revalidated (FETCHSTATUS: same version, no
  data transfer).
- DirectoryFiles keeps one file per path under its root, named by the SHA-256 of the
  path in hex (any bytes, any length, are safe names), holding an 8-byte big-endian
  version then the contents. It writes
  a temporary file and renames it over the old one, so a crash leaves the old copy or
  the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_VERSION = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class CachedFile:
    version: int
    data: bytes


class LocalFiles(Protocol):
    def get(self, path: bytes) -> CachedFile | None: ...

    def put(self, path: bytes, copy: CachedFile) -> None: ...

    def discard(self, path: bytes) -> None: ...


class MemoryFiles:
    def __init__(self) -> None:
        self.copies: dict[bytes, CachedFile] = {}

    def get(self, path: bytes) -> CachedFile | None:
        return self.copies.get(path)

    def put(self, path: bytes, copy: CachedFile) -> None:
        self.copies[path] = copy

    def discard(self, path: bytes) -> None:
        self.copies.pop(path, None)


class DirectoryFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _file(self, path: bytes) -> Path:
        return self.root / hashlib.sha256(path).hexdigest()

    def get(self, path: bytes) -> CachedFile | None:
        try:
            content = self._file(path).read_bytes()
        except FileNotFoundError:
            return None
        if len(content) < _VERSION.size:
            return None
        (version,) = _VERSION.unpack_from(content)
        return CachedFile(version, content[_VERSION.size :])

    def put(self, path: bytes, copy: CachedFile) -> None:
        target = self._file(path)
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(_VERSION.pack(copy.version) + copy.data)
        os.replace(temporary, target)

    def discard(self, path: bytes) -> None:
        self._file(path).unlink(missing_ok=True)
