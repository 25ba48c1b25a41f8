"""The client engine: XIDs, retransmission deadlines on a fake clock, soft and hard calls,
reply matching, and how replies become results or RpcErrors."""

import pytest

from reference.rpc import message as msg
from reference.rpc.auth import encode_credential
from reference.rpc.calls import result_of
from reference.rpc.client import Completion, Outgoing, RetryPolicy, RpcClientEngine
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.errors import RpcAcceptError, RpcDenied, RpcGarbageReply, RpcTimeout
from reference.rpc.server import RpcServer
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.counter import (
    COUNTER_PROGRAM,
    COUNTER_V1,
    COUNTER_V1_PROCEDURES,
    COUNTERPROC_INCREMENT,
    encode_COUNTERPROC_INCREMENT_args,
    encode_COUNTERPROC_INCREMENT_result,
)

INCREMENT = COUNTER_V1_PROCEDURES[COUNTERPROC_INCREMENT]
ARGS = encode_COUNTERPROC_INCREMENT_args(1)


def start(engine: RpcClientEngine, now: float = 0.0) -> Outgoing:
    return engine.start_call(COUNTER_PROGRAM, COUNTER_V1, COUNTERPROC_INCREMENT, ARGS, now)


def retransmission_intervals(engine: RpcClientEngine, count: int) -> list[float]:
    """Start one call at time 0, call due() exactly at each deadline, and return the gaps
    between consecutive transmissions (the first gap is the wait after the first send)."""
    first = start(engine)
    intervals: list[float] = []
    now = 0.0
    for _ in range(count):
        deadline = engine.next_deadline()
        assert deadline is not None
        intervals.append(deadline - now)
        now = deadline
        assert engine.due(now) == [first]
    return intervals


# --- sending -----------------------------------------------------------------------------


def test_xids_are_sequential_from_first_xid_and_wrap_at_32_bits() -> None:
    engine = RpcClientEngine(first_xid=0xFFFF_FFFE)
    assert [start(engine).xid for _ in range(4)] == [0xFFFF_FFFE, 0xFFFF_FFFF, 0, 1]


def test_a_call_message_is_the_encoded_call_with_the_engine_credential() -> None:
    credential = AuthSys(stamp=1, machinename=b"box", uid=0, gid=0)
    engine = RpcClientEngine(credential=credential, first_xid=40)
    outgoing = start(engine)
    assert outgoing == Outgoing(
        40,
        msg.encode_call(
            40, COUNTER_PROGRAM, COUNTER_V1, COUNTERPROC_INCREMENT,
            encode_credential(credential), ARGS,
        ),
    )  # fmt: skip
    assert engine.pending == 1
    assert engine.stats.calls == 1


def test_retransmissions_carry_the_identical_bytes_and_xid() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=1.0, retrans=5))
    first, second = start(engine), start(engine, now=0.5)
    assert engine.due(0.99) == []
    assert engine.due(1.0) == [first]
    assert engine.due(1.5) == [second]
    assert engine.due(3.5) == [first, second]
    assert engine.stats.retransmissions == 4


def test_exponential_backoff_doubles_from_timeo_up_to_max_timeo() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=1.1, retrans=9, max_timeo=10.0))
    assert retransmission_intervals(engine, 6) == pytest.approx([1.1, 2.2, 4.4, 8.8, 10.0, 10.0])


def test_linear_backoff_grows_by_timeo_up_to_max_timeo() -> None:
    policy = RetryPolicy(timeo=60.0, retrans=9, max_timeo=180.0, backoff="linear")
    engine = RpcClientEngine(policy)
    assert retransmission_intervals(engine, 5) == pytest.approx([60, 120, 180, 180, 180])


