"""Bad input at the world's server: random, cut and garbage messages on its own ports.

The bad input of test_bad_input.py, aimed at the NFS server of every socket world (its NFS
port over TCP, and over UDP where it serves UDP; its MOUNT port too when that is a port of
its own): random datagrams and byte streams, calls cut short, arguments and credentials
that do not decode, calls of an RPC version, program, version or procedure it does not
serve, calls in many fragments cut across TCP segments, oversize records and connections
reset by the client. After every example NULL must still answer on each port; no reply may
answer what is not a call; and each call that cannot be carried out gets the status RFC
5531 names for it (properties/rpc/rules.py says what fails and what warns).

Rules:
- The world's server is borrowed once per test (`target_factory`, closed in a finally);
  the simulation has no ports and is skipped. The ports come from the borrowed socket
  target (its host, NFS port and MOUNT port); UDP is aimed at only where the probe found
  it (`features.udp`), and at the MOUNT port only where MOUNT answers NULL over UDP.
- Each example talks to the server through plain blocking sockets of its own, so what the
  server sees is exactly the bytes the example chose. Calls use XIDs from
  test_bad_input's counter, never from the strategy, and AUTH_SYS root unless the
  credential is what is under test.
- Every wait is bounded, nothing sleeps: REPLY_WAIT seconds at most for a reply that is
  due, QUIET_WAIT for anything more once the client is done, ALIVE_WAIT for NULL.
- TCP: a connection sends its bytes, reads until every reply that is due has come (or
  the server closed it), only then shuts down its sending side (NFS-Ganesha 4.3 and
  go-nfs v0.0.4 both drop replies still in flight when the client half-closes) and reads
  until the server closes, QUIET_WAIT at most. A due reply missing after FIRST_LOOK is
  timed against a canary: a NULL on another connection, answered in t seconds; the due
  reply gets CANARY_GRACE + 10 t more (REPLY_WAIT in all at most), so a server that never
  answers (go-nfs, to any record of several fragments) costs a fraction of a second per
  example while Hypothesis shrinks, and a busy machine stretches the wait with t. It
  never resets a connection (it closes only with nothing unread); FUZZ-RESET alone resets
  on purpose. UDP: a datagram is followed by a NULL call from the same socket; the
  datagrams that come back, until NULL's reply (and QUIET_WAIT more for a due reply not
  yet seen), are the answer.
- Each test caps its examples (`examples`) so that the module runs in a few seconds
  against our server and NFS-Ganesha and in about 40 s against go-nfs (which leaves most
  garbage connections open: each costs QUIET_WAIT), failures shrunk included.
- Every example counts as steps the messages it sent (each datagram, each connection's
  bytes, each NULL), and names what it sent in its counterexample steps. A server that
  no longer answers NULL is restarted before the FAIL is raised, where the world can
  restart it, so that the examples and tests that follow meet a live server.
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faults.sim import NoFaults
from properties.harness import findings
from properties.harness.findings import Rule, check
from properties.peers.rpcping import null_call
from properties.rpc import rules
from properties.rpc.test_bad_input import (
    auth_sys_bodies,
    call,
    fragment_sizes,
    header_length,
    next_xid,
    opaque_auth,
    segmented,
    xid_of,
)
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Target, TargetFactory
from reference.rpc import message as msg
from reference.rpc.aio_client import reset_on_close
from reference.rpc.auth import encode_credential
from reference.rpc.errors import RecordTooLarge
from reference.rpc.record import RecordReader, frame, frame_fragments
from reference.rpc.stubs import AuthNone, AuthSys, Procedure
from reference.xdr.gen.mount3 import MNTPATHLEN, MOUNT_PROGRAM, MOUNT_V3, MOUNT_V3_PROCEDURES
from reference.xdr.gen.nfs3 import (
    NFS3_FHSIZE,
    NFS_PROGRAM,
    NFS_V3,
    NFS_V3_PROCEDURES,
    GETATTR3args,
    nfs_fh3,
    nfsstat3,
)
from reference.xdr.gen.rpc_msg import AUTH_NONE, AUTH_SYS, accept_stat, auth_stat

REPLY_WAIT = 2.0  # seconds at most for a reply that is due
QUIET_WAIT = 0.3  # seconds for anything more once the client is done sending
FIRST_LOOK = 0.05  # seconds a due TCP reply is waited for before the canary NULL
CANARY_GRACE = 0.25  # seconds (plus ten canary round trips) a due reply may trail it
ALIVE_WAIT = 5.0  # seconds for NULL's answer after an example
UDP_PROBE_WAIT = 1.0  # seconds for MOUNT's NULL over UDP, once per test
REPLY_LIMIT = 1 << 20  # bytes of one reply record
SHOWN_BYTES = 12  # bytes of an input its step shows in hex
FUZZ_ROOT = encode_credential(AuthSys(0, b"nfsprop-fuzz", 0, 0))
MACHINE_NAME_MAX, GIDS_MAX = 255, 16  # authsys_parms' bounds (RFC 5531 appendix A)

Transport = Literal["tcp", "udp"]


def examples(most: int) -> settings:
    """The profile's example count, at most `most` (see the module rules)."""
    return settings(max_examples=min(settings().max_examples, most))


