"""RPC errors carry their protocol fields and say what went wrong in words."""

import pytest

from reference.rpc.errors import (
    RecordTooLarge,
    RpcAcceptError,
    RpcDenied,
    RpcError,
    RpcGarbageReply,
    RpcTimeout,
)


def test_prog_mismatch_names_the_supported_versions() -> None:
    error = RpcAcceptError(2, low=2, high=3)
    assert str(error) == "server answered PROG_MISMATCH: supports versions 2..3"
    assert (error.stat, error.low, error.high) == (2, 2, 3)


@pytest.mark.parametrize(
    ("stat", "words"),
    [
        (1, "PROG_UNAVAIL: the program is not served there"),
        (3, "PROC_UNAVAIL: the program has no such procedure"),
        (4, "GARBAGE_ARGS: it could not decode the arguments"),
        (5, "SYSTEM_ERR: it failed while executing the call"),
        (42, "unknown status 42"),
    ],
)
def test_accept_errors_name_the_status(stat: int, words: str) -> None:
    assert words in str(RpcAcceptError(stat))


def test_denied_names_the_reject_and_auth_status() -> None:
    auth = RpcDenied(1, auth_stat=5)
    assert str(auth) == "server denied the call: AUTH_ERROR (AUTH_TOOWEAK)"
    mismatch = RpcDenied(0, low=2, high=2)
    assert str(mismatch) == "server denied the call: RPC_MISMATCH, supports RPC versions 2..2"
    assert (mismatch.reject_stat, mismatch.auth_stat, mismatch.low) == (0, None, 2)


def test_timeout_and_garbage_reply_name_the_xid() -> None:
    timeout = RpcTimeout(xid=0x1234, attempts=3)
    assert "0x00001234" in str(timeout) and "3 attempt" in str(timeout)
    garbage = RpcGarbageReply("truncated reply body", xid=7)
    assert "truncated reply body" in str(garbage) and "0x00000007" in str(garbage)
    assert garbage.xid == 7


def test_every_error_is_an_rpc_error() -> None:
    errors = [
        RpcTimeout(1, 1),
        RpcAcceptError(1),
        RpcDenied(1, 1),
        RpcGarbageReply("x"),
        RecordTooLarge(5, 4),
    ]
    assert all(isinstance(error, RpcError) for error in errors)
