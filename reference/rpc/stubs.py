"""What generated stubs and skeletons stand on: procedure descriptors, the Caller
interface a client stub calls through, and the ProgramVersion base of server skeletons.

Rules: this module does no I/O. A client stub never encodes by itself: it hands the
Procedure and the argument value to its Caller, which encodes, sends, waits and decodes.
A skeleton method that is not overridden raises ProcedureUnavailable, which the server
engine answers with PROC_UNAVAIL; a handler that raises anything else gets SYSTEM_ERR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

A = TypeVar("A")
R = TypeVar("R")

# A peer's address: (host, port) on real sockets, (node name, port) in the simulation.
Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Procedure(Generic[A, R]):
    """One procedure of one program version, with the codecs of its argument and result."""

    program: int
    version: int
    number: int
    name: str
    encode_args: Callable[[A], bytes]
    decode_args: Callable[[bytes], A]
    encode_result: Callable[[R], bytes]
    decode_result: Callable[[bytes], R]


@dataclass(frozen=True, slots=True)
class AuthNone:
    """AUTH_NONE (flavor 0)."""


@dataclass(frozen=True, slots=True)
class AuthSys:
    """AUTH_SYS (flavor 1) credentials, RFC 5531 appendix A."""

    stamp: int
    machinename: bytes
    uid: int
    gid: int
    gids: tuple[int, ...] = ()


Credential = AuthNone | AuthSys


class CallContext(NamedTuple):
    """What a server handler knows about the call besides its arguments (a NamedTuple:
    one is built for every call)."""

    xid: int
    client: Address
    transport: str  # "udp", "tcp" or "sim"
    credential: Credential


class ProcedureUnavailable(Exception):
    """Raised by a handler (or a skeleton's default method): answer PROC_UNAVAIL."""


class Caller(Protocol):
    """A client transport bound to one server: encodes, sends (retransmitting as its
    policy says), waits for the reply and decodes it. Raises reference.rpc.errors.RpcError
    subclasses on timeouts (soft), denied calls and accept errors."""

    async def call(self, procedure: Procedure[A, R], args: A) -> R: ...


class ProgramVersion:
    """Base of generated server skeletons: one subclass per program version."""

    program: ClassVar[int]
    version: ClassVar[int]
    procedures: ClassVar[dict[int, Procedure[Any, Any]]]

    def handler(self, number: int) -> Callable[[Any, CallContext], Any]:
        """The bound method implementing procedure `number`; ProcedureUnavailable if the
        version has no such procedure."""
        procedure = self.procedures.get(number)
        if procedure is None:
            raise ProcedureUnavailable(number)
        method: Callable[[Any, CallContext], Any] = getattr(self, procedure.name)
        return method