# -- the server's ports


@dataclass(frozen=True)
class Service:
    """An RPC program of the server, with a procedure of one bounded opaque argument."""

    name: str  # "NFS" or "MOUNT"
    program: int
    version: int
    served_versions: range  # versions the server may serve: never drawn as not served
    procedures: int  # its procedures are 0 .. procedures - 1
    null: Procedure[Any, Any]
    probe: Procedure[Any, Any]  # GETATTR (an nfs_fh3) or UMNT (a dirpath): harmless
    bound: int  # the bound of the probe's argument
    encode_probe: Callable[[bytes], bytes]  # the probe's arguments around that opaque


NFS = Service(
    "NFS",
    NFS_PROGRAM,
    NFS_V3,
    range(2, 5),
    len(NFS_V3_PROCEDURES),
    NFS_V3_PROCEDURES[0],
    NFS_V3_PROCEDURES[1],
    NFS3_FHSIZE,
    lambda data: NFS_V3_PROCEDURES[1].encode_args(GETATTR3args(nfs_fh3(data))),
)
MOUNT = Service(
    "MOUNT",
    MOUNT_PROGRAM,
    MOUNT_V3,
    range(1, 4),
    len(MOUNT_V3_PROCEDURES),
    MOUNT_V3_PROCEDURES[0],
    MOUNT_V3_PROCEDURES[3],
    MNTPATHLEN,
    MOUNT_V3_PROCEDURES[3].encode_args,
)


@dataclass(frozen=True)
class Endpoint:
    service: Service
    transport: Transport
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.upper()} to the {self.service.name} port {self.port}"

    def __repr__(self) -> str:
        return f"<{self}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # Hypothesis's falsifying example: not the Service's fields

    def is_alive(self) -> bool:
        service = self.service
        address = (self.host, self.port)
        return null_call(
            address, service.program, service.version, transport=self.transport, timeout=ALIVE_WAIT
        )


def socket_target(target: Target) -> SocketTarget[Any] | None:
    """The socket target behind `target`: itself, or the shared server it borrows."""
    inner = getattr(target, "server", target)
    return inner if isinstance(inner, SocketTarget) else None


def endpoints_of(target: Target) -> list[Endpoint]:
    """The ports of the server behind a socket target (see the module rules)."""
    server = socket_target(target)
    assert server is not None, f"{target.name}: not a socket target"
    host, port, mount_port = server.host, server.server.port, server.server.mount_port
    found = [Endpoint(NFS, "tcp", host, port)]
    if target.features.udp:
        found.append(Endpoint(NFS, "udp", host, port))
    if mount_port != port:
        found.append(Endpoint(MOUNT, "tcp", host, mount_port))
        if target.features.udp and null_call(
            (host, mount_port), MOUNT_PROGRAM, MOUNT_V3, transport="udp", timeout=UDP_PROBE_WAIT
        ):
            found.append(Endpoint(MOUNT, "udp", host, mount_port))
    return found


# -- what came back


@dataclass
class Answer:
    """What the server sent back for one input."""

    replies: list[bytes] = field(default_factory=list)  # records or datagrams, as they came
    # TCP: "closed" or "reset" by the server, "open" (neither, within the waits), or
    # "refused" (no connection); UDP: "datagrams"
    ending: str = "datagrams"
    after_fin: bool = False  # TCP: the server closed only after the client's FIN
    waited: float = REPLY_WAIT  # seconds a due reply was waited for
    canary: str = ""  # TCP: what the canary NULL got, when there was one
    cut: bool = False  # TCP: the server closed the connection inside a reply record
    oversize: str | None = None  # TCP: a reply record announced over REPLY_LIMIT bytes

    def to(self, xid: int) -> list[bytes]:
        """The well-formed replies with this XID."""
        return [reply for reply in self.replies if _xid(reply) == xid and _parses(reply)]

    def came(self, xids: Collection[int]) -> bool:
        """Every one of `xids` has a reply, well-formed or not."""
        return set(xids) <= {_xid(reply) for reply in self.replies}

    def silence(self) -> str:
        """Why no reply came, in words."""
        if self.ending == "refused":
            return "no connection: the server refused it"
        if self.ending in ("closed", "reset") and not self.after_fin:
            return f"no reply: the server {self.ending} the connection"
        return f"no reply within {self.waited:.2f} s{self.canary}"


def _xid(reply: bytes) -> int | None:
    known = msg.peek_xid(reply)
    return None if known is None else known[0]


def _parses(reply: bytes) -> bool:
    try:
        msg.parse_reply(reply)
    except msg.MalformedMessage:
        return False
    return True


