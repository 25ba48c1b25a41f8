"""The RPC client engine: XIDs, pending calls, retransmission and reply matching.

Rules:
- Sans-I/O on an injected clock: `start_call()` returns the bytes to send; `receive()`
  takes the bytes of one incoming message; `due(now)` says what to retransmit and which
  calls gave up; `next_deadline()` says when to call `due()` next. No sockets, no sleeps.
- Every transmission of a call carries the same XID; XIDs are allocated sequentially
  from `first_xid` (the transport picks it: a seed in the simulation, random on sockets).
- Timeouts follow the RetryPolicy: the n-th retransmission waits timeo * 2**n
  ("exponential", UDP-like) or timeo * (n + 1) ("linear", TCP-like), capped at
  max_timeo. After `retrans` retransmissions a soft call completes with RpcTimeout; a
  hard call keeps retransmitting at the capped timeout forever.
- A reply to an XID not pending (late, duplicated, or for a call that gave up) is
  ignored and counted; so is a message that is not a reply at all.
- A reply to a pending call whose RPC header does not parse is garbage: as Linux's
  client does (tk_garb_retry), the call is sent again at once, GARBAGE_RETRIES times,
  and the next garbage reply completes it with RpcGarbageReply. (Results that do not
  decode are the stub's to report, calls.result_of: the header was fine.)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from reference.rpc import message as msg
from reference.rpc.auth import encode_credential
from reference.rpc.errors import RpcAcceptError, RpcDenied, RpcError, RpcGarbageReply, RpcTimeout
from reference.rpc.stubs import AuthNone, Credential


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeo: float = 1.1
    retrans: int = 3
    hard: bool = False
    max_timeo: float = 60.0
    backoff: str = "exponential"  # or "linear"

    def __post_init__(self) -> None:
        if self.timeo <= 0 or self.max_timeo < self.timeo or self.retrans < 0:
            raise ValueError(f"bad retry policy {self}: need 0 < timeo <= max_timeo, retrans >= 0")
        if self.backoff not in ("exponential", "linear"):
            raise ValueError(f"backoff must be 'exponential' or 'linear', not {self.backoff!r}")

    def timeout(self, attempt: int) -> float:
        """How long to wait after transmission number `attempt` (0 = the first)."""
        if self.backoff == "linear":
            return min(self.timeo * (attempt + 1), self.max_timeo)
        return min(self.timeo * (1 << min(attempt, 64)), self.max_timeo)


@dataclass(frozen=True, slots=True)
class Outgoing:
    xid: int
    message: bytes


@dataclass(frozen=True, slots=True)
class Completion:
    """A call finished: `results` holds the encoded results on success, else `error`."""

    xid: int
    results: bytes | None = None
    error: RpcError | None = None


GARBAGE_RETRIES = 2


@dataclass(slots=True)
class _Pending:
    message: bytes
    attempts: int
    deadline: float
    garbage_retries: int = GARBAGE_RETRIES


@dataclass(slots=True)
class ClientStats:
    calls: int = 0
    retransmissions: int = 0
    timeouts: int = 0
    ignored_replies: int = 0
    garbage_replies: int = 0


@dataclass(slots=True)
class RpcClientEngine:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    credential: Credential = field(default_factory=AuthNone)
    first_xid: int = 1
    stats: ClientStats = field(default_factory=ClientStats)
    _next_xid: int = 0
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _deadlines: list[tuple[float, int]] = field(default_factory=list)
    _credential_bytes: bytes = b""

    def __post_init__(self) -> None:
        self._next_xid = self.first_xid & 0xFFFFFFFF
        self._credential_bytes = encode_credential(self.credential)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start_call(
        self, program: int, version: int, procedure: int, args: bytes, now: float
    ) -> Outgoing:
        xid = self._next_xid
        while xid in self._pending:  # after 2**32 calls with one still pending
            xid = (xid + 1) & 0xFFFFFFFF
        self._next_xid = (xid + 1) & 0xFFFFFFFF
        message = msg.encode_call(xid, program, version, procedure, self._credential_bytes, args)
        deadline = now + self.policy.timeout(0)
        self._pending[xid] = _Pending(message, 1, deadline)
        heapq.heappush(self._deadlines, (deadline, xid))
        self.stats.calls += 1
        return Outgoing(xid, message)

    def receive(self, message: bytes) -> Completion | Outgoing | None:
        """What a received message does: completes a call, sends one again (a garbage
        reply with retries left), or nothing."""
        known = msg.peek_xid(message)
        if known is None or known[1] != msg.REPLY or known[0] not in self._pending:
            self.stats.ignored_replies += 1
            return None
        xid = known[0]
        try:
            header = msg.parse_reply(message)
        except msg.MalformedMessage as error:
            self.stats.garbage_replies += 1
            pending = self._pending[xid]
            if pending.garbage_retries:
                pending.garbage_retries -= 1
                self.stats.retransmissions += 1
                return Outgoing(xid, pending.message)
            del self._pending[xid]
            return Completion(xid, error=RpcGarbageReply(error.reason, xid))
        del self._pending[xid]
        if header.accepted and header.stat == msg.SUCCESS:
            return Completion(xid, results=message[header.results_offset :])
        if header.accepted:
            return Completion(xid, error=RpcAcceptError(header.stat, header.low, header.high))
        return Completion(
            xid, error=RpcDenied(header.stat, header.auth_stat, header.low, header.high)
        )

    def cancel(self, xid: int) -> None:
        self._pending.pop(xid, None)

    def next_deadline(self) -> float | None:
        deadlines = self._deadlines
        while deadlines:
            deadline, xid = deadlines[0]
            pending = self._pending.get(xid)
            if pending is not None and pending.deadline == deadline:
                return deadline
            heapq.heappop(deadlines)  # answered, cancelled or rescheduled
        return None

    def due(self, now: float) -> list[Outgoing | Completion]:
        """Retransmissions and soft timeouts whose deadline is at or before `now`."""
        actions: list[Outgoing | Completion] = []
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            deadline, xid = heapq.heappop(deadlines)
            pending = self._pending.get(xid)
            if pending is None or pending.deadline != deadline:
                continue
            retransmissions = pending.attempts - 1
            if retransmissions >= self.policy.retrans and not self.policy.hard:
                del self._pending[xid]
                self.stats.timeouts += 1
                actions.append(Completion(xid, error=RpcTimeout(xid, pending.attempts)))
                continue
            pending.deadline = now + self.policy.timeout(pending.attempts)
            pending.attempts += 1
            heapq.heappush(deadlines, (pending.deadline, xid))
            self.stats.retransmissions += 1
            actions.append(Outgoing(xid, pending.message))
        return actions

    def resend_all(self) -> list[Outgoing]:
        """Every pending call, to send again on a new connection (same XIDs, same
        deadlines)."""
        return [Outgoing(xid, pending.message) for xid, pending in self._pending.items()]
