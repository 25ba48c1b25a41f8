"""Call and reply messages: the hand-written codecs agree byte for byte with the generated
`rpc_msg` types, and parsing anything broken raises MalformedMessage and nothing else."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.rpc import message as msg
from reference.rpc.auth import encode_credential
from reference.rpc.stubs import AuthNone, AuthSys
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, NFSPROC3_NULL
from reference.xdr.gen.rpc_msg import (
    AUTH_NONE,
    AUTH_SYS,
    CALL,
    MSG_ACCEPTED,
    MSG_DENIED,
    REPLY,
    accept_stat,
    accepted_reply,
    accepted_reply_reply_data,
    auth_stat,
    authsys_parms,
    call_body,
    decode_rpc_msg,
    mismatch_info,
    opaque_auth,
    reject_stat,
    rejected_reply,
    reply_body,
    rpc_msg,
    rpc_msg_body,
)

XID = 0x1234ABCD
NULL_VERF = opaque_auth(AUTH_NONE, b"")
MACHINE = AuthSys(stamp=77, machinename=b"client.example", uid=1000, gid=100, gids=(4, 24, 27))


def accepted(xid: int, data: accepted_reply_reply_data) -> rpc_msg:
    return rpc_msg(
        xid, rpc_msg_body(REPLY, rbody=reply_body(MSG_ACCEPTED, accepted_reply(NULL_VERF, data)))
    )


def rejected(xid: int, reply: rejected_reply) -> rpc_msg:
    return rpc_msg(xid, rpc_msg_body(REPLY, rbody=reply_body(MSG_DENIED, rreply=reply)))


# --- calls -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "generated_cred"),
    [
        (AuthNone(), opaque_auth(AUTH_NONE, b"")),
        (
            MACHINE,
            opaque_auth(
                AUTH_SYS, authsys_parms(77, b"client.example", 1000, 100, [4, 24, 27]).encode()
            ),
        ),
    ],
)
def test_encode_call_matches_the_generated_rpc_msg_encoding(
    credential: AuthNone | AuthSys, generated_cred: opaque_auth
) -> None:
    args = b"\x00\x00\x00\x08handle!!"
    message = msg.encode_call(
        XID, NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, encode_credential(credential), args
    )
    header = rpc_msg(
        XID,
        rpc_msg_body(
            CALL,
            cbody=call_body(2, NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, generated_cred, NULL_VERF),
        ),
    ).encode()
    assert message == header + args


def test_parse_call_reads_back_every_field_of_an_encoded_call() -> None:
    credential = encode_credential(MACHINE)
    message = msg.encode_call(XID, NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, credential, b"ARGS")
    header = msg.parse_call(message)
    assert header == msg.CallHeader(
        xid=XID,
        rpcvers=2,
        program=NFS_PROGRAM,
        version=NFS_V3,
        procedure=NFSPROC3_GETATTR,
        cred_flavor=AUTH_SYS,
        cred_body=credential[8:],
        verf_flavor=AUTH_NONE,
        verf_body=b"",
        args_offset=len(message) - 4,
    )
    assert message[header.args_offset :] == b"ARGS"


def test_parse_call_keeps_an_odd_length_credential_body_without_its_padding() -> None:
    generated = rpc_msg(
        XID,
        rpc_msg_body(
            CALL,
            cbody=call_body(
                2, NFS_PROGRAM, NFS_V3, NFSPROC3_NULL, opaque_auth(AUTH_SYS, b"abcde"), NULL_VERF
            ),
        ),
    ).encode()
    header = msg.parse_call(generated + b"tail")
    assert header.cred_body == b"abcde"
    assert header.args_offset == len(generated)


# --- replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (
            msg.encode_success(XID, b""),
            accepted(XID, accepted_reply_reply_data(accept_stat.SUCCESS)),
        ),
        (
            msg.encode_accept_error(XID, msg.PROG_UNAVAIL),
            accepted(XID, accepted_reply_reply_data(accept_stat.PROG_UNAVAIL)),
        ),
        (
            msg.encode_accept_error(XID, msg.PROG_MISMATCH, 2, 3),
            accepted(
                XID, accepted_reply_reply_data(accept_stat.PROG_MISMATCH, mismatch_info(2, 3))
            ),
        ),
        (
            msg.encode_accept_error(XID, msg.PROC_UNAVAIL),
            accepted(XID, accepted_reply_reply_data(accept_stat.PROC_UNAVAIL)),
        ),
        (
            msg.encode_accept_error(XID, msg.GARBAGE_ARGS),
            accepted(XID, accepted_reply_reply_data(accept_stat.GARBAGE_ARGS)),
        ),
        (
            msg.encode_accept_error(XID, msg.SYSTEM_ERR),
            accepted(XID, accepted_reply_reply_data(accept_stat.SYSTEM_ERR)),
        ),
        (
            msg.encode_rpc_mismatch(XID),
            rejected(
                XID, rejected_reply(reject_stat.RPC_MISMATCH, mismatch_info=mismatch_info(2, 2))
            ),
        ),
        (
            msg.encode_auth_error(XID, msg.AUTH_BADCRED),
            rejected(
                XID, rejected_reply(reject_stat.AUTH_ERROR, auth_failure=auth_stat.AUTH_BADCRED)
            ),
        ),
    ],
)
def test_reply_encoders_agree_with_the_generated_rpc_msg(encoded: bytes, expected: rpc_msg) -> None:
    assert decode_rpc_msg(encoded) == expected
    assert expected.encode() == encoded


def test_success_reply_carries_the_results_after_the_header() -> None:
    message = msg.encode_success(XID, b"RESULTS!")
    header = msg.parse_reply(message)
    assert header == msg.ReplyHeader(XID, accepted=True, stat=msg.SUCCESS, results_offset=24)
    assert message[header.results_offset :] == b"RESULTS!"


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (
            msg.encode_accept_error(XID, msg.PROG_MISMATCH, 2, 3),
            msg.ReplyHeader(XID, True, msg.PROG_MISMATCH, low=2, high=3),
        ),
        (
            msg.encode_accept_error(XID, msg.GARBAGE_ARGS),
            msg.ReplyHeader(XID, True, msg.GARBAGE_ARGS, results_offset=24),
        ),
        (
            msg.encode_rpc_mismatch(XID),
            msg.ReplyHeader(XID, False, msg.RPC_MISMATCH, low=2, high=2),
        ),
        (
            msg.encode_auth_error(XID, msg.AUTH_BADCRED),
            msg.ReplyHeader(XID, False, msg.AUTH_ERROR, auth_stat=msg.AUTH_BADCRED),
        ),
    ],
)
def test_parse_reply_reads_back_every_reply_kind(encoded: bytes, expected: msg.ReplyHeader) -> None:
    assert msg.parse_reply(encoded) == expected


def test_parse_reply_skips_a_non_empty_reply_verifier() -> None:
    generated = rpc_msg(
        XID,
        rpc_msg_body(
            REPLY,
            rbody=reply_body(
                MSG_ACCEPTED,
                accepted_reply(
                    opaque_auth(AUTH_SYS, b"verf!"), accepted_reply_reply_data(accept_stat.SUCCESS)
                ),
            ),
        ),
    ).encode()
    header = msg.parse_reply(generated + b"RES")
    assert header.results_offset == len(generated)


def test_peek_xid_reads_xid_and_type_of_any_message_of_eight_bytes_or_more() -> None:
    assert msg.peek_xid(msg.encode_success(XID, b"")) == (XID, REPLY)
    assert msg.peek_xid(msg.encode_call(9, 1, 2, 3, encode_credential(AuthNone()), b"")) == (
        9,
        CALL,
    )
    assert msg.peek_xid(b"\x00" * 7) is None


# --- truncated and malformed input ------------------------------------------------------

A_CALL = msg.encode_call(
    XID, NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, encode_credential(MACHINE), b""
)
REPLIES = [
    msg.encode_success(XID, b""),
    msg.encode_accept_error(XID, msg.PROG_MISMATCH, 2, 3),
    msg.encode_rpc_mismatch(XID),
    msg.encode_auth_error(XID, msg.AUTH_BADCRED),
]


@pytest.mark.parametrize("length", range(len(A_CALL)))
def test_every_truncated_call_header_is_malformed_and_names_its_xid(length: int) -> None:
    with pytest.raises(msg.MalformedMessage) as raised:
        msg.parse_call(A_CALL[:length])
    assert raised.value.xid == (XID if length >= 4 else None)


@pytest.mark.parametrize("reply", REPLIES)
def test_every_truncated_reply_is_malformed_and_names_its_xid_once_readable(reply: bytes) -> None:
    for length in range(len(reply)):
        with pytest.raises(msg.MalformedMessage) as raised:
            msg.parse_reply(reply[:length])
        if length >= 8:
            assert raised.value.xid == XID
        if length < 4:
            assert raised.value.xid is None


def test_parse_call_rejects_a_reply_and_parse_reply_rejects_a_call() -> None:
    with pytest.raises(msg.MalformedMessage, match="not CALL") as as_call:
        msg.parse_call(REPLIES[0] + bytes(16))
    assert as_call.value.xid == XID
    with pytest.raises(msg.MalformedMessage, match="not REPLY") as as_reply:
        msg.parse_reply(A_CALL)
    assert as_reply.value.xid == XID


def test_parse_call_rejects_a_credential_body_over_400_bytes() -> None:
    oversized = struct.pack(">II", AUTH_SYS, 404) + bytes(404)
    message = msg.encode_call(XID, NFS_PROGRAM, NFS_V3, NFSPROC3_NULL, oversized, b"")
    with pytest.raises(msg.MalformedMessage, match="exceeds 400") as raised:
        msg.parse_call(message)
    assert raised.value.xid == XID


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (struct.pack(">IIIIII", XID, REPLY, 2, 0, 0, 0), "reply_stat 2"),
        (struct.pack(">IIIIII", XID, REPLY, MSG_DENIED, 2, 0, 0), "reject_stat 2"),
        (struct.pack(">IIIIII", XID, REPLY, MSG_ACCEPTED, 0, 404, 0) + bytes(404), "exceeds 400"),
    ],
)
def test_parse_reply_rejects_unknown_statuses_and_oversized_verifiers(
    message: bytes, reason: str
) -> None:
    with pytest.raises(msg.MalformedMessage, match=reason) as raised:
        msg.parse_reply(message)
    assert raised.value.xid == XID


# Valid messages with bytes overwritten and cut: they reach deeper than random bytes do.
_VALID = [A_CALL + b"args", *REPLIES]


@st.composite
def damaged_messages(draw: st.DrawFn) -> bytes:
    message = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(message) - 1))
        message[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
    return bytes(message[: draw(st.integers(0, len(message)))])


@given(st.one_of(st.binary(max_size=120), damaged_messages()))
def test_parsers_raise_nothing_but_malformed_message(message: bytes) -> None:
    try:
        call = msg.parse_call(message)
    except msg.MalformedMessage:
        pass
    else:
        assert call.args_offset <= len(message)
    try:
        reply = msg.parse_reply(message)
    except msg.MalformedMessage:
        pass
    else:
        assert reply.results_offset <= len(message)
