"""The judging side of properties/rpc/test_target_bad_input.py, without a server: which
argument bytes it calls undecodable, and the verdict of each kind of answer (the policy of
properties/rpc/rules.py: the RFC's status passes, answered as carried out fails, another
refusal or silence warns)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties.harness.findings import FindingError, Recorder, Verdict, recording
from properties.rpc.test_bad_input import auth_sys_bodies
from properties.rpc.test_target_bad_input import (
    NFS,
    Answer,
    Endpoint,
    HeaderFault,
    Refusal,
    badcred_refusal,
    call_xids,
    credential_fault,
    garbage_args,
    opaque_arguments,
    undecodable,
)
from reference.rpc import message as msg
from reference.rpc.record import frame
from reference.xdr import XdrError
from reference.xdr.gen.rpc_msg import authsys_parms

ENDPOINT = Endpoint(NFS, "tcp", "127.0.0.1", 2049)
XID = 0x5EED
NFS3ERR_STALE = 70


def verdicts(refusal: Refusal, answer: Answer) -> set[Verdict]:
    """The verdicts `refusal` records for `answer` (a FAIL is raised, and shown as FAIL)."""
    recorder = Recorder()
    with recording(recorder):
        try:
            refusal.judge(ENDPOINT, answer, XID, ["a step"])
        except FindingError as error:
            assert error.rule is refusal.rule
            return {Verdict.FAIL}
    assert all(code == refusal.rule.code for code, _ in recorder.findings)
    return {verdict for _, verdict in recorder.findings}


GARBAGE = garbage_args(NFS.probe, "a reason")
BADCRED = badcred_refusal("of an unknown flavor")


@pytest.mark.parametrize(
    ("refusal", "reply", "expected"),
    [
        (GARBAGE, msg.encode_accept_error(XID, msg.GARBAGE_ARGS), set()),
        (GARBAGE, msg.encode_success(XID, struct.pack(">I", NFS3ERR_STALE)), {Verdict.FAIL}),
        (GARBAGE, msg.encode_accept_error(XID, msg.SYSTEM_ERR), {Verdict.WARN}),
        (GARBAGE, msg.encode_auth_error(XID, msg.AUTH_BADCRED), {Verdict.WARN}),
        (BADCRED, msg.encode_auth_error(XID, msg.AUTH_BADCRED), set()),
        (BADCRED, msg.encode_auth_error(XID, 2), {Verdict.WARN}),  # AUTH_REJECTEDCRED
        (BADCRED, msg.encode_accept_error(XID, msg.GARBAGE_ARGS), {Verdict.FAIL}),
        (BADCRED, msg.encode_success(XID, b""), {Verdict.FAIL}),
    ],
    ids=[
        "garbage-args",
        "garbage-success",
        "garbage-system-err",
        "garbage-denied",
        "badcred",
        "rejectedcred",
        "badcred-accepted",
        "badcred-success",
    ],
)
def test_each_answer_gets_the_policys_verdict(
    refusal: Refusal, reply: bytes, expected: set[Verdict]
) -> None:
    assert verdicts(refusal, Answer([reply], ending="open")) == expected


@pytest.mark.parametrize("ending", ["closed", "reset", "open", "refused", "datagrams"])
def test_silence_warns(ending: str) -> None:
    assert verdicts(GARBAGE, Answer([], ending=ending)) == {Verdict.WARN}


def test_a_mismatch_range_is_checked() -> None:
    version_9 = HeaderFault("version", 9).refusal(NFS)
    good = msg.encode_accept_error(XID, msg.PROG_MISMATCH, 2, 3)
    holding = msg.encode_accept_error(XID, msg.PROG_MISMATCH, 2, 9)
    assert verdicts(version_9, Answer([good])) == set()
    assert verdicts(version_9, Answer([holding])) == {Verdict.FAIL}
    rpcvers_3 = HeaderFault("rpcvers", 3).refusal(NFS)
    assert verdicts(rpcvers_3, Answer([msg.encode_rpc_mismatch(XID)])) == set()
    assert verdicts(rpcvers_3, Answer([msg.encode_success(XID, b"")])) == {Verdict.FAIL}


@given(opaque_arguments(NFS.bound))
def test_arguments_called_undecodable_never_decode(args: bytes) -> None:
    """Only what not even the strict generated decoder takes is judged; and a length or
    its bytes missing is always judged."""
    why = undecodable(args, NFS.bound)
    try:
        NFS.probe.decode_args(args)
    except XdrError:
        return
    assert why is None


def test_undecodable_names_the_reason() -> None:
    assert undecodable(b"\0\0", 64) == "2 bytes cannot hold a length"
    assert (
        undecodable(struct.pack(">I", 65) + bytes(68), 64) == "the length 65 exceeds the bound 64"
    )
    assert undecodable(struct.pack(">I", 8) + bytes(3), 64) == "the length says 8 bytes, 3 follow"
    assert undecodable(struct.pack(">I", 3) + b"abc", 64) is None  # padding short: lenient
    assert undecodable(struct.pack(">I", 3) + b"abc\0xyz", 64) is None  # trailing bytes


@given(st.lists(st.binary(min_size=8, max_size=40), max_size=4), st.binary(max_size=12))
def test_call_xids_are_the_complete_call_records(records: list[bytes], tail: bytes) -> None:
    calls = [struct.pack(">II", n, msg.CALL) + r[8:] for n, r in enumerate(records)]
    replies = [struct.pack(">II", 100 + n, msg.REPLY) + r[8:] for n, r in enumerate(records)]
    stream = b"".join(frame(c) + frame(r) for c, r in zip(calls, replies, strict=True))
    cut = stream + struct.pack(">I", 0x8000_0000 | 1000) + tail  # a record never completed
    assert call_xids(cut) == set(range(len(records)))


@given(auth_sys_bodies())
def test_auth_sys_bodies_called_bad_never_decode(body: bytes) -> None:
    """What the strict generated decoder takes is never judged a bad credential."""
    try:
        authsys_parms.decode(body)
    except XdrError:
        return
    assert credential_fault(1, body) is None


def test_credential_faults_name_the_reason() -> None:
    def body(name: bytes, gids: int, extra: bytes = b"") -> bytes:
        head = struct.pack(">II", 1, len(name)) + name + bytes(-len(name) & 3)
        return head + struct.pack(f">III{gids}I", 0, 0, gids, *range(gids)) + extra

    assert credential_fault(1, body(b"m", 2)) is None
    assert credential_fault(1, body(b"m", 2, b"more")) is None  # trailing bytes: lenient
    assert credential_fault(0, b"any body") is None
    assert credential_fault(99, b"") == "of an unknown flavor"
    assert credential_fault(1, bytes(401)) == "of 401 bytes, over 400"
    assert credential_fault(1, body(b"n" * 256, 0)) == (
        "not an authsys_parms: a machinename of 256 bytes, over 255"
    )
    assert credential_fault(1, body(b"m", 17)) == "not an authsys_parms: 17 gids, over 16"
    assert credential_fault(1, body(b"m", 2)[:-1]) == "not an authsys_parms: 2 gids, 1 follow"
