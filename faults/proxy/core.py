"""The sans-I/O heart of the fault proxies: one decision and one trace entry per message.

Rules:
- No sockets, no clock, no event loop: transports hand each whole message (a UDP
  datagram, a TCP record) to `route()` with `now` (their loop's clock) and get a `Plan`:
  the copies to forward, each with its delay. They report each copy they forward with
  `delivered()` and each copy they could not forward with `lost()`.
- Who decides: first the steering rules (see steering.py), then the fault source through
  `MessageFaults.decide()` — the very decisions, labels and weights of the simulation
  world's datagrams, so a seed, a Hypothesis schedule or a recording means the same thing
  in both worlds. A message whose direction is not in `faulty` is delivered at once and
  draws nothing; so is every message when the rates are all zero.
- Decisions are drawn in the order messages reach the proxy. The same fault source state
  and the same order of messages give the same decisions; on real sockets the order is
  the same from run to run when one client waits for each reply before its next call
  (and replies draw nothing, or nothing can overtake them).
- A decision becomes a plan: deliver → one copy (delay 0, or the delay drawn); drop → no
  copy; duplicate → a copy now and one later; reorder → one copy that later messages may
  overtake (`out_of_order`). A delayed in-order copy on TCP holds the records behind it.
- The trace is the simulation world's (faults.sim.trace): a "send" event when a message
  reaches the proxy, one fault event ("drop", "duplicate", "delay", "reorder") when it is
  not delivered at once untouched, a "deliver" per copy forwarded and a "lost" per copy
  that could not be (connection closed, buffer full). src/dst are the real endpoints
  (client and server, never the proxy itself), times are seconds since `origin`, and
  notes name the message: "call NFSPROC3_REMOVE xid=17", with " [steered]" when a rule
  decided. With `trace=None` nothing is recorded and no checksum is computed.
- `totals` counts every message by what was decided (FORWARDED untouched, or the fault's
  trace kind) and every copy lost, trace or no trace (`nfsprop proxy` prints them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from zlib import crc32

from faults.proxy.messages import DIRECTIONS, MessageId
from faults.proxy.steering import Action, Rule, Steerer, Steering
from faults.sim.faults import FaultSource, NoFaults
from faults.sim.message_faults import DELIVER_NOW, Deliver, Duplicate, FaultRates, MessageFaults
from faults.sim.trace import Kind, Trace, format_delay
from reference.rpc.stubs import Address

FORWARDED = "forwarded"  # a message delivered at once, untouched

STEERED = "[steered]"


@dataclass(frozen=True, slots=True)
class Copy:
    """One copy to forward `delay` seconds from now; with `out_of_order`, later messages may
    overtake it (on UDP every copy may be overtaken anyway)."""

    delay: float
    out_of_order: bool = False


Plan = tuple[Copy, ...]

NOW: Plan = (Copy(0.0),)
DROPPED: Plan = ()


class Envelope:
    """A message on its way through the proxy: the bytes, who it is, where it goes, and
    (TCP) the record as it arrived when that is already one fragment (`framed`)."""

    __slots__ = ("digest", "dst", "framed", "ident", "payload", "src")

    def __init__(
        self, payload: bytes, ident: MessageId, src: Address, dst: Address, digest: int
    ) -> None:
        self.payload = payload
        self.ident = ident
        self.src = src
        self.dst = dst
        self.digest = digest
        self.framed: bytes | None = None


class ProxyCore:
    """Decisions, their totals and the trace of one proxy (any number of conversations)."""

    __slots__ = ("_decide", "_faulty", "_rates_zero", "origin", "steerer", "totals", "trace")

    def __init__(
        self,
        faults: FaultSource | None = None,
        rates: FaultRates | None = None,
        trace: Trace | None = None,
        faulty: Collection[str] = DIRECTIONS,
    ) -> None:
        unknown = set(faulty) - set(DIRECTIONS)
        if unknown:
            raise ValueError(f"faulty directions must be 'call' and/or 'reply', not {unknown}")
        rates = rates or FaultRates()
        self._decide = MessageFaults(faults or NoFaults(), rates).decide
        self._rates_zero = rates.message_fault_total == 0
        self._faulty = frozenset(faulty)
        self.trace = trace
        self.steerer = Steerer()
        self.origin = 0.0
        self.totals: Counter[str] = Counter()  # messages by what was decided (FORWARDED, a Kind)

    def start(self, now: float) -> None:
        """Trace times count from `now`."""
        self.origin = now

    def steer(self, rule: Rule) -> Steering:
        return self.steerer.add(rule)

    def route(
        self, payload: bytes, ident: MessageId, src: Address, dst: Address, now: float
    ) -> tuple[Envelope, Plan]:
        """Decide what happens to one message that reached the proxy."""
        trace = self.trace
        if trace is None and self._rates_zero and not self.steerer:
            self.totals[FORWARDED] += 1
            return Envelope(payload, ident, src, dst, 0), NOW
        digest = 0 if trace is None else crc32(payload)
        envelope = Envelope(payload, ident, src, dst, digest)
        rule = self.steerer.decide(ident) if self.steerer else None
        if rule is not None:
            plan, kind, detail = _steered_plan(rule)
            detail = f"{detail} {STEERED}" if detail else STEERED
        elif self._rates_zero or ident.direction not in self._faulty:
            plan, kind, detail = NOW, "", ""
        else:
            plan, kind, detail = _drawn_plan(self._decide())
        self.totals[kind or FORWARDED] += 1
        if trace is not None:
            time = now - self.origin
            note = ident.note
            size = len(payload)
            row = (time, Kind.SEND, *src, *dst, size, digest, note)
            trace.append_row(row)
            if kind:
                trace.append_row((time, kind, *src, *dst, size, digest, f"{note} {detail}"))
        return envelope, plan

    def delivered(self, envelope: Envelope, now: float) -> None:
        """A copy of `envelope` was forwarded."""
        trace = self.trace
        if trace is not None:
            size = len(envelope.payload)
            note = envelope.ident.note
            time = now - self.origin
            trace.append_row(
                (time, Kind.DELIVER, *envelope.src, *envelope.dst, size, envelope.digest, note)
            )

    def lost(self, envelope: Envelope, now: float, reason: str) -> None:
        """A copy of `envelope` could not be forwarded, because of `reason`."""
        self.totals[Kind.LOST] += 1
        trace = self.trace
        if trace is not None:
            size = len(envelope.payload)
            note = f"{envelope.ident.note} {reason}"
            time = now - self.origin
            trace.append_row(
                (time, Kind.LOST, *envelope.src, *envelope.dst, size, envelope.digest, note)
            )

    def event(self, kind: str, src: Address, dst: Address, now: float, note: str = "") -> None:
        """A connection event (connect, accept, close, reset) between two endpoints."""
        if self.trace is not None:
            self.trace.append_row((now - self.origin, kind, *src, *dst, 0, 0, note))


def _drawn_plan(decision: object) -> tuple[Plan, str, str]:
    """The plan, trace kind and note detail of a fault source's decision."""
    if decision is DELIVER_NOW:
        return NOW, "", ""
    if isinstance(decision, Deliver):
        kind = Kind.REORDER if decision.reorder else Kind.DELAY
        return (Copy(decision.delay, decision.reorder),), kind, format_delay(decision.delay)
    if isinstance(decision, Duplicate):
        copies = tuple(Copy(delay, index > 0) for index, delay in enumerate(decision.delays))
        return copies, Kind.DUPLICATE, _copies_note(decision.delays)
    return DROPPED, Kind.DROP, ""


def _steered_plan(rule: Rule) -> tuple[Plan, str, str]:
    action = rule.action
    delay = rule.delay
    if action is Action.DELIVER:
        return NOW, "", ""
    if action is Action.DROP:
        return DROPPED, Kind.DROP, ""
    if action is Action.DUPLICATE:
        return (Copy(0.0), Copy(delay, True)), Kind.DUPLICATE, _copies_note((0.0, delay))
    if action is Action.DELAY:
        return (Copy(delay),), Kind.DELAY, format_delay(delay)
    return (Copy(delay, True),), Kind.REORDER, format_delay(delay)


def _copies_note(delays: tuple[float, ...]) -> str:
    return "copies at " + ", ".join(map(format_delay, delays))