def describe(reply: bytes, service: Service | None = None) -> str:
    """A reply's status by name: MSG_ACCEPTED SUCCESS (NFS3ERR_STALE), MSG_DENIED ..."""
    header = msg.parse_reply(reply)
    if not header.accepted:
        if header.stat == msg.RPC_MISMATCH:
            return f"MSG_DENIED RPC_MISMATCH (low {header.low}, high {header.high})"
        return f"MSG_DENIED AUTH_ERROR {_name(auth_stat, header.auth_stat, 'auth_stat')}"
    shown = f"MSG_ACCEPTED {_name(accept_stat, header.stat, 'accept_stat')}"
    if header.stat == msg.PROG_MISMATCH:
        return f"{shown} (low {header.low}, high {header.high})"
    results = reply[header.results_offset :]
    if header.stat == msg.SUCCESS and service is NFS and len(results) >= 4:
        (status,) = struct.unpack_from(">I", results)
        return f"{shown} ({_name(nfsstat3, status, 'nfsstat3')})"
    return shown


def _name(enum: Any, value: int | None, kind: str) -> str:
    try:
        return str(enum(value).name)
    except ValueError:
        return f"an unknown {kind} {value}"


def sizes_of(parts: Sequence[bytes]) -> str:
    return " + ".join(str(len(part)) for part in parts)


def shown(data: bytes) -> str:
    """`data` for a step: its length and its first bytes in hex."""
    head = data[:SHOWN_BYTES].hex()
    return f"{len(data)} bytes {head}{'…' if len(data) > SHOWN_BYTES else ''}".rstrip()


# -- talking to the server