def test_policy_timeouts_per_attempt() -> None:
    exponential = RetryPolicy(timeo=1.1)
    assert [exponential.timeout(n) for n in range(8)] == pytest.approx(
        [1.1, 2.2, 4.4, 8.8, 17.6, 35.2, 60.0, 60.0]
    )
    assert exponential.timeout(10_000) == 60.0
    linear = RetryPolicy(timeo=2.0, max_timeo=5.0, backoff="linear")
    assert [linear.timeout(n) for n in range(4)] == [2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize(
    "bad",
    [
        {"timeo": 0.0},
        {"timeo": 5.0, "max_timeo": 1.0},
        {"retrans": -1},
        {"backoff": "fibonacci"},
    ],
)
def test_nonsense_retry_policies_are_refused(bad: dict[str, float | str]) -> None:
    with pytest.raises(ValueError, match=r"backoff|retry policy"):
        RetryPolicy(**bad)  # type: ignore[arg-type]


# --- giving up ---------------------------------------------------------------------------


def test_soft_call_times_out_after_retrans_retransmissions() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=1.0, retrans=3, max_timeo=1.0))
    first = start(engine)
    for now in (1.0, 2.0, 3.0):
        assert engine.due(now) == [first]
    [completion] = engine.due(4.0)
    assert isinstance(completion, Completion)
    assert completion.xid == first.xid
    assert isinstance(completion.error, RpcTimeout)
    assert (completion.error.xid, completion.error.attempts) == (first.xid, 4)
    assert (engine.pending, engine.next_deadline(), engine.stats.timeouts) == (0, None, 1)
    with pytest.raises(RpcTimeout):
        result_of(INCREMENT, completion)


def test_soft_call_with_no_retransmissions_times_out_at_the_first_deadline() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=2.0, retrans=0))
    first = start(engine)
    [completion] = engine.due(2.0)
    assert isinstance(completion, Completion)
    assert completion.xid == first.xid
    assert isinstance(completion.error, RpcTimeout)
    assert completion.error.attempts == 1


def test_hard_call_never_times_out() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=1.0, retrans=1, hard=True, max_timeo=8.0))
    first = start(engine)
    now = 0.0
    for _ in range(1000):
        deadline = engine.next_deadline()
        assert deadline is not None
        now = deadline
        assert engine.due(now) == [first]
    assert engine.pending == 1
    assert engine.stats.timeouts == 0
    assert engine.stats.retransmissions == 1000
    assert engine.next_deadline() == pytest.approx(now + 8.0)


# --- replies -----------------------------------------------------------------------------


def test_a_reply_completes_its_call_once_and_later_copies_are_ignored() -> None:
    engine = RpcClientEngine()
    first, second = start(engine), start(engine)
    reply = msg.encode_success(second.xid, encode_COUNTERPROC_INCREMENT_result(42))
    completion = engine.receive(reply)
    assert completion == Completion(second.xid, results=encode_COUNTERPROC_INCREMENT_result(42))
    assert result_of(INCREMENT, completion) == 42
    assert engine.receive(reply) is None  # a duplicate
    assert engine.pending == 1
    assert engine.due(100.0) == [first]  # the answered call is never retransmitted
    assert engine.stats.ignored_replies == 1


def test_a_reply_after_the_soft_timeout_is_ignored() -> None:
    engine = RpcClientEngine(RetryPolicy(timeo=1.0, retrans=0))
    first = start(engine)
    engine.due(1.0)
    assert engine.receive(msg.encode_success(first.xid, b"")) is None
    assert engine.stats.ignored_replies == 1


def test_a_reply_to_a_cancelled_call_is_ignored() -> None:
    engine = RpcClientEngine()
    first = start(engine)
    engine.cancel(first.xid)
    assert engine.pending == 0
    assert engine.next_deadline() is None
    assert engine.due(1000.0) == []
    assert engine.receive(msg.encode_success(first.xid, bytes(8))) is None
    assert engine.stats.ignored_replies == 1


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x00\x00\x01", id="only an xid"),
        pytest.param(msg.encode_success(999, bytes(8)), id="reply to an unknown xid"),
        pytest.param(
            msg.encode_call(1, COUNTER_PROGRAM, 1, 1, bytes(8), ARGS), id="a call with our xid"
        ),
    ],
)
def test_messages_that_are_not_replies_to_pending_calls_are_ignored(message: bytes) -> None:
    engine = RpcClientEngine(first_xid=1)
    start(engine)
    assert engine.receive(message) is None
    assert engine.pending == 1
    assert engine.stats.ignored_replies == 1


