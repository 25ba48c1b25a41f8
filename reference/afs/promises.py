"""The AFS server's callback promises: the volatile half of its state, sans-I/O.

Rules:
- A promise is given to one client (the address of its callback service) on one path,
  at `granted_at`, and holds until `expires_at` (granted_at + duration). Each grant has
  a serial number; a new grant to the same client on the same path replaces the old one.
- A promise is live while it is in the table and `now < expires_at`. Expired promises
  are dropped lazily, whenever a path's promises are looked at.
- Breaking: `start_breaks(path, writer, now)` returns the live promises of clients
  other than `writer` that are not being broken yet, and marks them as being broken.
  `finish_break(promise)` ends a break, delivered or given up: the promise is removed if
  it is still the current grant. If the client was granted again meanwhile (its fetch
  crossed the break), the newer promise stays live and the next store breaks it again.
- The table is volatile: a server restart starts with an empty one (so every promise
  handed out before is forgotten; clients learn that from the new epoch).
- Times are arguments: this module never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.rpc.stubs import Address


@dataclass(frozen=True, slots=True)
class Promise:
    client: Address
    path: bytes
    serial: int
    granted_at: float
    expires_at: float


@dataclass(slots=True)
class CallbackPromises:
    """Live promises per path, and the grants whose break is under way."""

    duration: float
    _by_path: dict[bytes, dict[Address, Promise]] = field(default_factory=dict)
    _breaking: set[int] = field(default_factory=set)
    _last_serial: int = 0

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError(f"a callback duration must be positive, not {self.duration}")

    def grant(self, client: Address, path: bytes, now: float) -> Promise:
        self._last_serial += 1
        promise = Promise(client, path, self._last_serial, now, now + self.duration)
        self._by_path.setdefault(path, {})[client] = promise
        return promise

    def live(self, path: bytes, now: float) -> list[Promise]:
        """Every live promise on `path`, oldest grant first."""
        holders = self._by_path.get(path)
        if holders is None:
            return []
        for client in [client for client, promise in holders.items() if promise.expires_at <= now]:
            self._breaking.discard(holders.pop(client).serial)
        if not holders:
            del self._by_path[path]
        return sorted(holders.values(), key=lambda promise: promise.serial)

    def others(self, path: bytes, writer: Address, now: float) -> list[Promise]:
        """The live promises on `path` held by clients other than `writer`."""
        return [promise for promise in self.live(path, now) if promise.client != writer]

    def start_breaks(self, path: bytes, writer: Address, now: float) -> list[Promise]:
        """The promises a store by `writer` must break now (see the module rules)."""
        starting = [p for p in self.others(path, writer, now) if p.serial not in self._breaking]
        self._breaking.update(promise.serial for promise in starting)
        return starting

    def finish_break(self, promise: Promise) -> bool:
        """The break of `promise` is over; True if that removed it (it was current)."""
        self._breaking.discard(promise.serial)
        holders = self._by_path.get(promise.path)
        if holders is None or holders.get(promise.client) != promise:
            return False
        del holders[promise.client]
        if not holders:
            del self._by_path[promise.path]
        return True