class Fuzz:
    """One test's borrowed server: its ports, the exchanges, the check that it lives."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.ports = endpoints_of(target)

    def endpoints(self, transport: Transport | None = None) -> list[Endpoint]:
        return [e for e in self.ports if transport is None or e.transport == transport]

    def send(self, endpoint: Endpoint, message: bytes, due: Collection[int] = ()) -> Answer:
        """One message: a datagram, or a record on a new connection."""
        if endpoint.transport == "udp":
            return self.datagram(endpoint, message, due)
        return self.stream(endpoint, [frame(message)], due)

    def datagram(self, endpoint: Endpoint, datagram: bytes, due: Collection[int] = ()) -> Answer:
        sentinel = call(endpoint.service.null, b"")
        answer = Answer()
        findings.current().steps(2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((endpoint.host, endpoint.port))
            started = time.monotonic()
            deadline, null_answered = started + REPLY_WAIT, False
            try:
                sock.send(datagram)
                sock.send(sentinel)
                while (remaining := deadline - time.monotonic()) > 0:
                    sock.settimeout(remaining)
                    reply = sock.recv(65536)
                    if _xid(reply) == xid_of(sentinel):
                        null_answered = True
                        deadline = min(deadline, time.monotonic() + QUIET_WAIT)
                    else:
                        answer.replies.append(reply)
                    if null_answered and answer.came(due):
                        break
            except (TimeoutError, ConnectionRefusedError):
                pass  # nothing more came (or nothing listens: the NULL check says so)
        answer.waited = time.monotonic() - started
        answer.canary = (
            " (the NULL sent after it was answered)"
            if null_answered
            else " (the NULL sent after it got no answer either)"
        )
        return answer

    def stream(
        self, endpoint: Endpoint, segments: Sequence[bytes], due: Collection[int] = ()
    ) -> Answer:
        """Send `segments` on a new connection and read the answer (see the module rules)."""
        answer = Answer(ending="open")
        reader = RecordReader(REPLY_LIMIT)
        findings.current().steps()
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), ALIVE_WAIT)
        except OSError:
            answer.ending = "refused"  # the NULL check that follows says more
            return answer
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def read(seconds: float, done: Callable[[], bool]) -> bool:
                """Read for at most `seconds` until `done()`; False once the server has
                closed or reset the connection."""
                deadline = time.monotonic() + seconds
                while not done() and (remaining := deadline - time.monotonic()) > 0:
                    sock.settimeout(remaining)
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        return True
                    except OSError:
                        answer.ending = "reset"
                        return False
                    if not data:
                        answer.ending = "closed"
                        answer.cut = reader.in_record and answer.oversize is None
                        return False
                    if answer.oversize is None:
                        try:
                            answer.replies += reader.feed(data)
                        except RecordTooLarge as error:
                            answer.oversize = str(error)  # the rest is read and dropped
                return True

            try:
                for segment in segments:
                    sock.sendall(segment)
            except OSError:  # the server closed or reset: what did it send before?
                answer.ending = "reset"
                read(REPLY_WAIT, lambda: False)
                return answer
            sent = time.monotonic()
            if read(FIRST_LOOK, lambda: answer.came(due)) and not answer.came(due):
                # what the server answers a canary NULL on another connection in t, it
                # answers the due calls in CANARY_GRACE + 10 t (REPLY_WAIT at most)
                answered = self.canary(endpoint)
                took = time.monotonic() - sent - FIRST_LOOK
                answer.waited = min(REPLY_WAIT, CANARY_GRACE + FIRST_LOOK + 11 * took)
                answer.canary = (
                    f" (NULL on another connection: answered in {took:.3f} s)"
                    if answered
                    else f" (NULL on another connection: no answer in {took:.2f} s)"
                )
                read(sent + answer.waited - time.monotonic(), lambda: answer.came(due))
            if answer.ending == "open":
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    answer.ending = "reset"
                    return answer
                answer.after_fin = True
                read(QUIET_WAIT, lambda: False)
        return answer

    def canary(self, endpoint: Endpoint) -> bool:
        """A NULL call on a connection of its own, REPLY_WAIT seconds at most: answered?"""
        findings.current().steps()
        service = endpoint.service
        address = (endpoint.host, endpoint.port)
        return null_call(address, service.program, service.version, timeout=REPLY_WAIT)

    def reset(self, endpoint: Endpoint, stream: bytes, read_replies: int) -> None:
        """Send `stream` on a new connection, read `read_replies` reply records (bounded),
        then reset the connection (SO_LINGER 0: an RST, not a FIN)."""
        findings.current().steps()
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), ALIVE_WAIT)
        except OSError:
            return  # the NULL check that follows says more
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(REPLY_WAIT)
            reader, replies = RecordReader(REPLY_LIMIT), 0
            try:
                sock.sendall(stream)
                while replies < read_replies and (data := sock.recv(65536)):
                    replies += len(reader.feed(data))
            except (OSError, RecordTooLarge):
                pass  # whatever the server did, the connection is reset now
            reset_on_close(sock)

    def check_alive(self, steps: list[str], rule: Rule = rules.DEAD) -> None:
        """NULL over every port (TCP on a new connection); a FAIL of `rule` naming the
        input when one is silent, after restarting the server where the world can."""
        findings.current().steps(len(self.ports))
        silent = [str(endpoint) for endpoint in self.ports if not endpoint.is_alive()]
        if not silent:
            return
        restarted = ""
        if self.target.capabilities.crashes:
            self.target.crash_and_restart()
            restarted = "; the server was restarted for what follows"
        findings.current().fail(
            rule,
            f"after {steps[-1]}, NULL got no answer within {ALIVE_WAIT} s over "
            f"{', '.join(silent)}{restarted}",
            [*steps, f"NULL over {', '.join(silent)}: no answer"],
        )

    def check_replies(
        self, endpoint: Endpoint, answer: Answer, calls: Collection[int], steps: list[str]
    ) -> None:
        """Every reply is a well-formed reply to one of `calls` (the XIDs of the calls
        sent); a TCP connection is not left hanging."""
        recorder = findings.current()
        if answer.oversize is not None:
            recorder.fail(
                rules.REPLY_MALFORMED, f"{endpoint}: a reply record {answer.oversize}", steps
            )
        if answer.cut:
            recorder.fail(
                rules.REPLY_MALFORMED,
                f"{endpoint}: the server closed the connection inside a reply record",
                steps,
            )
        for reply in answer.replies:
            try:
                msg.parse_reply(reply)
            except msg.MalformedMessage as error:
                recorder.fail(
                    rules.REPLY_MALFORMED,
                    f"{endpoint}: the server sent {shown(reply)}, not an RPC reply "
                    f"({error.reason})",
                    steps,
                )
                continue
            if _xid(reply) not in calls:
                recorder.fail(
                    rules.REPLY_TO_NONCALL,
                    f"{endpoint}: the server answered {describe(reply)} with XID "
                    f"{_xid(reply):#x}, which no call carried",
                    steps,
                )
        if answer.ending == "open":
            recorder.warn(
                rules.STALL,
                f"{endpoint}: after the bad input and the client's FIN the server neither "
                f"answered nor closed the connection within {QUIET_WAIT} s (it holds it open)",
                steps,
            )


@contextmanager
def fuzzing(target_factory: TargetFactory, world: str) -> Iterator[Fuzz]:
    """The world's server for one test; the simulation (no ports) is skipped."""
    target = target_factory(NoFaults())
    try:
        if target.sim is not None:
            pytest.skip(f"{world}: a simulated server has no ports for raw bad input")
        yield Fuzz(target)
    finally:
        target.close()


# -- judging a refusal


@dataclass(frozen=True)
class Refusal:
    """What a call that cannot be carried out must get (the policy of rules.py)."""

    rule: Rule
    case: str  # the call's fault, in words
    accepted: bool  # the status RFC 5531 names is an accept_stat (else a reject_stat)
    stat: int
    auth_stat: int | None = None
    in_range: Callable[[int, int], bool] | None = None  # (low, high) of a *_MISMATCH
    wrong_range: str = ""  # what a range failing `in_range` does wrong, in words
    any_acceptance_fails: bool = False  # a bad credential: MSG_ACCEPTED means taken

    @property
    def named(self) -> str:
        if self.auth_stat is not None:
            return f"MSG_DENIED AUTH_ERROR {auth_stat(self.auth_stat).name}"
        if not self.accepted:
            return "MSG_DENIED RPC_MISMATCH"
        return f"MSG_ACCEPTED {accept_stat(self.stat).name}"

    def judge(self, endpoint: Endpoint, answer: Answer, xid: int, steps: list[str]) -> None:
        recorder = findings.current()
        where = f"{self.case} ({endpoint})"
        mine = answer.to(xid)
        if not mine:
            recorder.warn(
                self.rule, f"{where}: {answer.silence()}; RFC 5531 names {self.named}", steps
            )
            return
        header = msg.parse_reply(mine[0])
        got = describe(mine[0], endpoint.service)
        precise = header.accepted == self.accepted and header.stat == self.stat
        if precise and (self.auth_stat is None or header.auth_stat == self.auth_stat):
            low, high = header.low, header.high
            if (
                self.in_range is not None
                and low is not None
                and high is not None
                and not self.in_range(low, high)
            ):
                recorder.fail(self.rule, f"{where}: answered {got}, {self.wrong_range}", steps)
            return
        carried_out = header.accepted and (header.stat == msg.SUCCESS or self.any_acceptance_fails)
        if carried_out:
            recorder.fail(self.rule, f"{where}: answered {got}; RFC 5531 names {self.named}", steps)
        else:
            recorder.warn(self.rule, f"{where}: answered {got}; RFC 5531 names {self.named}", steps)


