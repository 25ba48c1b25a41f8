"""Reading and writing file data: the page cache kept coherent, write-behind, COMMIT and
the resend after a verifier change.

Rules:
- A read validates the file's attributes (attr_cache), takes the pages of that version
  (data_cache), READs what is missing in runs of at most rsize, and lays the bytes this
  client has not sent yet over them. A READ reply showing another version starts the read
  again (at most MAX_RESTARTS times), so a read never returns bytes of two versions.
- Our own WRITE and SETATTR replies carry wcc_data: pre-op attributes equal to the cached
  ones mean only we changed the file, so the pages are patched (or, for a SETATTR of
  mode, owner or times, kept) instead of dropped.
- Writes are buffered (write_back) and sent UNSTABLE in offset order on flush; every
  acknowledged UNSTABLE write is kept until a COMMIT answers with its verifier; a COMMIT
  with another verifier sends every kept write again FILE_SYNC (at most
  MAX_COMMIT_ROUNDS times in a row). With `noac` writes go out FILE_SYNC at once.
- A SETATTR (truncate, O_TRUNC, chmod, chown, utime) first sends and commits what this
  client wrote, so no later resend can bring truncated bytes back or change the mtime.
"""

from __future__ import annotations

import errno

from reference.client.attr_cache import Signature
from reference.client.core import ClientCore, pre_op
from reference.client.data_cache import PAGE_SIZE, FilePages, page_span
from reference.client.write_back import WriteBack, overlay
from reference.xdr.gen.nfs3 import (
    COMMIT3args,
    READ3args,
    SETATTR3args,
    WRITE3args,
    WRITE3resok,
    fattr3,
    ftype3,
    nfs_fh3,
    sattr3,
    sattrguard3,
    stable_how,
    wcc_data,
)

MAX_RESTARTS = 8
MAX_COMMIT_ROUNDS = 16


