"""The AFS client's view of its callback promises, sans-I/O: when a cached copy is trusted.

Rules:
- The client knows one server epoch: the largest it has seen in any reply
  (`observe_epoch`). A promise is recorded with the epoch of the reply that gave it.
- A cached copy of a path is trusted at time `now` only while its promise is unbroken,
  `now < expires_at`, and the promise's epoch is the known epoch. A new epoch therefore
  distrusts every copy at once: after a server restart, nothing is trusted again before
  the server has been asked about it.
- Expiry is counted from the moment the call that earned the promise was started
  (`Ticket.started_at`), never from the reply's arrival, so the client's promise always
  ends no later than the server's.
- A break (CBPROC_BREAK) drops the path's promise and counts. A promise from a reply is
  recorded only if no break of that path arrived since its call started (the break may
  have been meant for that very promise, overtaking its reply) and the reply's epoch is
  the known one; otherwise the data may be used once but is not trusted later.
- Planted bugs for the properties (ClientMutants; all off is the correct client):
  `ignore_epoch` trusts promises from an older epoch; `trust_expired` ignores expiry.
- Times are arguments: this module never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ClientMutants:
    """Planted bugs, each found by one property; all False is the correct client."""

    ignore_epoch: bool = False
    trust_expired: bool = False


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken when a call that may earn a promise starts."""

    path: bytes
    started_at: float
    breaks_seen: int


@dataclass(frozen=True, slots=True)
class ClientPromise:
    epoch: int
    expires_at: float


@dataclass(slots=True)
class CallbackState:
    """The promises a client holds, per path (see the module rules)."""

    mutants: ClientMutants = ClientMutants()
    epoch: int = 0
    breaks: int = 0
    _promises: dict[bytes, ClientPromise] = field(default_factory=dict)
    _breaks_by_path: dict[bytes, int] = field(default_factory=dict)

    def trusted(self, path: bytes, now: float) -> bool:
        promise = self._promises.get(path)
        if promise is None:
            return False
        if promise.epoch != self.epoch and not self.mutants.ignore_epoch:
            return False
        return now < promise.expires_at or self.mutants.trust_expired

    def observe_epoch(self, epoch: int) -> None:
        self.epoch = max(self.epoch, epoch)

    def ticket(self, path: bytes, now: float) -> Ticket:
        return Ticket(path, now, self._breaks_by_path.get(path, 0))

    def promise(self, ticket: Ticket, epoch: int, seconds: int) -> bool:
        """Record the promise of a reply to the call of `ticket`; True if it is trusted."""
        crossed = self._breaks_by_path.get(ticket.path, 0) != ticket.breaks_seen
        if crossed or seconds <= 0 or epoch != self.epoch:
            self._promises.pop(ticket.path, None)
            return False
        self._promises[ticket.path] = ClientPromise(epoch, ticket.started_at + seconds)
        return True

    def drop(self, path: bytes) -> None:
        """Forget the promise on `path` (the file is gone)."""
        self._promises.pop(path, None)

    def break_callback(self, path: bytes) -> None:
        self.breaks += 1
        self._breaks_by_path[path] = self._breaks_by_path.get(path, 0) + 1
        self._promises.pop(path, None)
