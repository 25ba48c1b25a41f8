"""The errors the RPC runtime raises.

Rules: every error is an RpcError. Each carries its protocol fields as attributes, so
callers and checkers can branch on them, and a message that names the problem in words
(e.g. "server answered PROG_MISMATCH: supports versions 2..3"). This module does no I/O.
"""

from __future__ import annotations

_ACCEPT_STAT_NAMES = {
    0: "SUCCESS",
    1: "PROG_UNAVAIL",
    2: "PROG_MISMATCH",
    3: "PROC_UNAVAIL",
    4: "GARBAGE_ARGS",
    5: "SYSTEM_ERR",
}
_ACCEPT_STAT_MEANINGS = {
    1: "the program is not served there",
    3: "the program has no such procedure",
    4: "it could not decode the arguments",
    5: "it failed while executing the call",
}
_REJECT_STAT_NAMES = {0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
_AUTH_STAT_NAMES = {
    0: "AUTH_OK",
    1: "AUTH_BADCRED",
    2: "AUTH_REJECTEDCRED",
    3: "AUTH_BADVERF",
    4: "AUTH_REJECTEDVERF",
    5: "AUTH_TOOWEAK",
    6: "AUTH_INVALIDRESP",
    7: "AUTH_FAILED",
    8: "AUTH_KERB_GENERIC",
    9: "AUTH_TIMEEXPIRE",
    10: "AUTH_TKT_FILE",
    11: "AUTH_DECODE",
    12: "AUTH_NET_ADDR",
    13: "RPCSEC_GSS_CREDPROBLEM",
    14: "RPCSEC_GSS_CTXPROBLEM",
}


def _name(names: dict[int, str], value: int) -> str:
    return names.get(value, f"unknown status {value}")


class RpcError(Exception):
    """Base of every error of the RPC runtime."""


class RpcTimeout(RpcError):
    """A soft call gave up: no reply to `xid` after `attempts` transmissions."""

    def __init__(self, xid: int, attempts: int) -> None:
        super().__init__(f"no reply to xid {xid:#010x} after {attempts} attempt(s); giving up")
        self.xid = xid
        self.attempts = attempts


class RpcAcceptError(RpcError):
    """The server accepted the call but did not execute it successfully: `stat` is the
    accept_stat (PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR);
    `low`..`high` are the supported versions, for PROG_MISMATCH only."""

    def __init__(self, stat: int, low: int | None = None, high: int | None = None) -> None:
        if low is not None and high is not None:
            detail = f"supports versions {low}..{high}"
        else:
            detail = _ACCEPT_STAT_MEANINGS.get(stat, "the call failed")
        super().__init__(f"server answered {_name(_ACCEPT_STAT_NAMES, stat)}: {detail}")
        self.stat = stat
        self.low = low
        self.high = high


class RpcDenied(RpcError):
    """The server rejected the call (MSG_DENIED): `reject_stat` RPC_MISMATCH carries the
    supported RPC versions `low`..`high`; AUTH_ERROR carries `auth_stat`."""

    def __init__(
        self,
        reject_stat: int,
        auth_stat: int | None = None,
        low: int | None = None,
        high: int | None = None,
    ) -> None:
        detail = _name(_REJECT_STAT_NAMES, reject_stat)
        if auth_stat is not None:
            detail += f" ({_name(_AUTH_STAT_NAMES, auth_stat)})"
        if low is not None and high is not None:
            detail += f", supports RPC versions {low}..{high}"
        super().__init__(f"server denied the call: {detail}")
        self.reject_stat = reject_stat
        self.auth_stat = auth_stat
        self.low = low
        self.high = high


class RpcGarbageReply(RpcError):
    """A reply the client cannot parse; `reason` says what was wrong with it and `xid`
    is its transaction id when that much could be read."""

    def __init__(self, reason: str, xid: int | None = None) -> None:
        where = "" if xid is None else f" (xid {xid:#010x})"
        super().__init__(f"unparsable reply{where}: {reason}")
        self.reason = reason
        self.xid = xid


class RecordTooLarge(RpcError):
    """An incoming TCP record reached `size` bytes, over the reader's `limit`: the peer is
    broken or hostile, and the connection must be closed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"incoming RPC record of at least {size} bytes exceeds the {limit}-byte limit;"
            " closing the connection (raise RecordReader's max_record if the peer is honest)"
        )
        self.size = size
        self.limit = limit