class FileIo(ClientCore):
    """The data paths of a mount, on top of its caches and RPC plumbing."""

    # -- our own changes ---------------------------------------------------------------

    def _own_file_change(
        self, handle: bytes, wcc: wcc_data, started: float
    ) -> tuple[Signature | None, Signature, FilePages] | None:
        after = wcc.after.attributes
        before = pre_op(wcc)
        if after is None:
            self.data.forget(handle)
            self.attributes.forget(handle)
            return None
        cached = self.attributes.get(handle)
        own = cached is not None and before == cached.signature
        self.attributes.store(handle, after, started, own=own)
        pages = self.data.get(handle)
        if pages is None:
            if not own or before is None:
                return None
            pages = self.data.view(handle, before)
        return before, Signature.of(after), pages

    def own_write(
        self, handle: bytes, wcc: wcc_data, started: float, offset: int, data: bytes
    ) -> None:
        change = self._own_file_change(handle, wcc, started)
        if change is not None:
            before, after, pages = change
            pages.apply_write(before, after, offset, data, self.options.bugs.trust_wcc)

    def own_setattr(self, handle: bytes, wcc: wcc_data, started: float) -> None:
        change = self._own_file_change(handle, wcc, started)
        if change is not None:
            before, after, pages = change
            pages.apply_setattr(before, after, self.options.bugs.trust_wcc)

    # -- reading -----------------------------------------------------------------------

    def size_seen(self, handle: bytes, attributes: fattr3) -> int:
        """The size this client sees: the server's, extended by writes not yet sent."""
        write_back = self.write_backs.get(handle)
        return max(attributes.size, write_back.end if write_back else 0)

    async def read_handle(self, handle: bytes, offset: int, count: int, path: str) -> bytes:
        fetched: set[int] = set()
        for _ in range(MAX_RESTARTS):
            attributes = await self.attributes_of(handle, path)
            if attributes.type == ftype3.NF3DIR:
                raise OSError(errno.EISDIR, "is a directory", path)
            pages = self.data.view(handle, Signature.of(attributes))
            end = min(offset + count, self.size_seen(handle, attributes))
            if end <= offset:
                return b""
            server_end = min(end, attributes.size)
            missing = pages.missing(offset, server_end)
            if missing:
                fetched.update(missing)
                if await self._fetch(handle, pages, missing, path):
                    continue  # the file changed: start again with its new version
                if pages.missing(offset, server_end):
                    continue
            needed = len(page_span(offset, server_end))
            self.stats.page_misses += len(fetched)
            self.stats.page_hits += max(needed - len(fetched), 0)
            base = pages.assemble(offset, server_end) if server_end > offset else b""
            write_back = self.write_backs.get(handle)
            pending = write_back.pending if write_back else []
            return overlay(base.ljust(end - offset, b"\0"), offset, pending)
        raise OSError(errno.EIO, f"the file kept changing during {MAX_RESTARTS} reads", path)

    async def _fetch(self, handle: bytes, pages: FilePages, missing: list[int], path: str) -> bool:
        """READ the missing pages, in runs of at most rsize; True if a reply showed the
        file at another version (its pages then start the new version)."""
        for first, count in _runs(missing, max(self.rsize // PAGE_SIZE, 1)):
            offset = first * PAGE_SIZE
            started = self.clock()
            args = READ3args(nfs_fh3(handle), offset, count * PAGE_SIZE)
            result = await self._call("READ", path, self.nfs.NFSPROC3_READ(args))
            if result.resok is None:
                assert result.resfail is not None
                self.note_attributes(handle, result.resfail.file_attributes, started)
                raise self._failed(result, "READ", path, handle)
            after = result.resok.file_attributes.attributes
            if after is not None:
                self.attributes.store(handle, after, started)
                if Signature.of(after) != pages.signature:
                    self.data.view(handle, Signature.of(after)).fill(offset, result.resok.data)
                    return True
            pages.fill(offset, result.resok.data)
        return False

    # -- writing -----------------------------------------------------------------------

    def write_back(self, handle: bytes) -> WriteBack:
        write_back = self.write_backs.get(handle)
        if write_back is None:
            write_back = self.write_backs[handle] = WriteBack()
        return write_back

    async def write_rpc(
        self, handle: bytes, offset: int, data: bytes, stable: stable_how, path: str | None
    ) -> WRITE3resok:
        """One WRITE (data at most wsize); the caches learn from its wcc data."""
        started = self.clock()
        args = WRITE3args(nfs_fh3(handle), offset, len(data), stable, data)
        result = await self._call("WRITE", path, self.nfs.NFSPROC3_WRITE(args))
        if result.resok is None:
            assert result.resfail is not None
            self.note_attributes(handle, result.resfail.file_wcc.after, started)
            raise self._failed(result, "WRITE", path, handle)
        if result.resok.count != len(data):
            raise OSError(
                errno.EIO, f"short WRITE: {result.resok.count} of {len(data)} bytes", path
            )
        self.own_write(handle, result.resok.file_wcc, started, offset, data)
        return result.resok

    async def write_through(self, handle: bytes, offset: int, data: bytes, path: str) -> None:
        """Synchronous writes (noac): FILE_SYNC, at once."""
        for start in range(0, len(data), self.wsize):
            chunk = data[start : start + self.wsize]
            await self.write_rpc(handle, offset + start, chunk, stable_how.FILE_SYNC, path)

    async def flush(self, handle: bytes, path: str | None) -> None:
        """Send the file's dirty data as UNSTABLE WRITEs (in offset order)."""
        write_back = self.write_backs.get(handle)
        if write_back is None or not write_back.dirty:
            return
        extents = write_back.dirty.take()
        write_back.in_flight.extend(extents)
        sent = 0
        try:
            for extent in extents:
                for start in range(0, len(extent.data), self.wsize):
                    chunk = extent.data[start : start + self.wsize]
                    offset = extent.offset + start
                    reply = await self.write_rpc(handle, offset, chunk, stable_how.UNSTABLE, path)
                    stable = reply.committed != stable_how.UNSTABLE
                    write_back.acknowledged(offset, chunk, reply.verf, stable)
                sent += 1
        except BaseException:
            newer = write_back.dirty.take()
            for extent in [*extents[sent:], *newer]:
                write_back.dirty.add(extent.offset, extent.data)
            raise
        finally:
            for extent in extents:
                write_back.in_flight.remove(extent)

    async def commit(self, handle: bytes, path: str | None) -> None:
        """COMMIT the file's unstable writes; resend them FILE_SYNC if the verifier shows
        that the server lost them."""
        write_back = self.write_backs.get(handle)
        if write_back is None:
            return
        ignore_verifier = self.options.bugs.ignore_verifier
        for _ in range(MAX_COMMIT_ROUNDS):
            if not write_back.uncommitted:
                return
            started = self.clock()
            args = COMMIT3args(nfs_fh3(handle), 0, 0)
            result = await self._call("COMMIT", path, self.nfs.NFSPROC3_COMMIT(args))
            if result.resok is None:
                assert result.resfail is not None
                self.note_attributes(handle, result.resfail.file_wcc.after, started)
                raise self._failed(result, "COMMIT", path, handle)
            self.note_attributes(handle, result.resok.file_wcc.after, started)
            lost = write_back.committed(result.resok.verf, ignore_verifier)
            if lost:
                self.stats.verifier_changes += 1
            for write in lost:
                reply = await self.write_rpc(
                    handle, write.offset, write.data, stable_how.FILE_SYNC, path
                )
                self.stats.resent_writes += 1
                write_back.resent(write, reply.verf, reply.committed != stable_how.UNSTABLE)
        if write_back.uncommitted:
            raise OSError(
                errno.EIO, f"write verifier changed {MAX_COMMIT_ROUNDS} times in a row", path
            )

    async def sync_handle(self, handle: bytes, path: str | None) -> None:
        await self.flush(handle, path)
        await self.commit(handle, path)
        write_back = self.write_backs.get(handle)
        if write_back is not None and write_back.idle:
            del self.write_backs[handle]

    async def set_attributes(self, handle: bytes, attributes: sattr3, path: str) -> None:
        """SETATTR, after sending and committing what this client wrote (as Linux does:
        no later resend can bring back truncated bytes or move an mtime set here)."""
        await self.sync_handle(handle, path)
        started = self.clock()
        args = SETATTR3args(nfs_fh3(handle), attributes, sattrguard3(False))
        result = await self._call("SETATTR", path, self.nfs.NFSPROC3_SETATTR(args))
        if result.resok is None:
            assert result.resfail is not None
            self.note_attributes(handle, result.resfail.obj_wcc.after, started)
            raise self._failed(result, "SETATTR", path, handle)
        self.own_setattr(handle, result.resok.obj_wcc, started)


def _runs(indices: list[int], limit: int) -> list[tuple[int, int]]:
    """Runs of consecutive indices as (first, count), each at most `limit` long."""
    runs: list[tuple[int, int]] = []
    for index in sorted(indices):
        if runs and runs[-1][0] + runs[-1][1] == index and runs[-1][1] < limit:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((index, 1))
    return runs
