"""Message sequence charts of a run: as text for the terminal (`nfsprop trace`) and as SVG
for the HTML report.

Rules:
- A chart is a list of Arrows (time, from lane, to lane, label, kind) and its lanes, in
  order. Two sources: a simulation's trace (faults.sim.trace; the fault proxy writes the
  same format) and a capture of RPC messages on real sockets (WireMessage).
- From a trace: lanes are the client nodes (a proxy's trace: client address:port), then
  "network" (where the faults happen:
  drops, duplicates, delays, reorders, partitions), then the server nodes; a send goes
  from its node to the network, a delivery from the network to its node, a drop ends at
  the network; crashes, restarts and clock jumps are marks on their node's lane. Labels
  are the sizes and notes the trace has (it keeps no payloads).
- From a capture: lanes "client" and "server"; a label names the call (NFSPROC3_MKDIR,
  MOUNTPROC3_MNT, ...) with its XID, a reply its call's name and, for NFS and MOUNT, the
  status its results start with; a restart of the server is a mark on its lane.
- `chart_of(path)` reads what `nfsprop trace` is given: a replay file (its trace, or the
  pcap file beside it), a trace file (format nfsprop-sim-trace) or a pcap file; anything
  else is a TraceFileError of one line.
- The SVG is self-contained (no scripts, no external fonts), one row per arrow, time on
  the left; a drop is an arrow ending in a cross, a mark is a dot with its label.
"""

from __future__ import annotations

import functools
import html
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from faults.sim.trace import TRACE_FORMAT, Kind, Trace
from reference.rpc.aio_client import RESTARTED, WireMessage
from reference.rpc.message import CALL, MalformedMessage, parse_call, parse_reply, peek_xid

NETWORK = "network"
MARKS = {Kind.CRASH, Kind.RESTART, Kind.START, Kind.CLOCK_JUMP, Kind.PARTITION, Kind.HEAL}


@dataclass(frozen=True)
class Arrow:
    time: float
    source: str
    destination: str  # == source for a mark
    label: str
    kind: str  # "call", "reply", a trace Kind, or "mark"


@dataclass(frozen=True)
class Chart:
    lanes: tuple[str, ...]
    arrows: tuple[Arrow, ...]

    def text(self) -> list[str]:
        width = max((len(lane) for lane in self.lanes), default=0)
        lines = [f"lanes: {', '.join(self.lanes)}"]
        for arrow in self.arrows:
            if arrow.kind == "mark":
                where = f"{arrow.source:>{width}}  *"
            else:
                cross = " x" if arrow.kind == Kind.DROP else ""
                where = f"{arrow.source:>{width}} -> {arrow.destination}{cross}"
            lines.append(f"{arrow.time:12.6f}  {where}  {arrow.label}".rstrip())
        return lines

    def svg(self) -> str:
        return _svg(self)


def from_trace(trace: Trace) -> Chart:
    clients: dict[str, None] = {}
    servers: dict[str, None] = {}
    arrows: list[Arrow] = []
    for event in trace:
        source, destination = _lane(event.src, event.src_port), _lane(event.dst, event.dst_port)
        size = f"{event.size} B" if event.size else ""
        label = " ".join(part for part in (event.kind, size, event.note) if part)
        if event.kind in MARKS:
            arrows.append(Arrow(event.time, source, source, label, "mark"))
        elif event.kind in (Kind.SEND, Kind.DROP, Kind.LOST):
            arrows.append(Arrow(event.time, source, NETWORK, label, event.kind))
        elif event.kind in (Kind.DELIVER, Kind.DUPLICATE, Kind.DELAY, Kind.REORDER):
            arrows.append(Arrow(event.time, NETWORK, destination or source, label, event.kind))
        else:
            continue
        if event.kind == Kind.SEND and event.note.startswith("call"):
            servers[destination] = None  # a proxy's trace: who gets calls serves
        for lane in (source, destination):
            if lane and "server" in lane:
                servers[lane] = None
            elif lane:
                clients[lane] = None
    lanes = [lane for lane in clients if lane not in servers]
    return Chart((*lanes, NETWORK, *servers), tuple(arrows))


def _lane(node: str, port: int) -> str:
    """A simulated node by its name; a real endpoint (a proxy's trace) by address:port."""
    return f"{node}:{port}" if node[:1].isdigit() and port else node


def from_wire(messages: Iterable[WireMessage]) -> Chart:
    arrows = []
    names: dict[int, str] = {}  # xid -> its call's name
    listed = list(messages)
    start = listed[0].time if listed else 0.0
    for message in listed:
        if message.direction == RESTARTED:
            arrows.append(Arrow(message.time - start, "server", "server", "restarted", "mark"))
            continue
        calling = message.direction == "call"
        label = _call_label(message.message, names) if calling else _reply_label(message, names)
        ends = ("client", "server") if calling else ("server", "client")
        arrows.append(Arrow(message.time - start, *ends, label, message.direction))
    return Chart(("client", "server"), tuple(arrows))