def undecodable(args: bytes, bound: int) -> str | None:
    """Why `args` cannot be one opaque<bound> (or string<bound>) for even a lenient
    decoder, or None: a decoder may take them (exactly, with its padding short or not
    zero, or with trailing bytes), and no answer is judged."""
    if len(args) < 4:
        return f"{len(args)} bytes cannot hold a length"
    (length,) = struct.unpack_from(">I", args)
    if length > bound:
        return f"the length {length} exceeds the bound {bound}"
    if len(args) - 4 < length:
        return f"the length says {length} bytes, {len(args) - 4} follow"
    return None


def credential_fault(flavor: int, body: bytes) -> str | None:
    """Why a credential cannot be taken, or None: AUTH_SYS bodies are judged as leniently
    as arguments (an authsys_parms followed by more bytes is not judged)."""
    if len(body) > msg.MAX_AUTH_BYTES:
        return f"of {len(body)} bytes, over 400"
    if flavor not in (AUTH_NONE, AUTH_SYS):
        return "of an unknown flavor"
    if flavor == AUTH_NONE:
        return None
    if len(body) < 8:
        return f"not an authsys_parms: {len(body)} bytes cannot hold a stamp and a name"
    name = struct.unpack_from(">I", body, 4)[0]
    if name > MACHINE_NAME_MAX:
        return f"not an authsys_parms: a machinename of {name} bytes, over 255"
    ids = 8 + name + (-name & 3)
    if len(body) < ids + 12:
        return "not an authsys_parms: cut short"
    gids = struct.unpack_from(">I", body, ids + 8)[0]
    if gids > GIDS_MAX:
        return f"not an authsys_parms: {gids} gids, over 16"
    if len(body) < ids + 12 + 4 * gids:
        return f"not an authsys_parms: {gids} gids, {(len(body) - ids - 12) // 4} follow"
    return None


def badcred_refusal(why: str) -> Refusal:
    """A credential that cannot be taken: any MSG_ACCEPTED means it was taken."""
    return Refusal(
        rules.BADCRED,
        f"a credential {why}",
        False,
        msg.AUTH_ERROR,
        auth_stat=msg.AUTH_BADCRED,
        any_acceptance_fails=True,
    )


def named(procedure: Procedure[Any, Any]) -> str:
    """GETATTR, UMNT, NULL: a procedure's name without its program's prefix."""
    return procedure.name.split("PROC3_")[-1]


def garbage_args(procedure: Procedure[Any, Any], why: str) -> Refusal:
    name = named(procedure)
    return Refusal(
        rules.GARBAGE_ARGS, f"{name} arguments that do not decode: {why}", True, msg.GARBAGE_ARGS
    )


# -- strategies


@dataclass(frozen=True)
class Call:
    """A whole call as drawn; shown by what it is, not by its bytes."""

    procedure: Procedure[Any, Any]
    data: bytes  # the probe's opaque (no arguments for NULL)
    root: bool  # AUTH_SYS root, else AUTH_NONE
    message: bytes

    @property
    def xid(self) -> int:
        return xid_of(self.message)

    def __repr__(self) -> str:
        what = f"{named(self.procedure)} call (XID {self.xid:#x}"
        if self.procedure.number:
            what += f", opaque {self.data.hex() or 'empty'}"
        return f"<{what}, {'AUTH_SYS root' if self.root else 'AUTH_NONE'})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@st.composite
def services_calls(draw: st.DrawFn, service: Service) -> Call:
    """Whole calls of `service`: NULL, or the probe with arguments that decode, AUTH_NONE
    or AUTH_SYS root."""
    root = draw(st.booleans())
    credential = FUZZ_ROOT if root else encode_credential(AuthNone())
    if not draw(st.booleans()):
        return Call(service.null, b"", root, call(service.null, b"", credential))
    data = draw(st.binary(max_size=min(service.bound, 64)))
    message = call(service.probe, service.encode_probe(data), credential)
    return Call(service.probe, data, root, message)


