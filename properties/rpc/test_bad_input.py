"""Bad input: no random, truncated or oversize message crashes the RPC servers.

Random bytes, truncated records and oversize records sent to the real TCP and UDP servers
never crash them; NULL still answers afterwards.

Rules:
- One RpcSocketServer (the counter service with a duplicate request cache, records up to
  MAX_RECORD bytes) runs per test, in a background thread on a free port of 127.0.0.1;
  each Hypothesis example talks to it through plain blocking sockets, so what the server
  sees is exactly the bytes the example chose.
- Every wait is bounded (WAIT seconds per read); nothing sleeps.
- After every example a NULL call must answer over UDP and over a new TCP connection.
- What each bad input must get back follows the server's documented dispatch: no reply to
  what is not a call (shorter than 8 bytes, or msg_type not CALL); AUTH_ERROR /
  AUTH_BADCRED to a call whose header is cut short or whose credential is bad;
  GARBAGE_ARGS to arguments that do not decode; an oversize record closes its connection.
- Calls use XIDs from a counter, never from the strategy, so a replayed example never
  meets its own earlier entries in the duplicate request cache.
"""

from __future__ import annotations

import itertools
import logging
import socket
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties.harness.findings import check
from reference.rpc import message as msg
from reference.rpc.aio_server import RpcSocketServer, ThreadedServer
from reference.rpc.auth import encode_credential
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.record import RecordReader, frame, frame_fragments
from reference.rpc.server import RpcServer
from reference.rpc.stubs import AuthNone, AuthSys, Procedure
from reference.xdr import XdrError
from reference.xdr.gen.counter import COUNTER_V1_PROCEDURES
from reference.xdr.gen.rpc_msg import authsys_parms

MAX_RECORD = 64 * 1024
WAIT = 5.0
NULL, INCREMENT, READ = (COUNTER_V1_PROCEDURES[n] for n in (0, 1, 2))
NONE_CREDENTIAL = encode_credential(AuthNone())

_xids = itertools.count(0x5EED_0000)


def next_xid() -> int:
    return next(_xids) & 0xFFFF_FFFF


def call(procedure: Procedure[Any, Any], args: bytes, credential: bytes = NONE_CREDENTIAL) -> bytes:
    """A call message of `procedure` with these encoded arguments and a fresh XID."""
    return msg.encode_call(
        next_xid(), procedure.program, procedure.version, procedure.number, credential, args
    )


def header_length(message: bytes) -> int:
    return msg.parse_call(message).args_offset


# -- talking to the server over raw sockets


@dataclass(frozen=True)
class Outcome:
    """What a reply says: SUCCESS, an accept_stat, or a rejection."""

    xid: int
    accepted: bool
    stat: int
    auth_stat: int | None = None


def outcome(reply: bytes) -> Outcome:
    header = msg.parse_reply(reply)
    return Outcome(header.xid, header.accepted, header.stat, header.auth_stat)


def success(xid: int) -> Outcome:
    return Outcome(xid, True, msg.SUCCESS)


def garbage_args(xid: int) -> Outcome:
    return Outcome(xid, True, msg.GARBAGE_ARGS)


def bad_credential(xid: int) -> Outcome:
    return Outcome(xid, False, msg.AUTH_ERROR, msg.AUTH_BADCRED)


