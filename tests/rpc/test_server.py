"""The server engine: dispatch to the right reply for every failure, credentials into the
handler's context, and the duplicate request cache's at-most-once execution."""

import struct

import pytest

from reference.rpc import message as msg
from reference.rpc.auth import encode_credential
from reference.rpc.counter_service import CounterService
from reference.rpc.drc import CachePolicy, DuplicateRequestCache
from reference.rpc.server import Drop, Execute, Reply, RpcServer
from reference.rpc.stubs import Address, AuthNone, AuthSys, CallContext, Credential
from reference.xdr.gen.counter import (
    COUNTER_PROGRAM,
    COUNTER_V1,
    COUNTER_V1_PROCEDURES,
    COUNTERPROC_INCREMENT,
    COUNTERPROC_NULL,
    COUNTERPROC_READ,
    COUNTER_V1_Server,
    encode_COUNTERPROC_INCREMENT_args,
)
from reference.xdr.gen.nfs2 import NFS_VERSION_Server
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3_Server

CLIENT: Address = ("10.0.0.1", 800)
NOW = 100.0
AUTH_SYS = 1
AUTH_DH = 3
NO_AUTH = AuthNone()
INCREMENT = COUNTER_V1_PROCEDURES[COUNTERPROC_INCREMENT]


def opaque_auth(flavor: int, body: bytes) -> bytes:
    """An opaque_auth written out by hand, so it can be anything a peer might send."""
    return struct.pack(">II", flavor, len(body)) + body + bytes(-len(body) & 3)


def call(
    xid: int,
    procedure: int = COUNTERPROC_INCREMENT,
    args: bytes = encode_COUNTERPROC_INCREMENT_args(1),
    program: int = COUNTER_PROGRAM,
    version: int = COUNTER_V1,
    credential: bytes | Credential = NO_AUTH,
) -> bytes:
    if not isinstance(credential, bytes):
        credential = encode_credential(credential)
    return msg.encode_call(xid, program, version, procedure, credential, args)


def reply_to(server: RpcServer, message: bytes, client: Address = CLIENT) -> msg.ReplyHeader:
    reply = server.handle(message, client, "udp", NOW)
    assert reply is not None
    header = msg.parse_reply(reply)
    assert header.xid == struct.unpack_from(">I", message)[0]
    return header


def incremented_to(server: RpcServer, message: bytes, client: Address = CLIENT) -> int:
    """The value a successful INCREMENT (or READ) reply carries."""
    reply = server.handle(message, client, "udp", NOW)
    assert reply is not None
    header = msg.parse_reply(reply)
    assert (header.accepted, header.stat) == (True, msg.SUCCESS)
    value: int = INCREMENT.decode_result(reply[header.results_offset :])
    return value


