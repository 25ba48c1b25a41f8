"""The AFS callback properties, judged from the server's journal and what clients were told.

Rules:
- Steps run one at a time, so at the start of a read the last completed store of each
  path is known (`store_completed`, called when a close returns). Contents identify
  stores: the harness writes unique contents, and the journal's Stored events (plus the
  initial files) map contents to versions.
- A read returning contents older than the last completed store is stale. Its client's
  latest promise on that path (the last Granted to it before the read began) must not
  have expired when the read began, or it is an ExpiryViolation (the client's own
  promise ends no later than the server's, so a copy behind a lost break is served
  only until then). And that promise must have been impossible to break: its break
  was given up (a lost break), or the server restarted after granting it (the promise
  was forgotten); otherwise it is a CallbackSafetyViolation.
- A read must not trust an earlier epoch: if the client had seen replies of epoch E
  before the read began, the last reply it got about the path by the end of the read must
  be of epoch E or later; otherwise it used a copy it never revalidated after noticing
  the restart: an EpochViolation.
- After every step, every file on the server holds the contents of the last completed
  store (the last closer wins), or a LastWriterViolation.
"""

from __future__ import annotations

from dataclasses import dataclass

from properties.afs.world import AfsWorld, Restarted
from reference.afs.events import BreakEnded, Granted, Stored


class AfsViolation(AssertionError):
    """An AFS property failed; the subclass names which."""


class CallbackSafetyViolation(AfsViolation):
    """A client holding a promise nothing excused served contents older than the last store."""


class LastWriterViolation(AfsViolation):
    """The server does not hold the contents of the last completed store."""


class ExpiryViolation(AfsViolation):
    """A client served stale contents after its promise had expired."""


class EpochViolation(AfsViolation):
    """A client trusted a copy from before a server restart it had already noticed."""


@dataclass(frozen=True, slots=True)
class ReadStart:
    """Where the world stood when a client began to read (open) a path."""

    client: str
    path: bytes
    time: float
    journal_length: int
    replies_seen: int


class AfsChecker:
    def __init__(self, afs: AfsWorld) -> None:
        self.afs = afs
        self.last_store = {path: stored.data for path, stored in afs.files.files.items()}
        self._versions = {
            (path, stored.data): stored.version for path, stored in self.afs.files.files.items()
        }
        self._journal_read = 0
        self.excused: list[str] = []  # stale reads the properties allow, and why

    def begin_read(self, client: str, path: bytes) -> ReadStart:
        afs = self.afs
        replies = len(afs.clients[client].caller.replies)
        return ReadStart(client, path, afs.world.now, len(afs.journal), replies)

    def store_completed(self, path: bytes, data: bytes) -> None:
        self.last_store[path] = data

    def check_read(self, start: ReadStart, data: bytes) -> None:
        self._check_epoch(start)
        served = self._version(start.path, data)
        if served is None:
            raise CallbackSafetyViolation(
                f"{start.client} read {start.path!r} as {data!r}, which the server never held"
            )
        latest_data = self.last_store[start.path]
        latest = self._version(start.path, latest_data)
        if latest is None:
            raise LastWriterViolation(
                f"the last completed store of {start.path!r} ({latest_data!r}) was never applied"
            )
        if served < latest:
            self._check_stale(start, data, latest_data)

    def check_last_writer(self) -> None:
        for path, data in self.last_store.items():
            held = self.afs.files.get(path)
            if held is None or held.data != data:
                found = None if held is None else held.data
                raise LastWriterViolation(
                    f"the server holds {found!r} in {path!r}, but the last completed store "
                    f"(the last close to return) wrote {data!r}"
                )

    def _check_stale(self, start: ReadStart, data: bytes, latest_data: bytes) -> None:
        address = self.afs.clients[start.client].callback_address
        journal = self.afs.journal[: start.journal_length]
        stale = (
            f"{start.client} read {start.path!r} at t={start.time:.6f} as {data!r}, but the "
            f"last completed store wrote {latest_data!r}"
        )
        grants = [
            (index, entry)
            for index, entry in enumerate(journal)
            if isinstance(entry, Granted)
            and entry.promise.client == address
            and entry.promise.path == start.path
        ]
        if not grants:
            raise CallbackSafetyViolation(f"{stale}, and it never had a promise on it")
        index, granted = grants[-1]
        expired = granted.promise.expires_at
        if start.time >= expired:
            raise ExpiryViolation(
                f"{stale}; its promise (granted at t={granted.time:.6f}) expired at "
                f"t={expired:.6f}, before the read"
            )
        for entry in journal[index + 1 :]:
            if isinstance(entry, Restarted):
                self.excused.append(f"{stale}: the server restarted (promise forgotten)")
                return
            if (
                isinstance(entry, BreakEnded)
                and not entry.delivered
                and (entry.epoch, entry.promise) == (granted.epoch, granted.promise)
            ):
                self.excused.append(f"{stale}: its break was lost")
                return
        raise CallbackSafetyViolation(
            f"{stale}; its promise (granted at t={granted.time:.6f}, epoch {granted.epoch}, "
            f"expiring at t={expired:.6f}) was neither broken, nor lost in a break, nor "
            "forgotten in a restart"
        )

    def _check_epoch(self, start: ReadStart) -> None:
        replies = self.afs.clients[start.client].caller.replies
        before = replies[: start.replies_seen]
        if not before:
            return
        known = max(reply.epoch for reply in before)
        about = [reply for reply in replies if reply.path == start.path]
        if not about or about[-1].epoch < known:
            last = "none" if not about else f"of epoch {about[-1].epoch} (t={about[-1].time:.6f})"
            raise EpochViolation(
                f"{start.client} read {start.path!r} at t={start.time:.6f} after seeing epoch "
                f"{known}, but the last reply it got about that path was {last}: it trusted "
                "a copy it never revalidated since the restart"
            )

    def _version(self, path: bytes, data: bytes) -> int | None:
        journal = self.afs.journal
        for entry in journal[self._journal_read :]:
            if isinstance(entry, Stored):
                self._versions[(entry.path, entry.data)] = entry.version
        self._journal_read = len(journal)
        return self._versions.get((path, data))
