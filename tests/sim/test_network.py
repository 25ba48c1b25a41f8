"""Datagram delivery: fault decisions honoured, losses on crash, clear errors."""

import pytest

from faults.sim import (
    DELAY_BUCKETS,
    Address,
    AddressInUse,
    FaultRates,
    FaultSource,
    Kind,
    NodeContext,
    NodeDown,
    ReplayFaults,
    SimWorld,
    UnknownNode,
)

LATENCY = 0.001
RATES = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.008)
BUCKET = RATES.max_delay / DELAY_BUCKETS
DELIVER, DROP, DUPLICATE, DELAY, REORDER = range(5)

Arrival = tuple[float, bytes, Address]


def two_nodes(faults: FaultSource) -> tuple[SimWorld, list[Arrival]]:
    """A world where "server" records every datagram arriving on port 7."""
    world = SimWorld(faults, RATES, latency=LATENCY)
    arrivals: list[Arrival] = []

    def server(context: NodeContext) -> None:
        context.bind(7, lambda payload, source: arrivals.append((context.now, payload, source)))

    world.add_node("server", server)
    world.add_node("client", lambda context: None)
    return world, arrivals


def test_a_datagram_arrives_after_the_latency() -> None:
    world, arrivals = two_nodes(ReplayFaults([DELIVER]))
    world.send(("client", 1), ("server", 7), b"payload")
    world.run_until_idle()
    assert arrivals == [(LATENCY, b"payload", ("client", 1))]
    kinds = [event.kind for event in world.trace if event.size]
    assert kinds == [Kind.SEND, Kind.DELIVER]


def test_a_dropped_datagram_never_arrives() -> None:
    world, arrivals = two_nodes(ReplayFaults([DROP]))
    world.send(("client", 1), ("server", 7), b"payload")
    world.run_until_idle()
    assert arrivals == []
    assert [event.kind for event in world.trace if event.size] == [Kind.SEND, Kind.DROP]


def test_a_duplicated_datagram_arrives_twice() -> None:
    world, arrivals = two_nodes(ReplayFaults([DUPLICATE, 3]))
    world.send(("client", 1), ("server", 7), b"payload")
    world.run_until_idle()
    assert [(time, payload) for time, payload, _ in arrivals] == [
        (LATENCY, b"payload"),
        (LATENCY + 4 * BUCKET, b"payload"),
    ]


def test_a_delayed_datagram_arrives_late_by_its_bucket() -> None:
    world, arrivals = two_nodes(ReplayFaults([DELAY, 5]))
    world.send(("client", 1), ("server", 7), b"payload")
    world.run_until_idle()
    assert [time for time, _, _ in arrivals] == [pytest.approx(LATENCY + 6 * BUCKET)]
    delay_event = next(event for event in world.trace if event.kind == Kind.DELAY)
    assert delay_event.note == "+0.006s"


def test_a_reordered_datagram_is_passed_by_later_ones() -> None:
    world, arrivals = two_nodes(ReplayFaults([REORDER, 0, DELIVER, DELAY, 7]))
    for payload in (b"one", b"two", b"three"):
        world.send(("client", 1), ("server", 7), payload)
    world.run_until_idle()
    assert [payload for _, payload, _ in arrivals] == [b"two", b"three", b"one"]


def test_a_datagram_to_an_unbound_port_is_lost_and_traced() -> None:
    world, arrivals = two_nodes(ReplayFaults([DELIVER]))
    world.send(("client", 1), ("server", 8), b"payload")
    world.run_until_idle()
    assert arrivals == []
    lost = world.trace[-1]
    assert (lost.kind, lost.note, lost.dst_port) == (Kind.LOST, "port not bound", 8)


@pytest.mark.parametrize("restart_before_arrival", [False, True])
def test_a_crash_discards_datagrams_in_flight(restart_before_arrival: bool) -> None:
    world, arrivals = two_nodes(ReplayFaults([DELAY, 7, DELIVER]))
    world.send(("client", 1), ("server", 7), b"in flight")
    world.call_later(LATENCY / 2, None, lambda: world.crash("server"))
    if restart_before_arrival:
        world.call_later(LATENCY, None, lambda: world.restart("server"))
    world.run_until_idle()
    assert arrivals == []
    assert world.trace[-1].kind == Kind.LOST
    assert world.trace[-1].note == "destination crashed"
    if restart_before_arrival:
        world.send(("client", 1), ("server", 7), b"after restart")
        world.run_until_idle()
        assert [payload for _, payload, _ in arrivals] == [b"after restart"]


def test_a_crashed_node_cannot_send_and_unknown_nodes_are_named() -> None:
    world, _ = two_nodes(ReplayFaults([]))
    world.crash("client")
    with pytest.raises(NodeDown, match="'client' is crashed"):
        world.send(("client", 1), ("server", 7), b"x")
    with pytest.raises(UnknownNode, match="'nobody'"):
        world.send(("server", 1), ("nobody", 7), b"x")


def test_a_port_is_bound_once_until_unbound() -> None:
    world, _ = two_nodes(ReplayFaults([]))
    with pytest.raises(AddressInUse):
        world.bind(("server", 7), lambda payload, source: None)
    world.unbind(("server", 7))
    world.bind(("server", 7), lambda payload, source: None)


def test_a_mutable_payload_is_copied_when_sent() -> None:
    world, arrivals = two_nodes(ReplayFaults([DELIVER]))
    buffer = bytearray(b"before")
    world.send(("client", 1), ("server", 7), buffer)  # type: ignore[arg-type]
    buffer[:] = b"after!"
    world.run_until_idle()
    assert arrivals[0][1] == b"before"
