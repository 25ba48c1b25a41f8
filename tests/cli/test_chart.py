"""Sequence charts (properties/harness/chart.py) from a simulated trace and from a capture,
and pcap files (properties/harness/pcap.py) read back as they were written."""

from __future__ import annotations

import struct
from pathlib import Path

from faults.sim.trace import Kind, Trace
from properties.harness.chart import NETWORK, from_trace, from_wire
from properties.harness.pcap import SEGMENT, read_pcap, write_pcap
from reference.rpc.aio_client import RESTARTED, WireMessage
from reference.rpc.auth import encode_credential
from reference.rpc.message import encode_call, encode_success
from reference.rpc.stubs import AuthNone
from reference.xdr.gen.nfs3 import NFS3ERR_EXIST, NFS_PROGRAM, NFS_V3, NFSPROC3_MKDIR

CLIENT, SERVER = ("127.0.0.1", 40000), ("127.0.0.1", 2049)


def wire(time: float, direction: str, message: bytes, transport: str = "tcp") -> WireMessage:
    return WireMessage(time, direction, transport, CLIENT, SERVER, message)


def mkdir_exchange(xid: int, results: bytes) -> list[WireMessage]:
    call = encode_call(
        xid, NFS_PROGRAM, NFS_V3, NFSPROC3_MKDIR, encode_credential(AuthNone()), b"args"
    )
    return [wire(1.0, "call", call), wire(1.5, "reply", encode_success(xid, results))]


def test_a_capture_names_calls_statuses_and_restarts() -> None:
    messages = [
        *mkdir_exchange(7, struct.pack(">I", NFS3ERR_EXIST)),
        wire(2.0, RESTARTED, b""),
    ]
    chart = from_wire(messages)
    assert chart.text() == [
        "lanes: client, server",
        "    0.000000  client -> server  NFSPROC3_MKDIR xid 0x7",
        "    0.500000  server -> client  NFSPROC3_MKDIR xid 0x7: NFS3ERR_EXIST",
        "    1.000000  server  *  restarted",
    ]
    svg = chart.svg()
    assert svg.startswith("<svg") and svg.count("<line") == 2 + 2 and "<circle" in svg


def test_a_trace_puts_the_faults_on_the_network_lane() -> None:
    trace = Trace()
    trace.record(0.0, Kind.SEND, "client", 800, "server", 2049, 120, 1, "call")
    trace.record(0.0, Kind.DROP, "client", 800, "server", 2049, 120, 1, "")
    trace.record(0.5, Kind.CRASH, "server")
    trace.record(1.0, Kind.DELIVER, "client", 800, "server", 2049, 120, 1, "")
    chart = from_trace(trace)
    assert chart.lanes == ("client", NETWORK, "server")
    assert [(a.source, a.destination, a.kind) for a in chart.arrows] == [
        ("client", NETWORK, Kind.SEND),
        ("client", NETWORK, Kind.DROP),
        ("server", "server", "mark"),
        (NETWORK, "server", Kind.DELIVER),
    ]
    assert "&#215;" in chart.svg()  # the drop's cross


def test_a_pcap_reads_back_what_was_written(tmp_path: Path) -> None:
    big = b"x" * (SEGMENT * 2 + 5)  # a record in three TCP segments
    messages = [
        *mkdir_exchange(9, big),
        wire(3.0, "call", mkdir_exchange(10, b"")[0].message, "udp"),
        wire(4.0, RESTARTED, b""),
    ]
    write_pcap(tmp_path / "run.pcap", messages)
    back = read_pcap(tmp_path / "run.pcap")
    assert [(m.direction, m.transport, m.local, m.peer, m.message) for m in back] == [
        (m.direction, m.transport, m.local, m.peer, m.message) for m in messages[:3]
    ]
    assert [round(m.time - back[0].time, 6) for m in back] == [0.0, 0.5, 2.0]
