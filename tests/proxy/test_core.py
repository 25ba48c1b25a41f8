"""The sans-I/O parts of the fault proxies: naming messages, steering, decisions and trace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faults.proxy.core import DROPPED, NOW, Copy, ProxyCore
from faults.proxy.messages import CALL, REPLY, CallMemory, identify, procedure_name
from faults.proxy.steering import DELAY, DELIVER, DROP, DUPLICATE, REORDER, Action, Rule
from faults.sim.faults import RecordingFaults, ReplayExhausted, ReplayFaults, SeededFaults
from faults.sim.message_faults import (
    Decision,
    Deliver,
    Drop,
    Duplicate,
    FaultRates,
    MessageFaults,
)
from faults.sim.trace import Kind, Trace
from reference.rpc import message as msg
from reference.rpc.auth import encode_credential
from reference.rpc.stubs import AuthNone
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, NFSPROC3_REMOVE

CLIENT = ("127.0.0.1", 700)
SERVER = ("127.0.0.1", 2049)
BUSY = FaultRates(drop=0.2, duplicate=0.2, delay=0.2, reorder=0.2, max_delay=0.008)


def call(xid: int, procedure: int = NFSPROC3_REMOVE, program: int = NFS_PROGRAM) -> bytes:
    return msg.encode_call(xid, program, NFS_V3, procedure, encode_credential(AuthNone()), b"args")


def reply(xid: int) -> bytes:
    return msg.encode_success(xid, b"results")


def test_a_call_names_itself_and_its_reply_is_named_after_it() -> None:
    memory = CallMemory()
    sent = identify(call(17), True, memory)
    answered = identify(reply(17), False, memory)
    assert (sent.direction, sent.xid, sent.program, sent.procedure) == (
        CALL,
        17,
        NFS_PROGRAM,
        NFSPROC3_REMOVE,
    )
    assert sent.note == "call NFSPROC3_REMOVE xid=17"
    assert (answered.direction, answered.procedure, answered.version) == (
        REPLY,
        NFSPROC3_REMOVE,
        NFS_V3,
    )
    assert answered.note == "reply NFSPROC3_REMOVE xid=17"
    # a duplicated reply is named too: replies do not make the memory forget
    assert identify(reply(17), False, memory).procedure == NFSPROC3_REMOVE


def test_a_reply_without_its_call_and_garbage_are_still_identified() -> None:
    memory = CallMemory()
    stranger = identify(reply(5), False, memory)
    assert (stranger.direction, stranger.xid, stranger.procedure) == (REPLY, 5, None)
    assert stranger.note == "reply ? xid=5"
    garbage = identify(b"\x01\x02\x03", True, memory)
    assert (garbage.direction, garbage.xid) == (CALL, None)
    assert garbage.note == "call ? (3 bytes, not RPC)"
    odd_type = identify(b"\x00\x00\x00\x01\x00\x00\x00\x07", False, memory)
    assert (odd_type.direction, odd_type.xid) == (REPLY, None)


def test_the_call_memory_forgets_the_oldest_beyond_its_capacity() -> None:
    memory = CallMemory(capacity=2)
    for xid in (1, 2, 3):
        identify(call(xid), True, memory)
    assert len(memory) == 2
    assert identify(reply(1), False, memory).procedure is None
    assert identify(reply(3), False, memory).procedure == NFSPROC3_REMOVE


def test_procedures_of_unknown_programs_are_named_by_numbers() -> None:
    assert procedure_name(NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE) == "NFSPROC3_REMOVE"
    assert procedure_name(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT) == "MOUNTPROC3_MNT"
    assert procedure_name(400000, 1, 7) == "400000.1.7"


def test_rules_check_their_fields() -> None:
    with pytest.raises(ValueError, match="direction"):
        Rule(DROP, direction="sideways")
    with pytest.raises(ValueError, match="count"):
        Rule(DROP, count=0)
    with pytest.raises(ValueError, match="delay"):
        Rule(DELAY, delay=-1.0)


def test_a_rule_decides_its_count_of_matching_messages_then_is_spent() -> None:
    core = ProxyCore(trace=Trace())
    steering = core.steer(Rule(DROP, direction=REPLY, procedure=NFSPROC3_REMOVE, count=1))
    memory = CallMemory()

    def route(message: bytes, from_client: bool) -> tuple[Copy, ...]:
        ident = identify(message, from_client, memory)
        return core.route(message, ident, CLIENT, SERVER, 0.0)[1]

    assert route(call(1, NFSPROC3_GETATTR), True) == NOW
    assert route(reply(1), False) == NOW  # a GETATTR reply: no match
    assert route(call(2), True) == NOW  # the REMOVE call: wrong direction
    assert route(reply(2), False) == DROPPED
    assert route(reply(2), False) == NOW  # spent
    assert steering.matched == 1 and not steering.live
    assert [ident.note for ident in steering.decided] == ["reply NFSPROC3_REMOVE xid=2"]
    assert core.trace is not None
    drops = [event for event in core.trace if event.kind == Kind.DROP]
    assert [event.note for event in drops] == ["reply NFSPROC3_REMOVE xid=2 [steered]"]


@pytest.mark.parametrize(
    ("action", "plan", "kind"),
    [
        (DELIVER, NOW, None),
        (DROP, DROPPED, Kind.DROP),
        (DUPLICATE, (Copy(0.0), Copy(0.25, True)), Kind.DUPLICATE),
        (DELAY, (Copy(0.25),), Kind.DELAY),
        (REORDER, (Copy(0.25, True),), Kind.REORDER),
    ],
)
def test_each_action_becomes_its_plan(
    action: Action, plan: tuple[Copy, ...], kind: str | None
) -> None:
    core = ProxyCore(trace=Trace())
    core.steer(Rule(action, delay=0.25, count=None))
    ident = identify(call(9), True, CallMemory())
    assert core.route(call(9), ident, CLIENT, SERVER, 1.0)[1] == plan
    assert core.trace is not None
    kinds = [event.kind for event in core.trace]
    assert kinds == [Kind.SEND] if kind is None else [Kind.SEND, kind]


def test_steered_messages_draw_no_decision_from_the_fault_source() -> None:
    recording = RecordingFaults(SeededFaults(1))
    core = ProxyCore(recording, BUSY)
    core.steer(Rule(DELIVER, xid=2))
    memory = CallMemory()
    for xid in (1, 2, 3):
        core.route(call(xid), identify(call(xid), True, memory), CLIENT, SERVER, 0.0)
    assert [record.label for record in recording.records if record.label == "datagram"] == [
        "datagram",
        "datagram",
    ]


def test_directions_outside_faulty_are_delivered_without_a_decision() -> None:
    recording = RecordingFaults(SeededFaults(1))
    core = ProxyCore(recording, FaultRates(drop=1.0), faulty=(CALL,))
    memory = CallMemory()
    assert core.route(call(1), identify(call(1), True, memory), CLIENT, SERVER, 0.0)[1] == DROPPED
    assert core.route(reply(1), identify(reply(1), False, memory), SERVER, CLIENT, 0.0)[1] == NOW
    assert len(recording.records) == 1
    with pytest.raises(ValueError, match="faulty"):
        ProxyCore(faulty=("sideways",))


def plans_for(core: ProxyCore, messages: list[tuple[bytes, bool]]) -> list[tuple[Copy, ...]]:
    memory = CallMemory()
    plans = []
    for message, from_client in messages:
        ident = identify(message, from_client, memory)
        plans.append(core.route(message, ident, CLIENT, SERVER, 0.0)[1])
    return plans


MESSAGES = st.lists(
    st.tuples(st.integers(1, 20), st.booleans()).map(
        lambda pair: (call(pair[0]) if pair[1] else reply(pair[0]), pair[1])
    ),
    max_size=40,
)


@given(MESSAGES, st.integers(0, 2**32))
def test_the_same_seed_and_messages_give_the_same_plans_and_a_replay_repeats_them(
    messages: list[tuple[bytes, bool]], seed: int
) -> None:
    recording = RecordingFaults(SeededFaults(seed))
    first = plans_for(ProxyCore(recording, BUSY), messages)
    assert plans_for(ProxyCore(SeededFaults(seed), BUSY), messages) == first
    replay = ReplayFaults(recording.choices)
    assert plans_for(ProxyCore(replay, BUSY), messages) == first
    assert replay.remaining == 0


def expected_plan(decision: Decision) -> tuple[Copy, ...]:
    if isinstance(decision, Drop):
        return DROPPED
    if isinstance(decision, Duplicate):
        return tuple(Copy(delay, index > 0) for index, delay in enumerate(decision.delays))
    return (Copy(decision.delay, decision.reorder),)


def test_the_proxy_draws_exactly_what_the_simulation_world_draws() -> None:
    """A recording made by the simulation's MessageFaults replays through a proxy core (the
    same labels and weights), with the same outcomes: choices move between the worlds."""
    recording = RecordingFaults(SeededFaults(4))
    sim = MessageFaults(recording, BUSY)
    decisions = [sim.decide() for _ in range(60)]
    assert {type(decision) for decision in decisions} == {Deliver, Drop, Duplicate}
    core = ProxyCore(ReplayFaults(recording.choices), BUSY)
    plans = plans_for(core, [(call(xid), True) for xid in range(60)])
    assert plans == [expected_plan(decision) for decision in decisions]
    with pytest.raises(ReplayExhausted):
        plans_for(core, [(call(99), True)])


def test_the_trace_is_the_simulation_format_with_real_endpoints() -> None:
    trace = Trace()
    core = ProxyCore(trace=trace)
    core.start(100.0)
    ident = identify(call(3), True, CallMemory())
    envelope, _ = core.route(call(3), ident, CLIENT, SERVER, 100.5)
    core.delivered(envelope, 100.75)
    core.lost(envelope, 101.0, "connection closed")
    events = Trace.from_json(trace.to_json()).events
    assert [(event.time, event.kind) for event in events] == [
        (0.5, Kind.SEND),
        (0.75, Kind.DELIVER),
        (1.0, Kind.LOST),
    ]
    first = events[0]
    assert (first.src, first.src_port, first.dst, first.dst_port) == (*CLIENT, *SERVER)
    assert first.size == len(call(3)) and first.digest != 0
    assert events[2].note == "call NFSPROC3_REMOVE xid=3 connection closed"