def opaque_arguments(bound: int) -> st.SearchStrategy[bytes]:
    """Bytes in place of one opaque<bound>: random, or a length (small, near the bound or
    any) followed by random bytes."""
    lengths = st.one_of(st.integers(0, bound + 8), st.integers(0, 2**32 - 1))
    return st.one_of(
        st.binary(max_size=80),
        st.builds(lambda n, rest: struct.pack(">I", n) + rest, lengths, st.binary(max_size=72)),
    )


# programs a server may serve beside NFS (portmap, NLM, NSM, NFS_ACL, rquota, ...): never
# drawn as a program it lacks
SUN_PROGRAMS = range(100000, 101000)


@dataclass(frozen=True)
class HeaderFault:
    part: Literal["rpcvers", "program", "version", "procedure"]  # of the call's header
    value: int

    def message(self, service: Service, xid: int) -> bytes:
        program = self.value if self.part == "program" else service.program
        version = self.value if self.part == "version" else service.version
        procedure = self.value if self.part == "procedure" else 0
        message = msg.encode_call(xid, program, version, procedure, FUZZ_ROOT, b"")
        if self.part == "rpcvers":
            message = message[:8] + struct.pack(">I", self.value) + message[12:]
        return message

    def refusal(self, service: Service) -> Refusal:
        value = self.value
        if self.part == "rpcvers":
            return Refusal(
                rules.RPC_MISMATCH,
                f"a NULL call of RPC version {value}",
                False,
                msg.RPC_MISMATCH,
                in_range=lambda low, high: low <= msg.RPC_VERSION <= high,
                wrong_range="a range without RPC version 2, which the server speaks",
            )
        if self.part == "program":
            return Refusal(
                rules.PROG_UNAVAIL, f"a NULL call of program {value}", True, msg.PROG_UNAVAIL
            )
        if self.part == "version":
            return Refusal(
                rules.PROG_MISMATCH,
                f"a NULL call of {service.name} version {value}",
                True,
                msg.PROG_MISMATCH,
                in_range=lambda low, high: low <= high and not low <= value <= high,
                wrong_range=f"an empty range or one holding version {value}",
            )
        return Refusal(
            rules.PROC_UNAVAIL,
            f"a call of {service.name} v{service.version} procedure {value}",
            True,
            msg.PROC_UNAVAIL,
        )


def header_faults(service: Service) -> st.SearchStrategy[HeaderFault]:
    words = st.integers(0, 2**32 - 1)
    return st.one_of(
        st.builds(HeaderFault, st.just("rpcvers"), words.filter(lambda v: v != msg.RPC_VERSION)),
        st.builds(HeaderFault, st.just("program"), words.filter(lambda p: p not in SUN_PROGRAMS)),
        st.builds(
            HeaderFault,
            st.just("version"),
            words.filter(lambda v: v not in service.served_versions),
        ),
        st.builds(HeaderFault, st.just("procedure"), st.integers(service.procedures, 2**32 - 1)),
    )


def call_xids(stream: bytes) -> set[int]:
    """The XIDs of the complete records in `stream` that start like a call (as the
    reference's record reader cuts the stream)."""
    reader, xids = RecordReader(len(stream)), set()
    for at in range(len(stream)):
        try:
            records = reader.feed(stream[at : at + 1])
        except RecordTooLarge:
            break
        for record in records:
            known = msg.peek_xid(record)
            if known is not None and known[1] == msg.CALL:
                xids.add(known[0])
    return xids


# -- the properties