def test_resend_all_returns_every_pending_call_with_its_xid_and_bytes() -> None:
    engine = RpcClientEngine(first_xid=10)
    calls = [start(engine) for _ in range(3)]
    engine.receive(msg.encode_success(11, bytes(8)))
    assert engine.resend_all() == [calls[0], calls[2]]
    assert engine.pending == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (msg.encode_accept_error(5, msg.PROG_UNAVAIL), RpcAcceptError(msg.PROG_UNAVAIL)),
        (msg.encode_accept_error(5, msg.PROG_MISMATCH, 2, 3), RpcAcceptError(2, low=2, high=3)),
        (msg.encode_accept_error(5, msg.PROC_UNAVAIL), RpcAcceptError(msg.PROC_UNAVAIL)),
        (msg.encode_accept_error(5, msg.GARBAGE_ARGS), RpcAcceptError(msg.GARBAGE_ARGS)),
        (msg.encode_accept_error(5, msg.SYSTEM_ERR), RpcAcceptError(msg.SYSTEM_ERR)),
        (msg.encode_rpc_mismatch(5), RpcDenied(msg.RPC_MISMATCH, low=2, high=2)),
        (
            msg.encode_auth_error(5, msg.AUTH_BADCRED),
            RpcDenied(msg.AUTH_ERROR, auth_stat=msg.AUTH_BADCRED),
        ),
    ],
)
def test_accept_errors_and_denials_raise_the_matching_rpc_error(
    reply: bytes, error: RpcAcceptError | RpcDenied
) -> None:
    engine = RpcClientEngine(first_xid=5)
    start(engine)
    completion = engine.receive(reply)
    assert isinstance(completion, Completion)
    assert completion.results is None
    with pytest.raises(type(error)) as raised:
        result_of(INCREMENT, completion)
    assert raised.value is completion.error
    assert vars(raised.value) == vars(error)
    assert str(raised.value) == str(error)


@pytest.mark.parametrize("results", [b"", bytes(4), bytes(12)])
def test_success_whose_results_do_not_decode_raises_garbage_reply(results: bytes) -> None:
    engine = RpcClientEngine(first_xid=5)
    start(engine)
    completion = engine.receive(msg.encode_success(5, results))
    assert isinstance(completion, Completion)
    with pytest.raises(RpcGarbageReply, match="COUNTERPROC_INCREMENT results") as raised:
        result_of(INCREMENT, completion)
    assert raised.value.xid == 5


def test_garbage_replies_send_the_call_again_twice_then_complete_it_as_garbage() -> None:
    engine = RpcClientEngine(first_xid=5)
    call = start(engine)
    truncated = msg.encode_accept_error(5, msg.PROG_MISMATCH, 2, 3)[:-4]
    assert engine.receive(truncated) == call  # Linux's tk_garb_retry: two more tries
    assert engine.receive(truncated) == call
    completion = engine.receive(truncated)
    assert isinstance(completion, Completion)
    assert isinstance(completion.error, RpcGarbageReply)
    assert completion.error.xid == 5
    assert engine.pending == 0
    assert (engine.stats.garbage_replies, engine.stats.retransmissions) == (3, 2)


def test_a_good_reply_after_a_garbage_one_completes_the_call() -> None:
    engine = RpcClientEngine(first_xid=5)
    call = start(engine)
    assert engine.receive(msg.encode_success(5, bytes(8))[:-12]) == call
    completion = engine.receive(msg.encode_success(5, bytes(8)))
    assert isinstance(completion, Completion) and completion.error is None


def test_client_and_server_engines_talk_through_retransmissions() -> None:
    """A lost reply, a retransmission answered from the server's DRC, and a late copy."""
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    engine = RpcClientEngine(RetryPolicy(timeo=1.0, retrans=2), first_xid=77)
    outgoing = start(engine)
    lost_reply = server.handle(outgoing.message, ("c", 1), "sim", 0.1)
    [again] = engine.due(1.0)
    assert isinstance(again, Outgoing)
    reply = server.handle(again.message, ("c", 1), "sim", 1.1)
    assert reply is not None
    assert reply == lost_reply
    completion = engine.receive(reply)
    assert isinstance(completion, Completion)
    assert result_of(INCREMENT, completion) == 1
    assert lost_reply is not None
    assert engine.receive(lost_reply) is None
    assert service.executions[(("c", 1), 77)] == 1
