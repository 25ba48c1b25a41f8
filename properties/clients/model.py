"""What the server holds after the calls so far, as the several clients' machine sees it.

Rules:
- The calls run one at a time, so the state is exact: the names in the export's root (a
  file or a directory each, with the client that made it and its fileid once known) and
  the bytes of the shared file (holes read as zeros).
- `make`, `remove` and `write` say what a call must answer (the status; for a removal,
  which procedure removes what the name holds) before it is sent; `made`, `removed` and
  `written` apply a call the server answered as expected.
- Every write's contents name their writer and the write's number ("c2#7"): no two
  writes write the same bytes, so a READ that returns old bytes says whose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_EXIST, NFS3ERR_NOENT, nfsstat3


@dataclass
class Entry:
    directory: bool
    maker: str  # the client whose call made it
    fileid: int | None = None  # as LOOKUP told it


@dataclass(frozen=True)
class Write:
    writer: str
    offset: int
    data: bytes


@dataclass
class ClientsModel:
    entries: dict[bytes, Entry] = field(default_factory=dict)
    contents: bytearray = field(default_factory=bytearray)  # the shared file's
    writes: list[Write] = field(default_factory=list)  # every FILE_SYNC write that returned

    def make(self, name: bytes) -> nfsstat3:
        """What CREATE GUARDED or MKDIR of `name` must answer."""
        return NFS3ERR_EXIST if name in self.entries else NFS3_OK

    def made(self, name: bytes, directory: bool, maker: str, fileid: int) -> None:
        self.entries[name] = Entry(directory, maker, fileid)

    def remove(self, name: bytes) -> tuple[bool, nfsstat3]:
        """Whether `name` is removed with RMDIR (a directory) rather than REMOVE, and what
        the removal must answer."""
        entry = self.entries.get(name)
        if entry is None:
            return False, NFS3ERR_NOENT
        return entry.directory, NFS3_OK

    def removed(self, name: bytes) -> None:
        del self.entries[name]

    def owner_of(self, fileid: int) -> bytes | None:
        """The live name whose object has `fileid`, if any."""
        for name, entry in self.entries.items():
            if entry.fileid == fileid:
                return name
        return None

    def written(self, write: Write) -> None:
        end = write.offset + len(write.data)
        if len(self.contents) < end:
            self.contents.extend(bytes(end - len(self.contents)))
        self.contents[write.offset : end] = write.data
        self.writes.append(write)

    def history(self) -> str:
        """The writes so far, oldest first, for a failure's message."""
        if not self.writes:
            return "no write yet"
        return ", then ".join(f"{w.data!r} at {w.offset} by {w.writer}" for w in self.writes)