@check("FUZZ-RANDOM-UDP", "random datagrams get no reply unless they are calls", "RFC 5531 §9")
def test_random_datagrams(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:
        ports = fuzz.endpoints("udp")
        if not ports:
            pytest.skip(f"{world}: the server serves no UDP (the probe's NULL got no answer)")

        @examples(30)
        @given(
            st.sampled_from(ports),
            st.one_of(
                st.binary(max_size=600),
                st.binary(max_size=600).map(lambda rest: struct.pack(">II", 7, msg.CALL) + rest),
            ),
        )
        def example(endpoint: Endpoint, datagram: bytes) -> None:
            steps = [f"{endpoint}: a datagram of {shown(datagram)}"]
            known = msg.peek_xid(datagram)
            calls = {known[0]} if known is not None and known[1] == msg.CALL else set()
            fuzz.check_replies(endpoint, fuzz.datagram(endpoint, datagram), calls, steps)
            fuzz.check_alive(steps)

        example()


@check(
    "FUZZ-RANDOM-TCP", "random byte streams get no reply unless they hold calls", "RFC 5531 §9, §11"
)
def test_random_byte_streams(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @examples(20)
        @given(st.sampled_from(fuzz.endpoints("tcp")), st.binary(max_size=600).flatmap(segmented))
        def example(endpoint: Endpoint, segments: list[bytes]) -> None:
            stream = b"".join(segments)
            steps = [f"{endpoint}: {shown(stream)} in segments of {sizes_of(segments)}"]
            fuzz.check_replies(endpoint, fuzz.stream(endpoint, segments), call_xids(stream), steps)
            fuzz.check_alive(steps)

        example()


@check("FUZZ-TRUNCATED", "calls cut short are dropped or refused, never executed", "RFC 5531 §9")
def test_truncated_calls(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @st.composite
        def cut_calls(draw: st.DrawFn) -> tuple[Endpoint, Call, int]:
            endpoint = draw(st.sampled_from(fuzz.endpoints()))
            whole = draw(services_calls(endpoint.service))
            header, end = header_length(whole.message), len(whole.message)
            if header < end and draw(st.booleans()):  # inside the arguments
                return endpoint, whole, draw(st.integers(header, end - 1))
            return endpoint, whole, draw(st.integers(0, header - 1))

        @examples(30)
        @given(cut_calls())
        def example(drawn: tuple[Endpoint, Call, int]) -> None:
            endpoint, whole, cut = drawn
            message, procedure = whole.message, whole.procedure
            xid, header = whole.xid, header_length(message)
            steps = [
                f"{endpoint}: a {named(procedure)} call (XID {xid:#x}) of {len(message)} bytes, "
                f"cut to {cut} ({'inside its header' if cut < header else 'inside its arguments'})"
            ]
            why = (
                undecodable(message[header:cut], endpoint.service.bound) if cut >= header else None
            )
            due = [xid] if why is not None else []
            answer = fuzz.send(endpoint, message[:cut], due)
            fuzz.check_replies(endpoint, answer, {xid} if cut >= 8 else set(), steps)
            if why is not None:
                garbage_args(procedure, why).judge(endpoint, answer, xid, steps)
            elif 8 <= cut < header:
                for reply in answer.to(xid):
                    header_of = msg.parse_reply(reply)
                    if header_of.accepted and header_of.stat == msg.SUCCESS:
                        findings.current().fail(
                            rules.CUT_HEADER,
                            f"a call cut inside its header ({endpoint}): answered "
                            f"{describe(reply, endpoint.service)}",
                            steps,
                        )
            fuzz.check_alive(steps)

        example()


@check("FUZZ-GARBAGE-ARGS", "arguments that do not decode get GARBAGE_ARGS", "RFC 5531 §8.1, §9")
def test_garbage_arguments(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @st.composite
        def garbage(draw: st.DrawFn) -> tuple[Endpoint, bytes]:
            endpoint = draw(st.sampled_from(fuzz.endpoints()))
            return endpoint, draw(opaque_arguments(endpoint.service.bound))

        @examples(30)
        @given(garbage())
        def example(drawn: tuple[Endpoint, bytes]) -> None:
            endpoint, args = drawn
            procedure = endpoint.service.probe
            message = call(procedure, args, FUZZ_ROOT)
            xid = xid_of(message)
            why = undecodable(args, endpoint.service.bound)
            steps = [
                f"{endpoint}: a {named(procedure)} call (XID {xid:#x}) whose arguments are "
                f"{shown(args)}{f' ({why})' if why else ''}"
            ]
            answer = fuzz.send(endpoint, message, [xid])
            fuzz.check_replies(endpoint, answer, {xid}, steps)
            if why is not None:
                garbage_args(procedure, why).judge(endpoint, answer, xid, steps)
            fuzz.check_alive(steps)

        example()


def bad_credentials() -> st.SearchStrategy[tuple[int, bytes]]:
    """(flavor, body): AUTH_SYS bodies, most of them broken, or longer than 400 bytes; or
    a flavor no server knows (above AUTH_TLS, 7) with any body."""
    return st.one_of(
        st.tuples(st.just(1), auth_sys_bodies()),
        st.tuples(st.just(1), st.binary(min_size=msg.MAX_AUTH_BYTES + 1, max_size=420)),
        st.tuples(st.integers(8, 2**32 - 1), st.binary(max_size=420)),
    )


@check("FUZZ-BADCRED", "credentials that do not decode get AUTH_BADCRED", "RFC 5531 §8.2, §9")
def test_bad_credentials(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @examples(30)
        @given(st.sampled_from(fuzz.endpoints()), bad_credentials())
        def example(endpoint: Endpoint, credential: tuple[int, bytes]) -> None:
            flavor, body = credential
            procedure = endpoint.service.probe
            args = endpoint.service.encode_probe(b"nfsprop-fuzz")
            message = call(procedure, args, opaque_auth(flavor, body))
            xid = xid_of(message)
            flavor_name = "AUTH_SYS" if flavor == 1 else f"the unknown flavor {flavor}"
            steps = [
                f"{endpoint}: a {named(procedure)} call (XID {xid:#x}) with a credential of "
                f"{flavor_name} and a body of {shown(body)}"
            ]
            answer = fuzz.send(endpoint, message, [xid])
            fuzz.check_replies(endpoint, answer, {xid}, steps)
            why = credential_fault(flavor, body)
            if why is not None:
                badcred_refusal(why).judge(endpoint, answer, xid, steps)
            fuzz.check_alive(steps)

        example()


@check(
    "FUZZ-HEADER",
    "calls of an RPC version, program, version or procedure not served are refused",
    "RFC 5531 §8.1, §9",
)
def test_calls_the_server_does_not_serve(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @st.composite
        def faults(draw: st.DrawFn) -> tuple[Endpoint, HeaderFault]:
            endpoint = draw(st.sampled_from(fuzz.endpoints()))
            return endpoint, draw(header_faults(endpoint.service))

        @examples(30)
        @given(faults())
        def example(drawn: tuple[Endpoint, HeaderFault]) -> None:
            endpoint, fault = drawn
            xid = next_xid()
            refusal = fault.refusal(endpoint.service)
            steps = [f"{endpoint}: {refusal.case} (XID {xid:#x})"]
            answer = fuzz.send(endpoint, fault.message(endpoint.service, xid), [xid])
            fuzz.check_replies(endpoint, answer, {xid}, steps)
            refusal.judge(endpoint, answer, xid, steps)
            fuzz.check_alive(steps)

        example()


@check(
    "FUZZ-FRAGMENTS",
    "calls in many fragments, cut across TCP segments, are all answered",
    "RFC 5531 §11",
)
def test_fragmented_and_segmented_calls(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @st.composite
        def fragmented(
            draw: st.DrawFn,
        ) -> tuple[Endpoint, list[Call], list[list[int]], list[bytes]]:
            endpoint = draw(st.sampled_from(fuzz.endpoints("tcp")))
            calls = draw(st.lists(services_calls(endpoint.service), min_size=1, max_size=4))
            sizes = [draw(fragment_sizes(len(c.message))) for c in calls]
            stream = b"".join(
                frame_fragments(c.message, s) for c, s in zip(calls, sizes, strict=True)
            )
            return endpoint, calls, sizes, draw(segmented(stream))

        @examples(20)
        @given(fragmented())
        def example(drawn: tuple[Endpoint, list[Call], list[list[int]], list[bytes]]) -> None:
            endpoint, calls, sizes, segments = drawn
            xids = [c.xid for c in calls]
            steps = [
                f"{endpoint}: call {n} (XID {x:#x}) in fragments of {' + '.join(map(str, s))} bytes"
                for n, (x, s) in enumerate(zip(xids, sizes, strict=True), 1)
            ]
            steps.append(
                f"the stream of {sum(map(len, segments))} bytes in segments of {sizes_of(segments)}"
            )
            answer = fuzz.stream(endpoint, segments, xids)
            fuzz.check_replies(endpoint, answer, set(xids), steps)
            missing = [x for x in xids if not answer.to(x)]
            if missing:
                unanswered = ", ".join(f"{x:#x}" for x in missing)
                findings.current().fail(
                    rules.FRAGMENTS,
                    f"{endpoint}: the calls with XID {unanswered} got {answer.silence()}",
                    steps,
                )
            fuzz.check_alive(steps)

        example()


@check("FUZZ-OVERSIZE", "an oversize record never takes the server down", "RFC 5531 §11")
def test_oversize_records(target_factory: TargetFactory, world: str) -> None:
    with fuzzing(target_factory, world) as fuzz:

        @examples(10)
        @given(
            st.sampled_from(fuzz.endpoints("tcp")),
            st.lists(st.integers(0, 2000), max_size=3),
            st.integers(1 << 24, 0x7FFF_FFFF),
            st.binary(max_size=64),
        )
        def example(endpoint: Endpoint, earlier: list[int], final: int, body: bytes) -> None:
            stream = b"".join(struct.pack(">I", size) + bytes(size) for size in earlier)
            stream += struct.pack(">I", 0x8000_0000 | final) + body
            steps = [
                f"{endpoint}: fragments of {earlier} zero bytes, then a last fragment "
                f"announcing {final} bytes and sending {len(body)}"
            ]
            fuzz.check_replies(endpoint, fuzz.stream(endpoint, [stream]), set(), steps)
            fuzz.check_alive(steps)

        example()


@check("FUZZ-RESET", "a connection the client resets never takes the server down", "RFC 5531 §11")
def test_reset_connections(target_factory: TargetFactory, world: str) -> None:
    """The one test that resets connections (go-nfs is said to die of it; here its server
    is restarted before the failure, so later tests meet a live one)."""
    with fuzzing(target_factory, world) as fuzz:

        @st.composite
        def resets(draw: st.DrawFn) -> tuple[Endpoint, list[bytes], int, int]:
            endpoint = draw(st.sampled_from(fuzz.endpoints("tcp")))
            records = [
                frame(c.message)
                for c in draw(st.lists(services_calls(endpoint.service), max_size=3))
            ]
            cut = draw(st.integers(0, sum(map(len, records))))
            whole = sum(1 for end in itertools.accumulate(map(len, records)) if end <= cut)
            return endpoint, records, cut, draw(st.integers(0, whole))

        @examples(10)
        @given(resets())
        def example(drawn: tuple[Endpoint, list[bytes], int, int]) -> None:
            endpoint, records, cut, read_replies = drawn
            steps = [
                f"{endpoint}: {cut} bytes of {len(records)} call records, {read_replies} "
                "replies read, then an RST"
            ]
            fuzz.reset(endpoint, b"".join(records)[:cut], read_replies)
            fuzz.check_alive(steps, rules.DEAD_AFTER_RESET)

        example()
