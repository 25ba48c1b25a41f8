"""Partitions of the simulated network: datagrams across a cut are lost, stream data is
held and arrives, in order, when the partition heals; other pairs of nodes are untouched."""

import pytest

from faults.sim import FaultRates, Kind, NoFaults, SimWorld, UnknownNode
from faults.sim.nodes import Address
from tests.sim.test_streams import SERVER, stream_world


def datagram_world() -> tuple[SimWorld, list[tuple[bytes, float]]]:
    world = SimWorld(latency=0.5)
    received: list[tuple[bytes, float]] = []

    def record(payload: bytes, source: Address) -> None:
        received.append((payload, world.now))

    world.add_node("server", lambda context: context.bind(7, record))
    world.add_node("client", lambda context: None)
    world.add_node("other", lambda context: None)
    return world, received


def notes_of(world: SimWorld, kind: str) -> list[str]:
    return [event.note for event in world.trace if event.kind == kind]


def test_datagrams_across_a_cut_are_lost_and_flow_again_after_the_heal() -> None:
    world, received = datagram_world()
    world.partition("client", "server")
    world.node("client").send(9, ("server", 7), b"during")
    world.node("other").send(9, ("server", 7), b"other")  # not cut off
    world.run_until_idle()
    world.heal("server", "client")  # the pair in either order
    world.node("client").send(9, ("server", 7), b"after")
    world.run_until_idle()
    assert received == [(b"other", 0.5), (b"after", 1.0)]
    assert notes_of(world, Kind.LOST) == ["partitioned"]
    assert [event.kind for event in world.trace if event.kind in (Kind.PARTITION, Kind.HEAL)] == [
        Kind.PARTITION,
        Kind.HEAL,
    ]


def test_a_datagram_in_flight_when_the_partition_begins_is_lost() -> None:
    world, received = datagram_world()
    world.node("client").send(9, ("server", 7), b"travelling")
    world.call_later(0.25, None, lambda: world.partition("client", "server"))
    world.run_until_idle()
    assert received == []
    assert notes_of(world, Kind.LOST) == ["partitioned"]


def test_stream_data_and_close_are_held_and_arrive_in_order_at_the_heal() -> None:
    world, receiver = stream_world(NoFaults(), FaultRates())
    stream = world.connect("client", SERVER)
    world.run_until_idle()
    stream.write(b"before ")
    world.run_until_idle()
    world.partition("client", "server")
    stream.write(b"held ")
    stream.write(b"too")
    stream.close()
    world.run_for(30.0)
    assert receiver.chunks == [b"before "] and receiver.closes == []
    healed_at = world.now + 1.0
    world.call_later(1.0, None, lambda: world.heal("client", "server"))
    world.run_until_idle()
    assert receiver.chunks == [b"before ", b"held ", b"too"]
    assert receiver.closes == ["closed by peer"]
    assert receiver.arrival_times[1:] == [healed_at, healed_at]  # at the heal itself
    assert notes_of(world, Kind.HEAL) == ["3 held"]


def test_bad_partitions_are_refused() -> None:
    world, _ = datagram_world()
    with pytest.raises(UnknownNode):
        world.partition("client", "nobody")
    with pytest.raises(ValueError, match="cut off from itself"):
        world.partition("client", "client")