class RecordingCounter(CounterService):
    """A counter service that remembers the context of every INCREMENT."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[CallContext] = []

    def COUNTERPROC_INCREMENT(self, args: int, ctx: CallContext) -> int:
        self.contexts.append(ctx)
        return super().COUNTERPROC_INCREMENT(args, ctx)


class FailingOnceCounter(CounterService):
    """A counter service whose first INCREMENT fails with an unexpected exception."""

    def __init__(self) -> None:
        super().__init__()
        self.failures_left = 1

    def COUNTERPROC_INCREMENT(self, args: int, ctx: CallContext) -> int:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the disk is on fire")
        return super().COUNTERPROC_INCREMENT(args, ctx)


# --- dispatch ----------------------------------------------------------------------------


def test_a_call_runs_its_handler_and_answers_success_with_the_result() -> None:
    service = CounterService()
    server = RpcServer([service])
    assert incremented_to(server, call(1, args=encode_COUNTERPROC_INCREMENT_args(5))) == 5
    assert incremented_to(server, call(2, args=encode_COUNTERPROC_INCREMENT_args(2))) == 7
    assert service.executions == {(CLIENT, 1): 1, (CLIENT, 2): 1}


def test_unknown_program_is_prog_unavail() -> None:
    server = RpcServer([CounterService()])
    header = reply_to(server, call(1, program=COUNTER_PROGRAM + 1))
    assert (header.accepted, header.stat) == (True, msg.PROG_UNAVAIL)


def test_unknown_version_is_prog_mismatch_with_the_lowest_and_highest_served() -> None:
    server = RpcServer([NFS_V3_Server(), NFS_VERSION_Server()])
    for version in (1, 4):
        header = reply_to(
            server, call(1, procedure=0, args=b"", program=NFS_PROGRAM, version=version)
        )
        assert header == msg.ReplyHeader(1, True, msg.PROG_MISMATCH, low=2, high=3)
    for version in (2, 3):
        header = reply_to(
            server, call(2, procedure=0, args=b"", program=NFS_PROGRAM, version=version)
        )
        assert (header.stat, header.results_offset) == (msg.SUCCESS, 24)


def test_unknown_procedure_number_is_proc_unavail() -> None:
    server = RpcServer([CounterService()])
    header = reply_to(server, call(1, procedure=9, args=b""))
    assert (header.accepted, header.stat) == (True, msg.PROC_UNAVAIL)


def test_skeleton_method_not_overridden_is_proc_unavail_while_null_works() -> None:
    server = RpcServer([COUNTER_V1_Server()])
    assert reply_to(server, call(1)).stat == msg.PROC_UNAVAIL
    assert reply_to(server, call(2, procedure=COUNTERPROC_NULL, args=b"")).stat == msg.SUCCESS


@pytest.mark.parametrize("args", [b"", b"\x00\x00\x01", bytes(8)])
def test_arguments_that_do_not_decode_are_garbage_args_and_never_execute(args: bytes) -> None:
    service = CounterService()
    server = RpcServer([service])
    assert reply_to(server, call(1, args=args)).stat == msg.GARBAGE_ARGS
    assert server.stats.garbage_args == 1
    assert service.value == 0
    assert not service.executions


def test_a_handler_that_raises_gets_system_err_and_the_next_call_still_works() -> None:
    service = FailingOnceCounter()
    server = RpcServer([service])
    assert reply_to(server, call(1)).stat == msg.SYSTEM_ERR
    assert server.stats.system_errors == 1
    assert incremented_to(server, call(2)) == 1


def test_rpc_version_3_is_denied_rpc_mismatch() -> None:
    service = CounterService()
    server = RpcServer([service])
    message = bytearray(call(1))
    message[8:12] = struct.pack(">I", 3)
    header = reply_to(server, bytes(message))
    assert header == msg.ReplyHeader(1, False, msg.RPC_MISMATCH, low=2, high=2)
    assert not service.executions


@pytest.mark.parametrize("length", [12, 28, None])
def test_rpc_version_3_is_checked_before_a_credential_that_does_not_parse(
    length: int | None,
) -> None:
    message = bytearray(call(1, credential=opaque_auth(AUTH_SYS, bytes(404))))
    message[8:12] = struct.pack(">I", 3)
    header = reply_to(RpcServer([CounterService()]), bytes(message[:length]))
    assert header == msg.ReplyHeader(1, False, msg.RPC_MISMATCH, low=2, high=2)


def authsys_body_with_machinename(machinename: bytes) -> bytes:
    name = struct.pack(">I", len(machinename)) + machinename + bytes(-len(machinename) & 3)
    return struct.pack(">I", 1) + name + struct.pack(">III", 0, 0, 0)


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(opaque_auth(AUTH_DH, b""), id="unsupported flavor AUTH_DH"),
        pytest.param(opaque_auth(0x7FFF_0001, b""), id="unknown flavor"),
        pytest.param(opaque_auth(AUTH_SYS, b"\x00\x00\x00\x01"), id="truncated AUTH_SYS"),
        pytest.param(
            opaque_auth(AUTH_SYS, authsys_body_with_machinename(b"h") + b"junk"),
            id="AUTH_SYS with trailing bytes",
        ),
        pytest.param(
            opaque_auth(AUTH_SYS, authsys_body_with_machinename(b"m" * 256)),
            id="machinename of 256 bytes",
        ),
        pytest.param(opaque_auth(AUTH_SYS, bytes(404)), id="credential over 400 bytes"),
    ],
)
def test_bad_credentials_are_denied_auth_badcred_and_never_execute(credential: bytes) -> None:
    service = CounterService()
    server = RpcServer([service])
    header = reply_to(server, call(1, credential=credential))
    assert header == msg.ReplyHeader(1, False, msg.AUTH_ERROR, auth_stat=msg.AUTH_BADCRED)
    assert not service.executions


def test_a_machinename_of_255_bytes_is_accepted() -> None:
    credential = opaque_auth(AUTH_SYS, authsys_body_with_machinename(b"m" * 255))
    assert incremented_to(RpcServer([CounterService()]), call(1, credential=credential)) == 1


def test_auth_sys_credentials_reach_the_handler_context() -> None:
    service = RecordingCounter()
    server = RpcServer([service])
    credential = AuthSys(stamp=9, machinename=b"box", uid=1000, gid=100, gids=(4, 27))
    incremented_to(server, call(0xBEEF, credential=credential), client=("10.0.0.9", 1023))
    assert service.contexts == [CallContext(0xBEEF, ("10.0.0.9", 1023), "udp", credential)]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x00\x00\x01\x00\x00", id="shorter than xid and type"),
        pytest.param(msg.encode_success(1, b"\x00" * 8), id="a reply"),
        pytest.param(struct.pack(">II", 1, 7) + bytes(40), id="msg_type 7"),
    ],
)
def test_messages_that_are_not_calls_are_dropped(message: bytes) -> None:
    server = RpcServer([CounterService()])
    outcome = server.receive(message, CLIENT, "udp", NOW)
    assert isinstance(outcome, Drop)
    assert server.handle(message, CLIENT, "udp", NOW) is None
    assert server.stats.drops == 2


# --- the duplicate request cache ---------------------------------------------------------


def test_duplicate_of_a_finished_call_replays_the_identical_reply_without_executing() -> None:
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    first = server.handle(call(7), CLIENT, "udp", NOW)
    again = server.handle(call(7), CLIENT, "udp", NOW + 1.0)
    assert first is not None
    assert again == first
    assert service.executions[(CLIENT, 7)] == 1
    assert service.value == 1


def test_duplicate_arriving_while_the_call_runs_is_dropped() -> None:
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    running = server.receive(call(7), CLIENT, "udp", NOW)
    assert isinstance(running, Execute)
    assert server.receive(call(7), CLIENT, "udp", NOW + 0.5) == Drop(
        "duplicate of a call in progress"
    )
    reply = server.complete(running, NOW + 1.0)
    assert server.receive(call(7), CLIENT, "udp", NOW + 2.0) == Reply(reply)
    assert service.executions[(CLIENT, 7)] == 1


def test_abandoned_call_executes_when_retransmitted() -> None:
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    lost = server.receive(call(7), CLIENT, "udp", NOW)
    assert isinstance(lost, Execute)
    server.abandon(lost)
    assert incremented_to(server, call(7)) == 1
    assert service.executions[(CLIENT, 7)] == 1


def test_without_a_cache_a_duplicate_executes_twice() -> None:
    service = CounterService()
    server = RpcServer([service], drc=None)
    assert incremented_to(server, call(7)) == 1
    assert incremented_to(server, call(7)) == 2
    assert service.executions[(CLIENT, 7)] == 2


def test_same_xid_from_another_client_port_is_a_new_call() -> None:
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    other_port: Address = (CLIENT[0], CLIENT[1] + 1)
    assert incremented_to(server, call(7)) == 1
    assert incremented_to(server, call(7), client=other_port) == 2
    assert service.executions == {(CLIENT, 7): 1, (other_port, 7): 1}


def test_same_xid_with_other_arguments_is_a_new_call() -> None:
    service = CounterService()
    server = RpcServer([service], DuplicateRequestCache())
    assert incremented_to(server, call(7, args=encode_COUNTERPROC_INCREMENT_args(1))) == 1
    assert incremented_to(server, call(7, args=encode_COUNTERPROC_INCREMENT_args(2))) == 3


def test_procedures_the_policy_does_not_name_are_not_cached() -> None:
    policy = CachePolicy(
        cached={(COUNTER_PROGRAM, COUNTER_V1): frozenset({COUNTERPROC_INCREMENT})},
        default_for_unknown=False,
    )
    drc = DuplicateRequestCache(policy=policy)
    server = RpcServer([CounterService()], drc)
    read = call(5, procedure=COUNTERPROC_READ, args=b"")
    assert incremented_to(server, read) == 0
    assert incremented_to(server, call(6)) == 1
    assert incremented_to(server, read) == 1  # executed again: a cached READ would say 0
    assert len(drc) == 1
    assert drc.stats.misses == 1


def test_cached_garbage_args_reply_is_replayed_too() -> None:
    service = CounterService()
    drc = DuplicateRequestCache()
    server = RpcServer([service], drc)
    first = server.handle(call(7, args=b"\x01"), CLIENT, "udp", NOW)
    assert server.handle(call(7, args=b"\x01"), CLIENT, "udp", NOW) == first
    assert server.stats.garbage_args == 1
    assert drc.stats.hits == 1
