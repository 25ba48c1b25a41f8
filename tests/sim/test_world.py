"""The event queue, timers, runs, node life cycles and the nodes' wall clocks."""

from functools import partial

import pytest

from faults.sim import (
    Address,
    Kind,
    NodeContext,
    NodeDown,
    SimError,
    SimLimitExceeded,
    SimWorld,
    UnknownNode,
    WorldIdle,
)
from faults.sim.world import WALL_EPOCH_NS


def idle_node(context: NodeContext) -> None:
    """A node with nothing to do at start."""


def test_events_due_at_the_same_time_run_in_scheduling_order() -> None:
    world = SimWorld()
    world.add_node("a", idle_node)
    order: list[str] = []
    for name in ("first", "second", "third"):
        world.call_at(1.0, "a", partial(order.append, name))
    world.call_at(0.5, None, lambda: order.append("earlier"))
    world.run_until_idle()
    assert order == ["earlier", "first", "second", "third"]


def test_timers_fire_at_their_virtual_time_and_cancelled_ones_never() -> None:
    world = SimWorld()
    context = world.add_node("a", idle_node)
    fired: list[tuple[str, float]] = []
    context.call_later(2.5, lambda: fired.append(("late", world.now)))
    cancelled = context.call_later(1.0, lambda: fired.append(("cancelled", world.now)))
    context.call_at(0.25, lambda: fired.append(("early", world.now)))
    cancelled.cancel()
    world.run_until_idle()
    assert fired == [("early", 0.25), ("late", 2.5)]
    assert cancelled.cancelled
    assert world.now == 2.5


def test_timers_cannot_be_set_in_the_past() -> None:
    world = SimWorld()
    world.run_for(1.0)
    with pytest.raises(ValueError, match="in the past"):
        world.call_at(0.5, None, lambda: None)
    with pytest.raises(ValueError, match=">= 0"):
        world.call_later(-1.0, None, lambda: None)


def test_run_until_deadline_stops_before_later_events_and_reads_the_deadline() -> None:
    world = SimWorld()
    fired: list[float] = []
    world.call_at(1.0, None, lambda: fired.append(world.now))
    world.call_at(3.0, None, lambda: fired.append(world.now))
    assert world.run_until(lambda: False, deadline=2.0) is False
    assert fired == [1.0]
    assert world.now == 2.0
    assert world.pending_events == 1


def test_run_until_stops_as_soon_as_the_predicate_holds() -> None:
    world = SimWorld()
    fired: list[float] = []
    for time in (1.0, 2.0, 3.0):
        world.call_at(time, None, lambda: fired.append(world.now))
    assert world.run_until(lambda: len(fired) == 2) is True
    assert world.now == 2.0
    assert world.run_until(lambda: True) is True
    assert fired == [1.0, 2.0]


def test_going_idle_before_the_predicate_holds_is_an_error() -> None:
    world = SimWorld()
    world.call_at(1.0, None, lambda: None)
    with pytest.raises(WorldIdle, match="went idle"):
        world.run_until(lambda: False)


def test_a_livelock_hits_the_event_limit() -> None:
    world = SimWorld()

    def again() -> None:
        world.call_later(0.0, None, again)

    again()
    with pytest.raises(SimLimitExceeded, match="ran 1000 events"):
        world.run_until_idle(max_events=1000)
    assert world.now == 0.0


def test_restart_rebuilds_state_through_on_start_and_old_contexts_go_stale() -> None:
    world = SimWorld()
    starts: list[int] = []
    contexts: list[NodeContext] = []

    def on_start(context: NodeContext) -> None:
        starts.append(context.incarnation)
        contexts.append(context)

    world.add_node("server", on_start)
    world.crash("server")
    assert not world.is_up("server")
    with pytest.raises(NodeDown, match="stale"):
        contexts[0].call_later(1.0, lambda: None)
    with pytest.raises(NodeDown, match="crashed"):
        world.node("server")
    world.restart("server")
    assert len(starts) == 2
    assert starts[0] != starts[1]
    assert world.node("server") is contexts[1]
    assert contexts[1].alive and not contexts[0].alive
    kinds = [event.kind for event in world.trace]
    assert kinds == [Kind.START, Kind.CRASH, Kind.RESTART]


def test_crash_discards_the_node_timers_but_not_world_timers() -> None:
    world = SimWorld()
    fired: list[str] = []
    context = world.add_node("server", idle_node)
    context.call_later(1.0, lambda: fired.append("node timer"))
    world.call_later(1.0, None, lambda: fired.append("world timer"))
    world.call_later(0.5, None, lambda: world.crash("server"))
    world.call_later(0.7, None, lambda: world.restart("server"))
    world.run_until_idle()
    assert fired == ["world timer"]


def test_node_life_cycle_errors_are_clear() -> None:
    world = SimWorld()
    world.add_node("server", idle_node)
    with pytest.raises(SimError, match="already exists"):
        world.add_node("server", idle_node)
    with pytest.raises(SimError, match="crash it before restarting"):
        world.restart("server")
    with pytest.raises(UnknownNode, match="known nodes: \\['server'\\]"):
        world.crash("nobody")
    world.crash("server")
    with pytest.raises(NodeDown):
        world.crash("server")


def test_nodes_act_through_their_context() -> None:
    world = SimWorld(latency=0.5)
    received: list[tuple[bytes, Address, float]] = []

    def server(context: NodeContext) -> None:
        context.bind(7, lambda payload, source: received.append((payload, source, context.now)))

    def client(context: NodeContext) -> None:
        context.note("hello from the client")
        context.send(9, ("server", 7), b"hi")

    world.add_node("server", server)
    world.add_node("client", client)
    world.run_until_idle()
    assert received == [(b"hi", ("client", 9), 0.5)]
    assert world.trace[2].note == "hello from the client"


def test_a_clock_jump_moves_one_nodes_wall_clock_and_outlives_its_crash() -> None:
    world = SimWorld()
    server = world.add_node("server", lambda context: None)
    client = world.add_node("client", lambda context: None)
    world.run_for(2.0)
    assert server.wall_clock_ns() == client.wall_clock_ns() == WALL_EPOCH_NS + 2 * 10**9
    world.jump_clock("server", -3600.0)
    world.crash("server")
    server = world.restart("server")
    assert server.wall_clock_ns() == WALL_EPOCH_NS + 2 * 10**9 - 3600 * 10**9
    assert client.wall_clock_ns() == WALL_EPOCH_NS + 2 * 10**9
    assert world.now == 2.0  # virtual time, timers and the network do not jump
    jumps = [(event.src, event.note) for event in world.trace if event.kind == Kind.CLOCK_JUMP]
    assert jumps == [("server", "-3600.0 s")]
    with pytest.raises(UnknownNode):
        world.jump_clock("nobody", 1.0)
