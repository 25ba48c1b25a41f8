"""The trace of a simulated run: every event, in the order it happened.

Rules:
- An event is a `TraceEvent`: time, kind, where it came from (src, src_port), where it went
  (dst, dst_port), payload size, a CRC-32 of the payload (never the bytes themselves) and a
  free-text note. Events at one node (crash, restart, timer, note) have dst "" and port 0;
  partition and heal name the two nodes, as src and dst, with ports 0.
- Events are appended in the order the world processes them; that order is the truth,
  even between events of the same time.
- The world appends raw rows (cheap tuples); `TraceEvent` objects are built on demand.
- `to_json` is deterministic: fixed field order, sorted keys, floats written with repr, so
  two runs with the same inputs give the same text byte for byte. `from_json` reads it back.
- `sequence_chart` renders one line per event, "time  kind  from → to  bytes  crc  note",
  for failure reports.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from typing import Final

TRACE_FORMAT: Final = "nfsprop-sim-trace"
TRACE_VERSION: Final = 1

TraceRow = tuple[float, str, str, int, str, int, int, int, str]


class Kind:
    """The kinds of trace events."""

    SEND: Final = "send"
    DELIVER: Final = "deliver"
    DROP: Final = "drop"
    DUPLICATE: Final = "duplicate"
    DELAY: Final = "delay"
    REORDER: Final = "reorder"
    LOST: Final = "lost"
    SEGMENT: Final = "segment"
    CONNECT: Final = "connect"
    ACCEPT: Final = "accept"
    CLOSE: Final = "close"
    RESET: Final = "reset"
    START: Final = "start"
    CRASH: Final = "crash"
    PARTITION: Final = "partition"
    HEAL: Final = "heal"
    CLOCK_JUMP: Final = "clock jump"
    RESTART: Final = "restart"
    TIMER: Final = "timer"
    SPAWN: Final = "spawn"
    NOTE: Final = "note"


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing that happened in the simulated world."""

    time: float
    kind: str
    src: str
    src_port: int
    dst: str
    dst_port: int
    size: int
    digest: int
    note: str


FIELD_NAMES: Final = tuple(field.name for field in fields(TraceEvent))


class Trace:
    """An append-only list of trace events."""

    __slots__ = ("_rows", "append_row")

    def __init__(self, events: Iterable[TraceEvent] = ()) -> None:
        self._rows: list[TraceRow] = [astuple(event) for event in events]
        self.append_row = self._rows.append

    def record(
        self,
        time: float,
        kind: str,
        src: str,
        src_port: int = 0,
        dst: str = "",
        dst_port: int = 0,
        size: int = 0,
        digest: int = 0,
        note: str = "",
    ) -> None:
        """Append one event (the world's hot paths use `append_row` directly)."""
        self.append_row((time, kind, src, src_port, dst, dst_port, size, digest, note))

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TraceEvent]:
        return (TraceEvent(*row) for row in self._rows)

    def __getitem__(self, index: int) -> TraceEvent:
        return TraceEvent(*self._rows[index])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self._rows == other._rows

    __hash__ = None  # type: ignore[assignment]

    @property
    def events(self) -> list[TraceEvent]:
        return list(self)

    def to_json(self) -> str:
        document = {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "fields": list(FIELD_NAMES),
            "events": self._rows,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Trace":
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != TRACE_FORMAT:
            raise ValueError(f"not a simulation trace: expected format {TRACE_FORMAT!r}")
        if document.get("version") != TRACE_VERSION or document.get("fields") != list(FIELD_NAMES):
            raise ValueError(
                f"unsupported trace version {document.get('version')!r}: this code reads "
                f"version {TRACE_VERSION} with fields {list(FIELD_NAMES)}"
            )
        return cls(TraceEvent(*row) for row in document["events"])

    def sequence_chart(self, last: int | None = None) -> str:
        """One readable line per event; with `last`, only the final `last` events."""
        rows = self._rows if last is None else self._rows[-last:] if last > 0 else []
        endpoints = [(_endpoint(row[2], row[3]), _endpoint(row[4], row[5])) for row in rows]
        width = max((len(source) for source, _ in endpoints), default=0)
        lines = []
        skipped = len(self._rows) - len(rows)
        if skipped:
            lines.append(f"... {skipped} earlier events")
        for row, (source, target) in zip(rows, endpoints, strict=True):
            time, kind, _, _, _, _, size, digest, note = row
            parts = [f"{time:12.6f}", f"{kind:<9}", source.ljust(width)]
            if target:
                parts.append(f"→ {target}")
            if size or digest:
                parts.append(f"{size}B crc={digest:08x}")
            if note:
                parts.append(note)
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)


def format_delay(seconds: float) -> str:
    """A delay for a note, rounded to the nanosecond: "+0.013s"."""
    return f"+{round(seconds, 9)!r}s"


def _endpoint(node: str, port: int) -> str:
    return f"{node}:{port}" if port else node