@dataclass(frozen=True)
class Peer:
    """Blocking sockets to the server on `port`."""

    port: int

    def udp(self, datagram: bytes) -> list[bytes]:
        """Send `datagram`, then a NULL call, from one socket; the datagrams that came back
        before NULL's reply (the replies to `datagram`). Fails if NULL is not answered."""
        null = call(NULL, b"")
        replies: list[bytes] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(WAIT)
            sock.connect(("127.0.0.1", self.port))
            sock.send(datagram)
            sock.send(null)
            for _ in range(100):
                try:
                    reply = sock.recv(65536)
                except TimeoutError:
                    pytest.fail(f"the server did not answer NULL over udp within {WAIT} s")
                if reply == msg.encode_success(xid_of(null), b""):
                    return replies
                replies.append(reply)
        pytest.fail("the server sent 100 datagrams for two")

    def tcp(self, segments: Sequence[bytes], may_close: bool = False) -> list[bytes]:
        """Send `segments` on a new connection, close our half, and read every reply record
        until the server closes its half. The server closing the connection first (or
        resetting it) fails the test unless `may_close`."""
        reader = RecordReader()
        replies: list[bytes] = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=WAIT) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                for segment in segments:
                    sock.sendall(segment)
                sock.shutdown(socket.SHUT_WR)
                while data := sock.recv(65536):
                    replies += reader.feed(data)
            except TimeoutError:
                pytest.fail(f"the server neither answered nor closed within {WAIT} s")
            except OSError as error:
                if not may_close:
                    pytest.fail(f"the server closed the connection: {error}")
                return replies  # a reset may discard the end of what the server sent
        assert not reader.in_record, "the server's last reply record was cut short"
        return replies

    def tcp_is_closed_by_server(self, stream: bytes) -> bool:
        """Send `stream` without closing our half; True if the server then closes (or
        resets) the connection within WAIT seconds."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=WAIT) as sock:
            try:
                sock.sendall(stream)
                while sock.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                return True
            except TimeoutError:
                return False
            return True

    def assert_alive(self) -> None:
        assert self.udp(b"") == []
        null = call(NULL, b"")
        (reply,) = self.tcp([frame(null)])
        assert outcome(reply) == success(xid_of(null))


@contextmanager
def serving() -> Iterator[Peer]:
    server = RpcServer([CounterService()], DuplicateRequestCache())
    with ThreadedServer(RpcSocketServer(server, max_record=MAX_RECORD)) as threaded:
        yield Peer(threaded.port)


def xid_of(message: bytes) -> int:
    (xid,) = struct.unpack_from(">I", message)
    return int(xid)


# -- strategies

procedures = st.sampled_from([NULL, INCREMENT, READ])


@st.composite
def valid_calls(draw: st.DrawFn) -> bytes:
    procedure = draw(procedures)
    args = INCREMENT.encode_args(draw(st.integers(0, 2**32 - 1))) if procedure is INCREMENT else b""
    credential = draw(
        st.one_of(
            st.just(AuthNone()),
            st.builds(
                AuthSys,
                stamp=st.integers(0, 2**32 - 1),
                machinename=st.binary(max_size=255),
                uid=st.integers(0, 2**32 - 1),
                gid=st.integers(0, 2**32 - 1),
                gids=st.lists(st.integers(0, 2**32 - 1), max_size=16).map(tuple),
            ),
        )
    )
    return call(procedure, args, encode_credential(credential))


@st.composite
def fragment_sizes(draw: st.DrawFn, length: int) -> list[int]:
    """Sizes (zeros allowed) adding up to `length`."""
    cuts = sorted(draw(st.lists(st.integers(0, length), max_size=6)))
    return [stop - start for start, stop in pairwise([0, *cuts, length])]


@st.composite
def segmented(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """`stream` cut at arbitrary points."""
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    return [stream[start:stop] for start, stop in pairwise([0, *cuts, len(stream)])]


def opaque_auth(flavor: int, body: bytes) -> bytes:
    return struct.pack(">II", flavor, len(body)) + body + bytes(-len(body) & 3)


@st.composite
def auth_sys_bodies(draw: st.DrawFn) -> bytes:
    """AUTH_SYS bodies, most of them broken: random, truncated, with trailing bytes, with an
    overlong machinename or too many gids."""
    machinename = draw(st.binary(max_size=300))
    gids = draw(st.lists(st.integers(0, 2**32 - 1), max_size=20))
    body = struct.pack(">II", 1, len(machinename)) + machinename + bytes(-len(machinename) & 3)
    body += struct.pack(f">III{len(gids)}I", 0, 0, len(gids), *gids)
    return draw(
        st.one_of(
            st.binary(max_size=64),
            st.just(body),
            st.integers(0, len(body)).map(lambda cut: body[:cut]),
            st.binary(min_size=1, max_size=8).map(lambda extra: body + extra),
        )
    )


def expected_for_credential(flavor: int, body: bytes, xid: int) -> Outcome:
    if len(body) > msg.MAX_AUTH_BYTES or flavor not in (0, 1):
        return bad_credential(xid)
    if flavor == 1:
        try:
            authsys_parms.decode(body)
        except XdrError:
            return bad_credential(xid)
    return success(xid)


# -- the properties


@check("RUNTIME-RANDOM-UDP", "our RPC runtime survives random datagrams", "RFC 5531 §9")
def test_random_datagrams_never_crash_the_udp_server() -> None:
    with serving() as peer:

        @given(
            st.one_of(
                st.binary(max_size=600),
                st.binary(max_size=600).map(lambda rest: struct.pack(">II", 7, msg.CALL) + rest),
            )
        )
        def check(datagram: bytes) -> None:
            replies = peer.udp(datagram)
            known = msg.peek_xid(datagram)
            is_call = known is not None and known[1] == msg.CALL
            assert len(replies) == (1 if is_call else 0)
            for reply in replies:
                assert outcome(reply).xid == xid_of(datagram)
            peer.assert_alive()

        check()


@check("RUNTIME-RANDOM-TCP", "our RPC runtime survives random byte streams", "RFC 5531 §11")
def test_random_byte_streams_never_crash_the_tcp_server() -> None:
    with serving() as peer:

        @given(st.binary(max_size=600).flatmap(segmented))
        def check(segments: list[bytes]) -> None:
            for reply in peer.tcp(segments, may_close=True):
                outcome(reply)  # every reply parses
            peer.assert_alive()

        check()


@check("RUNTIME-TRUNCATED", "our RPC runtime drops or refuses truncated calls", "RFC 5531 §9")
def test_truncated_calls_are_dropped_or_refused() -> None:
    with serving() as peer:

        @given(valid_calls().flatmap(lambda m: st.tuples(st.just(m), st.integers(0, len(m) - 1))))
        def check(example: tuple[bytes, int]) -> None:
            message, cut = example
            truncated = message[:cut]
            xid = xid_of(message)
            if cut < 8:
                expected = []
            elif cut < header_length(message):
                expected = [bad_credential(xid)]
            else:
                expected = [garbage_args(xid)]
            assert [outcome(r) for r in peer.udp(truncated)] == expected
            assert [outcome(r) for r in peer.tcp([frame(truncated)])] == expected
            peer.assert_alive()

        check()


@check(
    "RUNTIME-GARBAGE-ARGS",
    "our RPC runtime answers garbage arguments with GARBAGE_ARGS",
    "RFC 5531 §9",
)
def test_garbage_arguments_get_garbage_args() -> None:
    with serving() as peer:

        @given(procedures, st.binary(max_size=40))
        def check(procedure: Procedure[Any, Any], args: bytes) -> None:
            try:
                procedure.decode_args(args)
                decodes = True
            except XdrError:
                decodes = False
            for send in (peer.udp, lambda message: peer.tcp([frame(message)])):
                message = call(procedure, args)
                xid = xid_of(message)
                expected = success(xid) if decodes else garbage_args(xid)
                assert [outcome(r) for r in send(message)] == [expected]
            peer.assert_alive()

        check()


@check(
    "RUNTIME-BADCRED", "our RPC runtime answers bad credentials with AUTH_BADCRED", "RFC 5531 §9"
)
def test_bad_credentials_get_auth_badcred() -> None:
    with serving() as peer:

        @given(
            st.one_of(
                st.tuples(st.just(1), auth_sys_bodies()),
                st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=420)),
            )
        )
        def check(credential: tuple[int, bytes]) -> None:
            flavor, body = credential
            for send in (peer.udp, lambda message: peer.tcp([frame(message)])):
                message = call(READ, b"", opaque_auth(flavor, body))
                expected = expected_for_credential(flavor, body, xid_of(message))
                assert [outcome(r) for r in send(message)] == [expected]
            peer.assert_alive()

        check()


@st.composite
def fragmented_calls(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """Calls, each record cut into random fragments, the stream cut into random segments."""
    calls = draw(st.lists(valid_calls(), min_size=1, max_size=5))
    stream = b"".join(frame_fragments(c, draw(fragment_sizes(len(c)))) for c in calls)
    return calls, draw(segmented(stream))


@check("RUNTIME-FRAGMENTS", "our RPC runtime answers fragmented records in order", "RFC 5531 §11")
def test_fragmented_and_segmented_records_are_all_answered_in_order() -> None:
    with serving() as peer:

        @given(fragmented_calls())
        def check(example: tuple[list[bytes], list[bytes]]) -> None:
            calls, segments = example
            replies = peer.tcp(segments)
            assert [outcome(r) for r in replies] == [success(xid_of(c)) for c in calls]
            increments = [
                (
                    INCREMENT.decode_args(c[header_length(c) :]),
                    INCREMENT.decode_result(r[msg.parse_reply(r).results_offset :]),
                )
                for c, r in zip(calls, replies, strict=True)
                if msg.parse_call(c).procedure == INCREMENT.number
            ]
            for (_, before), (added, after) in pairwise(increments):
                assert after == (before + added) & 0xFFFF_FFFF_FFFF_FFFF
            peer.assert_alive()

        check()


@check("RUNTIME-OVERSIZE", "an oversize record closes its connection only", "RFC 5531 §11")
def test_oversize_records_close_the_connection_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nfsprop.rpc.transport")
    with serving() as peer:

        @given(
            st.lists(st.integers(0, 2000), max_size=3),
            st.integers(1, 2**31 - 1 - MAX_RECORD),
        )
        def check(earlier_fragments: list[int], excess: int) -> None:
            stream = b"".join(struct.pack(">I", size) + bytes(size) for size in earlier_fragments)
            final = min(MAX_RECORD - sum(earlier_fragments) + excess, 0x7FFF_FFFF)
            stream += struct.pack(">I", 0x8000_0000 | final)
            assert peer.tcp_is_closed_by_server(stream), "the server kept the connection open"
            peer.assert_alive()

        check()
    assert f"exceeds the {MAX_RECORD}-byte limit" in caplog.text
