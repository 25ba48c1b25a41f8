"""The data cache: pages of file contents, each file's pages tied to one version of it.

Rules:
- A file's pages are PAGE_SIZE bytes (the last one shorter, ending at the file size) and
  all belong to the version named by the file's `signature` (size, mtime, ctime). The
  server gives every change a new mtime/ctime, so one signature is one content.
- `view(handle, signature)` is how a reader gets the pages: a signature different from
  the cached one (a change by someone else, seen in GETATTR or READ attributes) drops
  every page first. So a read never mixes two versions.
- Our own changes (WRITE, SETATTR) carry wcc_data: when their pre-op signature is
  the cached one, nobody else changed the file in between, so the pages are patched with
  what we wrote and move to the post-op signature; otherwise they are dropped. The
  planted bug `trust_wcc` skips that comparison.
- No I/O: the client fetches pages with READ and hands them in with `fill`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.client.attr_cache import Signature

PAGE_SIZE = 4096


def page_span(offset: int, end: int) -> range:
    """Indices of the pages that hold bytes [offset, end)."""
    if end <= offset:
        return range(0)
    return range(offset // PAGE_SIZE, (end - 1) // PAGE_SIZE + 1)


def page_length(index: int, size: int) -> int:
    """How many bytes page `index` holds in a file of `size` bytes."""
    return max(0, min(PAGE_SIZE, size - index * PAGE_SIZE))


@dataclass(slots=True)
class FilePages:
    """The cached pages of one file, all of the version `signature`."""

    signature: Signature
    pages: dict[int, bytes] = field(default_factory=dict)

    def missing(self, offset: int, end: int) -> list[int]:
        """Pages needed for bytes [offset, end) (end within the size) not cached whole."""
        size = self.signature.size
        return [
            index
            for index in page_span(offset, end)
            if len(self.pages.get(index, b"")) != page_length(index, size)
        ]

    def fill(self, offset: int, data: bytes) -> None:
        """Cache the pages READ returned: `data` from page-aligned `offset`; only whole
        pages (or the last one, up to the size) are kept."""
        size = self.signature.size
        for index in page_span(offset, offset + len(data)):
            start = index * PAGE_SIZE - offset
            piece = data[start : start + PAGE_SIZE]
            if len(piece) == page_length(index, size):
                self.pages[index] = piece

    def assemble(self, offset: int, end: int) -> bytes:
        """Bytes [offset, end) from cached pages (every one must be there)."""
        parts = []
        for index in page_span(offset, end):
            base = index * PAGE_SIZE
            parts.append(self.pages[index][max(offset - base, 0) : end - base])
        return b"".join(parts)

    def apply_write(
        self, before: Signature | None, after: Signature, offset: int, data: bytes, trust: bool
    ) -> None:
        """Our WRITE of `data` at `offset` took the file from `before` to `after`."""
        if not trust and before != self.signature:
            self._drop(after)
            return
        old_size, size = self.signature.size, after.size
        end = offset + len(data)
        touched = set(page_span(offset, end)) | set(page_span(old_size, size))
        for index in sorted(touched):
            base = index * PAGE_SIZE
            length = page_length(index, size)
            old = self.pages.get(index)
            covers = offset <= base and end >= base + length
            if old is None and not covers:
                continue
            page = bytearray((old or b"")[:length].ljust(length, b"\0"))
            start, stop = max(offset, base), min(end, base + length)
            if start < stop:
                page[start - base : stop - base] = data[start - offset : stop - offset]
            self.pages[index] = bytes(page)
        self.signature = after

    def apply_setattr(self, before: Signature | None, after: Signature, trust: bool) -> None:
        """Our SETATTR took the file from `before` to `after` (pages past a new, smaller
        size are cut; a SETATTR of mode, owner or times keeps them all)."""
        if not trust and before != self.signature:
            self._drop(after)
            return
        size = after.size
        kept: dict[int, bytes] = {}
        for index, page in self.pages.items():
            length = page_length(index, size)
            if length:
                kept[index] = page[:length].ljust(length, b"\0")
        self.pages = kept
        self.signature = after

    def _drop(self, signature: Signature) -> None:
        self.pages.clear()
        self.signature = signature


class DataCache:
    """Pages by file handle."""

    def __init__(self) -> None:
        self._files: dict[bytes, FilePages] = {}

    def view(self, handle: bytes, signature: Signature) -> FilePages:
        """The file's pages for version `signature` (dropping those of another version)."""
        pages = self._files.get(handle)
        if pages is None:
            pages = self._files[handle] = FilePages(signature)
        elif pages.signature != signature:
            pages.pages.clear()
            pages.signature = signature
        return pages

    def get(self, handle: bytes) -> FilePages | None:
        return self._files.get(handle)

    def forget(self, handle: bytes) -> None:
        self._files.pop(handle, None)
