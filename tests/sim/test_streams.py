"""Streams: segmentation, order, close, refusal and resets by crashes."""

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faults.sim import (
    SEGMENT_SIZES,
    FaultRates,
    FaultSource,
    HypothesisFaults,
    Kind,
    NodeContext,
    NoFaults,
    ReplayFaults,
    SimError,
    SimStream,
    SimWorld,
    StreamClosed,
)

SERVER = ("server", 2049)


@dataclass
class Receiver:
    """The accepting side: collects the chunks it gets, in order."""

    chunks: list[bytes] = field(default_factory=list)
    arrival_times: list[float] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    streams: list[SimStream] = field(default_factory=list)


def stream_world(faults: FaultSource, rates: FaultRates) -> tuple[SimWorld, Receiver]:
    world = SimWorld(faults, rates)
    receiver = Receiver()

    def server(context: NodeContext) -> None:
        def on_accept(stream: SimStream) -> None:
            def on_data(data: bytes) -> None:
                receiver.chunks.append(data)
                receiver.arrival_times.append(context.now)

            stream.on_data = on_data
            stream.on_close = lambda: receiver.closes.append(stream.close_reason)
            receiver.streams.append(stream)

        context.listen(SERVER[1], on_accept)

    world.add_node("server", server)
    world.add_node("client", lambda context: None)
    return world, receiver


@given(
    st.data(),
    st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=8),
)
def test_segmented_and_delayed_writes_reassemble_in_order(
    data: st.DataObject, writes: list[bytes]
) -> None:
    rates = FaultRates(segment=0.5, stream_delay=0.5, max_delay=0.004)
    world, receiver = stream_world(HypothesisFaults(data), rates)
    stream = world.connect("client", SERVER)
    for chunk in writes:
        stream.write(chunk)
    world.run_until_idle()
    assert b"".join(receiver.chunks) == b"".join(writes)
    assert receiver.arrival_times == sorted(receiver.arrival_times)
    delivered = [event.size for event in world.trace if event.kind == Kind.DELIVER]
    assert delivered == [len(chunk) for chunk in receiver.chunks]


def test_segment_sizes_come_from_the_fault_source() -> None:
    one, three = SEGMENT_SIZES.index(1) + 1, SEGMENT_SIZES.index(3) + 1
    world, receiver = stream_world(ReplayFaults([one, three, 0]), FaultRates(segment=0.5))
    world.connect("client", SERVER).write(b"\x80\x00\x00\x05hello")
    world.run_until_idle()
    assert receiver.chunks == [b"\x80", b"\x00\x00\x05", b"hello"]
    segment = next(event for event in world.trace if event.kind == Kind.SEGMENT)
    assert segment.note == "1+3+5"


def test_a_delayed_segment_holds_back_the_ones_after_it() -> None:
    rates = FaultRates(segment=0.5, stream_delay=0.5, max_delay=0.008)
    two = SEGMENT_SIZES.index(2) + 1
    # segments "ab" and "cd": the first held back 8 ms, the second not at all
    world, receiver = stream_world(ReplayFaults([two, 0, 1, 7, 0]), rates)
    world.connect("client", SERVER).write(b"abcd")
    world.run_until_idle()
    assert receiver.chunks == [b"ab", b"cd"]
    assert receiver.arrival_times == [pytest.approx(0.009), pytest.approx(0.009)]


def test_close_reaches_the_peer_after_the_data() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    stream = world.connect("client", SERVER)
    stream.write(b"last words")
    stream.close()
    world.run_until_idle()
    assert receiver.chunks == [b"last words"]
    assert receiver.closes == ["closed by peer"]
    with pytest.raises(StreamClosed, match="closed locally"):
        stream.write(b"more")


def test_echo_in_both_directions() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    echoed: list[bytes] = []
    stream = world.connect("client", SERVER)
    stream.on_data = echoed.append
    world.run_until(lambda: bool(receiver.streams))
    receiver.streams[0].write(b"from the server")
    world.run_until_idle()
    assert echoed == [b"from the server"]
    assert receiver.streams[0].remote == stream.local


def test_connecting_to_a_port_nobody_listens_on_is_refused() -> None:
    world, _ = stream_world(NoFaults(), FaultRates())
    closes: list[str] = []
    stream = world.connect("client", ("server", 1))
    stream.on_close = lambda: closes.append(stream.close_reason)
    world.run_until_idle()
    assert closes == ["connection refused"]
    assert world.now == pytest.approx(2 * world.latency)
    with pytest.raises(StreamClosed, match="connection refused"):
        stream.write(b"x")


def test_a_server_crash_resets_the_client_and_loses_data_in_flight() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    closes: list[str] = []
    stream = world.connect("client", SERVER)
    stream.on_close = lambda: closes.append(stream.close_reason)
    world.run_until(lambda: bool(receiver.streams))
    stream.write(b"never read")
    world.crash("server")
    world.run_until_idle()
    assert receiver.chunks == []
    assert closes == ["reset by peer: its node crashed"]
    assert receiver.streams[0].closed
    assert receiver.closes == []  # a crashed node runs no code
    assert Kind.LOST in [event.kind for event in world.trace]


def test_a_client_crash_resets_the_server_side_after_the_data_already_sent() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    world.connect("client", SERVER).write(b"sent before the crash")
    world.crash("client")
    world.run_until_idle()
    assert receiver.chunks == [b"sent before the crash"]
    assert receiver.closes == ["reset by peer: its node crashed"]


def test_data_for_an_end_without_on_data_is_an_error() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    stream = world.connect("client", SERVER)
    world.run_until(lambda: bool(receiver.streams))
    receiver.streams[0].write(b"nobody reads this")
    with pytest.raises(SimError, match="no on_data handler"):
        world.run_until_idle()
    assert not stream.closed
