"""A small ping-pong scenario shared by the simulation tests.

A server echoes datagrams on port 7 and stream bytes on port 8. A client sends numbered
pings (retransmitting each once per 20 ms until answered), streams a few records, and the
server crashes and restarts once in the middle. Everything sent and received is logged so
tests can check invariants against the world's trace.
"""

from dataclasses import dataclass, field
from functools import partial

from faults.sim import Address, FaultRates, FaultSource, NodeContext, SimStream, SimWorld

SERVER_DATAGRAM: Address = ("server", 7)
SERVER_STREAM: Address = ("server", 8)
CLIENT_PORT = 700
RETRANSMIT_AFTER = 0.02
GIVE_UP_AT = 2.0

BUSY_RATES = FaultRates(
    drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.008, segment=0.3, stream_delay=0.2
)


@dataclass
class PingPongLog:
    sent: list[bytes] = field(default_factory=list)
    server_received: list[bytes] = field(default_factory=list)
    client_received: list[bytes] = field(default_factory=list)
    stream_sent: bytearray = field(default_factory=bytearray)
    stream_echoed: bytearray = field(default_factory=bytearray)
    answered: set[int] = field(default_factory=set)


def start_server(context: NodeContext, log: PingPongLog) -> None:
    def on_datagram(payload: bytes, source: Address) -> None:
        log.server_received.append(payload)
        context.send(SERVER_DATAGRAM[1], source, b"pong" + payload[4:])

    def on_accept(stream: SimStream) -> None:
        stream.on_data = stream.write

    context.bind(SERVER_DATAGRAM[1], on_datagram)
    context.listen(SERVER_STREAM[1], on_accept)


def start_client(context: NodeContext, log: PingPongLog, pings: int) -> None:
    def on_datagram(payload: bytes, source: Address) -> None:
        log.client_received.append(payload)
        log.answered.add(int(payload[4:]))

    def ping(number: int) -> None:
        if number in log.answered:
            return
        payload = b"ping%d" % number
        log.sent.append(payload)
        context.send(CLIENT_PORT, SERVER_DATAGRAM, payload)
        context.call_later(RETRANSMIT_AFTER, lambda: ping(number))

    def on_stream_data(data: bytes) -> None:
        log.stream_echoed.extend(data)

    context.bind(CLIENT_PORT, on_datagram)
    for number in range(pings):
        context.call_at(number * 0.005, partial(ping, number))
    stream = context.connect(SERVER_STREAM)
    stream.on_data = on_stream_data
    for record in (b"alpha", b"bravo" * 20, b"charlie"):
        log.stream_sent.extend(record)
        stream.write(record)


@dataclass
class PingPongRun:
    world: SimWorld
    log: PingPongLog


def ping_pong(faults: FaultSource, rates: FaultRates = BUSY_RATES, pings: int = 8) -> PingPongRun:
    """Run the scenario until every ping is answered, or until GIVE_UP_AT."""
    log = PingPongLog()
    world = SimWorld(faults, rates)
    world.add_node("server", lambda context: start_server(context, log))
    world.add_node("client", lambda context: start_client(context, log, pings))
    world.call_at(0.012, None, lambda: world.crash("server"))
    world.call_at(0.030, None, lambda: world.restart("server"))
    world.run_until(lambda: len(log.answered) == pings, deadline=GIVE_UP_AT, max_events=100_000)
    return PingPongRun(world, log)
