"""The RPC server engine: one call message in, at most one reply message out.

Rules:
- Sans-I/O: `receive()` takes the bytes of one message, who sent it, over what, and the
  time; it never touches a socket or a clock. Transports (asyncio, the simulation, the
  fault proxies) do the I/O.
- Every message gets exactly one outcome: Reply (send these bytes), Drop (send nothing:
  not a call, unreadable xid, or a duplicate of a call still executing) or Execute (run
  it, now or later, with `complete()`, which returns the reply). `handle()` does both.
- Dispatch order (RFC 5531): RPC version (RPC_MISMATCH), credential (AUTH_ERROR /
  AUTH_BADCRED), program (PROG_UNAVAIL), version (PROG_MISMATCH with the lowest and
  highest version served), procedure (PROC_UNAVAIL), then the duplicate request cache,
  then the arguments (GARBAGE_ARGS). A handler that raises ProcedureUnavailable gets
  PROC_UNAVAIL; one that raises anything else gets SYSTEM_ERR, logged, and the server
  keeps serving.
- With a duplicate request cache, a cached procedure's reply is remembered under its
  DrcKey, and a retransmission is answered from the cache, never executed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from reference.rpc import message as msg
from reference.rpc.auth import BadCredential, decode_credential
from reference.rpc.drc import DrcKey, DuplicateRequestCache, InProgress, Miss, Replay
from reference.rpc.stubs import (
    Address,
    CallContext,
    Procedure,
    ProcedureUnavailable,
    ProgramVersion,
)
from reference.xdr import XdrError

log = logging.getLogger("nfsprop.rpc.server")


@dataclass(frozen=True, slots=True)
class Reply:
    message: bytes


@dataclass(frozen=True, slots=True)
class Drop:
    reason: str


class Execute(NamedTuple):
    """A call ready to run: `RpcServer.complete(execute, now)` runs it (a NamedTuple:
    one is built for every call)."""

    xid: int
    procedure: Procedure[Any, Any]
    implementation: ProgramVersion
    args: bytes
    context: CallContext
    drc_key: DrcKey | None


Outcome = Reply | Drop | Execute


@dataclass(slots=True)
class ServerStats:
    calls: int = 0
    drops: int = 0
    garbage_args: int = 0
    system_errors: int = 0


class RpcServer:
    def __init__(
        self, programs: Iterable[ProgramVersion], drc: DuplicateRequestCache | None = None
    ) -> None:
        self.versions: dict[int, dict[int, ProgramVersion]] = {}
        for implementation in programs:
            by_version = self.versions.setdefault(implementation.program, {})
            by_version[implementation.version] = implementation
        self.drc = drc
        self.stats = ServerStats()

    def handle(self, message: bytes, client: Address, transport: str, now: float) -> bytes | None:
        """Receive and, if it is to run, execute at once; the reply bytes or None."""
        outcome = self.receive(message, client, transport, now)
        if isinstance(outcome, Execute):
            return self.complete(outcome, now)
        return outcome.message if isinstance(outcome, Reply) else None

    def receive(self, message: bytes, client: Address, transport: str, now: float) -> Outcome:
        self.stats.calls += 1
        try:
            header = msg.parse_call(message)
        except msg.MalformedMessage as error:
            if error.xid is None or not _is_call(message):
                return self._drop(f"not an RPC call: {error.reason}")
            if _rpc_version(message) not in (None, msg.RPC_VERSION):
                return Reply(msg.encode_rpc_mismatch(error.xid))
            return Reply(msg.encode_auth_error(error.xid, msg.AUTH_BADCRED))
        xid = header.xid
        if header.rpcvers != msg.RPC_VERSION:
            return Reply(msg.encode_rpc_mismatch(xid))
        try:
            credential = decode_credential(header.cred_flavor, header.cred_body)
        except BadCredential:
            return Reply(msg.encode_auth_error(xid, msg.AUTH_BADCRED))
        by_version = self.versions.get(header.program)
        if by_version is None:
            return Reply(msg.encode_accept_error(xid, msg.PROG_UNAVAIL))
        implementation = by_version.get(header.version)
        if implementation is None:
            low, high = min(by_version), max(by_version)
            return Reply(msg.encode_accept_error(xid, msg.PROG_MISMATCH, low, high))
        procedure = implementation.procedures.get(header.procedure)
        if procedure is None:
            return Reply(msg.encode_accept_error(xid, msg.PROC_UNAVAIL))
        args = message[header.args_offset :]
        context = CallContext(xid, client, transport, credential)
        key = None
        drc = self.drc
        if drc is not None and drc.caches(header.program, header.version, header.procedure):
            key = DrcKey.for_call(
                xid, header.program, header.version, header.procedure, client, transport, args
            )
            lookup = drc.begin(key, now)
            if isinstance(lookup, Replay):
                return Reply(lookup.reply)
            if isinstance(lookup, InProgress):
                return self._drop("duplicate of a call in progress")
            if not isinstance(lookup, Miss):
                return self._drop("duplicate request cache full of calls in progress")
        return Execute(xid, procedure, implementation, args, context, key)

    def complete(self, call: Execute, now: float) -> bytes:
        """Run a received call and return its reply (cached if the DRC holds its key)."""
        reply = self._execute(call)
        if call.drc_key is not None and self.drc is not None:
            self.drc.finish(call.drc_key, reply, now)
        return reply

    def abandon(self, call: Execute) -> None:
        """A received call will never run (its server crashed): forget its DRC entry."""
        if call.drc_key is not None and self.drc is not None:
            self.drc.abandon(call.drc_key)

    def _execute(self, call: Execute) -> bytes:
        procedure = call.procedure
        try:
            args = procedure.decode_args(call.args)
        except XdrError as error:
            self.stats.garbage_args += 1
            log.debug("xid %#x %s: garbage arguments: %s", call.xid, procedure.name, error)
            return msg.encode_accept_error(call.xid, msg.GARBAGE_ARGS)
        try:
            result = call.implementation.handler(procedure.number)(args, call.context)
            return msg.encode_success(call.xid, procedure.encode_result(result))
        except ProcedureUnavailable:
            return msg.encode_accept_error(call.xid, msg.PROC_UNAVAIL)
        except Exception:
            self.stats.system_errors += 1
            log.exception("xid %#x %s: the handler failed", call.xid, procedure.name)
            return msg.encode_accept_error(call.xid, msg.SYSTEM_ERR)

    def _drop(self, reason: str) -> Drop:
        self.stats.drops += 1
        return Drop(reason)


def _is_call(message: bytes) -> bool:
    known = msg.peek_xid(message)
    return known is not None and known[1] == msg.CALL


def _rpc_version(message: bytes) -> int | None:
    """The rpcvers of a call too broken to parse, if it is long enough to hold one."""
    return int.from_bytes(message[8:12], "big") if len(message) >= 12 else None
