"""pcap files of RPC messages, for Wireshark and tshark.

Rules:
- The classic pcap format (magic a1b2c3d4, version 2.4, microsecond times), link type
  LINKTYPE_RAW (101): each record is one IPv4 packet, so no made-up Ethernet addresses.
  The format is a 24-byte header and a 16-byte header per packet: written here directly,
  not through a library (scapy or dpkt would bring far more than these 60 lines need).
- Each WireMessage (reference/rpc/aio_client.py) becomes packets between its local and
  peer address and ports, as it crossed the socket: over UDP one datagram; over TCP the
  record-marked record (RFC 5531 §11), in segments of at most SEGMENT bytes, each
  connection (address and port pair) and direction with its own sequence numbers, with
  an ACK of what the other side sent, so Wireshark reassembles the records and its RPC
  and NFS dissectors read them. The TCP handshake is not there: the capture starts
  with the first message.
- `read_pcap` reads such a file back into messages (for `nfsprop trace`).
- Times are the messages' own (the event loop's clock), offset so the first packet is at
  the capture's start; the capture's start is the Unix epoch plus the first message's
  time, which is only an order, not a wall-clock date.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from reference.rpc.aio_client import WireMessage
from reference.rpc.message import CALL, peek_xid
from reference.rpc.record import RecordReader, frame

LINKTYPE_RAW = 101
SEGMENT = 60000  # bytes of TCP payload per packet (an IPv4 packet holds at most 65535)
_TCP_PSH_ACK = 0x18
_IPPROTO_TCP, _IPPROTO_UDP = 6, 17

Endpoint = tuple[str, int]


def write_pcap(path: Path, messages: Iterable[WireMessage]) -> None:
    path.write_bytes(pcap_bytes(messages))


def pcap_bytes(messages: Iterable[WireMessage]) -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
    return header + b"".join(
        struct.pack("<IIII", int(time), int(time % 1 * 1_000_000), len(packet), len(packet))
        + packet
        for time, packet in _packets(list(messages))
    )


def _packets(messages: list[WireMessage]) -> Iterator[tuple[float, bytes]]:
    start = messages[0].time if messages else 0.0
    sent: dict[tuple[Endpoint, Endpoint], int] = {}  # bytes each direction of a flow sent
    for message in messages:
        if message.direction not in ("call", "reply"):
            continue  # a mark (a restart): no packet
        source, destination = (
            (message.local, message.peer)
            if message.direction == "call"
            else (message.peer, message.local)
        )
        at = message.time - start
        if message.transport == "udp":
            yield at, _ipv4(source, destination, _IPPROTO_UDP, _udp(source, destination, message))
            continue
        record = frame(message.message)
        for offset in range(0, len(record), SEGMENT):
            payload = record[offset : offset + SEGMENT]
            sequence = 1 + sent.get((source, destination), 0)
            acknowledged = 1 + sent.get((destination, source), 0)
            sent[(source, destination)] = sent.get((source, destination), 0) + len(payload)
            segment = _tcp(source, destination, sequence, acknowledged, payload)
            yield at, _ipv4(source, destination, _IPPROTO_TCP, segment)


def _udp(source: Endpoint, destination: Endpoint, message: WireMessage) -> bytes:
    return struct.pack("!HHHH", source[1], destination[1], 8 + len(message.message), 0) + (
        message.message
    )


def _tcp(
    source: Endpoint, destination: Endpoint, sequence: int, acknowledged: int, payload: bytes
) -> bytes:
    header = struct.pack(
        "!HHIIBBHHH",
        source[1],
        destination[1],
        sequence & 0xFFFF_FFFF,
        acknowledged & 0xFFFF_FFFF,
        5 << 4,  # 20-byte header
        _TCP_PSH_ACK,
        65535,
        0,  # checksum 0: Wireshark does not verify it by default
        0,
    )
    return header + payload


def _ipv4(source: Endpoint, destination: Endpoint, protocol: int, body: bytes) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(body),
        0,
        0x4000,  # don't fragment
        64,
        protocol,
        0,
        socket.inet_aton(source[0]),
        socket.inet_aton(destination[0]),
    )
    checksum = _checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + body


def _checksum(data: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapError(ValueError):
    """A file that is not a pcap file this module wrote; the message names the problem."""


def read_pcap(path: Path) -> list[WireMessage]:
    """The messages of a pcap file `write_pcap` wrote (for `nfsprop trace`): each TCP
    flow's bytes are joined and cut into records again; the client is the side that
    sent the first call of a flow."""
    data = path.read_bytes()
    if len(data) < 24 or struct.unpack_from("<I", data)[0] != 0xA1B2C3D4:
        raise PcapError(f"{path}: not a pcap file (no a1b2c3d4 magic)")
    if struct.unpack_from("<I", data, 20)[0] != LINKTYPE_RAW:
        raise PcapError(f"{path}: link type is not raw IPv4 (101): not a file nfsprop wrote")
    messages: list[WireMessage] = []
    readers: dict[tuple[Endpoint, Endpoint], RecordReader] = {}
    offset = 24
    while offset + 16 <= len(data):
        seconds, micros, length, _ = struct.unpack_from("<IIII", data, offset)
        packet = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        time = seconds + micros / 1_000_000
        protocol = packet[9]
        header = (packet[0] & 0x0F) * 4
        source_ip, destination_ip = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
        source_port, destination_port = struct.unpack_from("!HH", packet, header)
        source, destination = (source_ip, source_port), (destination_ip, destination_port)
        if protocol == _IPPROTO_UDP:
            payloads = [packet[header + 8 :]]
            transport = "udp"
        else:
            body = packet[header + (packet[header + 12] >> 4) * 4 :]
            reader = readers.setdefault((source, destination), RecordReader(1 << 24))
            payloads = list(reader.feed(body))
            transport = "tcp"
        for payload in payloads:
            known = peek_xid(payload)
            calling = known is not None and known[1] == CALL
            local, peer = (source, destination) if calling else (destination, source)
            direction = "call" if calling else "reply"
            messages.append(WireMessage(time, direction, transport, local, peer, payload))
    return messages