@functools.cache
def _procedure_names() -> dict[tuple[int, int, int], str]:
    from reference.rpc.stubs import Procedure
    from reference.xdr.gen import mount3, nfs2, nfs3

    return {
        (value.program, value.version, value.number): value.name
        for module in (nfs3, mount3, nfs2)
        for value in vars(module).values()
        if isinstance(value, Procedure)
    }


def _call_label(message: bytes, names: dict[int, str]) -> str:
    try:
        header = parse_call(message)
    except MalformedMessage as error:
        return f"a malformed call ({error})"
    key = (header.program, header.version, header.procedure)
    name = _procedure_names().get(key, f"program {key[0]} v{key[1]} procedure {key[2]}")
    names[header.xid] = name
    return f"{name} xid {header.xid:#x}"


def _reply_label(message: WireMessage, names: dict[int, str]) -> str:
    known = peek_xid(message.message)
    if known is None or known[1] == CALL:
        return "not a reply"
    name = names.get(known[0], "reply")
    try:
        header = parse_reply(message.message)
    except MalformedMessage as error:
        return f"{name}: a malformed reply ({error})"
    if not header.accepted or header.stat != 0:
        return f"{name} xid {known[0]:#x}: refused (stat {header.stat})"
    status = _status(message.message, header.results_offset, name)
    return f"{name} xid {known[0]:#x}: {status}".rstrip(": ")


def _status(message: bytes, offset: int, name: str) -> str:
    """The status NFS and MOUNT results start with (nfsstat3, mountstat3), by name."""
    if (
        name.endswith("_NULL")
        or len(message) < offset + 4
        or not name.startswith(("NFSPROC3_", "MOUNTPROC3_MNT"))
    ):
        return ""
    (status,) = struct.unpack_from(">I", message, offset)
    if name.startswith("NFSPROC3_"):
        from properties.nfs3.model.verdict import status_name

        return status_name(status)
    return f"mountstat3 {status}"


# -- SVG

_LANE_GAP = 220
_ROW = 22
_LEFT = 110
_TOP = 40
_COLOURS = {"drop": "#c0392b", "lost": "#c0392b", "duplicate": "#8e44ad", "mark": "#d35400"}


def _svg(chart: Chart) -> str:
    x = {lane: _LEFT + index * _LANE_GAP for index, lane in enumerate(chart.lanes)}
    width = _LEFT + max(len(chart.lanes) - 1, 0) * _LANE_GAP + 260
    height = _TOP + (len(chart.arrows) + 1) * _ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="monospace" font-size="11">',
        '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
        '<text x="4" y="20" font-weight="bold">time (s)</text>',
    ]
    for lane, at in x.items():
        parts.append(
            f'<text x="{at}" y="20" text-anchor="middle" font-weight="bold">'
            f"{html.escape(lane)}</text>"
            f'<line x1="{at}" y1="{_TOP - 10}" x2="{at}" y2="{height}" stroke="#bbb"/>'
        )
    for row, arrow in enumerate(chart.arrows):
        y = _TOP + row * _ROW
        colour = _COLOURS.get(arrow.kind, "#333")
        label = html.escape(arrow.label)
        parts.append(f'<text x="4" y="{y + 4}">{arrow.time:.6f}</text>')
        start, end = x.get(arrow.source, _LEFT), x.get(arrow.destination, _LEFT)
        if arrow.kind == "mark" or start == end:
            parts.append(
                f'<circle cx="{start}" cy="{y}" r="5" fill="{colour}"/>'
                f'<text x="{start + 10}" y="{y + 4}" fill="{colour}">{label}</text>'
            )
            continue
        parts.append(
            f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" '
            'stroke-width="1.5" marker-end="url(#head)"/>'
            f'<text x="{min(start, end) + 6}" y="{y - 4}" fill="{colour}">{label}</text>'
        )
        if arrow.kind in ("drop", "lost"):
            parts.append(
                f'<text x="{end - 4}" y="{y + 5}" fill="{colour}" font-size="16">&#215;</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


class TraceFileError(ValueError):
    """A file `chart_of` cannot read; the message names the problem and the fix."""


def chart_of(path: Path) -> Chart:
    from properties.harness.pcap import PcapError, read_pcap

    try:
        if path.suffix == ".pcap":
            return from_wire(read_pcap(path))
        body = json.loads(path.read_text())
    except OSError as error:
        raise TraceFileError(f"{path}: cannot read it ({error.strerror})") from None
    except PcapError as error:
        raise TraceFileError(str(error)) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TraceFileError(
            f"{path}: not a replay file, a trace or a pcap file (not JSON, no pcap magic)"
        ) from None
    if not isinstance(body, dict):
        raise TraceFileError(f"{path}: not a replay file, a trace or a pcap file")
    if body.get("format") == TRACE_FORMAT:
        return from_trace(Trace.from_json(path.read_text()))
    if body.get("format") != "nfsprop-replay":
        raise TraceFileError(f"{path}: not a replay file, a trace or a pcap file")
    if isinstance(body.get("trace"), str):
        return from_trace(Trace.from_json(body["trace"]))
    capture = path.with_suffix(".pcap")
    if capture.is_file():
        return from_wire(read_pcap(capture))
    raise TraceFileError(f"{path}: no trace in it and no {capture.name} beside it")
