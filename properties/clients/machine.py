"""The several-clients state machine: clients c1, c2 and c3 of one server, their XIDs
colliding on every call, each reply judged against the model.

Rules:
- One machine drives one Target, made by the world's target factory with the example's
  fault source (`data.fault_source()`, or NoFaults when the config has no fault rates).
  The `start` step MNTs the export (empty) and CREATEs the shared file through the
  target's own caller; the target is client c1, `another_client()` gives c2 and c3, each
  with an address of its own (properties/worlds/target.py).
- Colliding XIDs: the clients number their calls with one sequence of XIDs (the k-th call
  of every client carries the k-th XID, taken from `target.next_xid()` when the first
  client gets that far), so each call collides with a call of every other client that
  got as far, and none with anything the target sent before (a shared server's cache
  lives across examples).
- Every call is raw (`send_raw`, as a client sends it) and, with config.duplicates, each
  non-idempotent one (all but READ) is sent twice with its XID: the second copy must get
  the first copy's reply (AT-MOST-ONCE), and the model applies the call once (a READ
  run twice may answer other attributes, as the RFC allows). The worlds without a
  duplicate request cache run without duplicates (a copy would run twice, as the RFC
  allows them).
- Rules: `make` is CREATE GUARDED or MKDIR of a name, `remove` is REMOVE (RMDIR for a
  directory) of one: names of the client's own ("c2-a", "c2-b") or the one name all
  share ("s"), all in the export's root; `write` writes FILE_SYNC, at a small offset of
  the shared file, contents that name the writer ("c2#7"); `read` reads the whole shared
  file (a short READ that does not claim eof is allowed: its bytes must begin the
  file's). No rule has a precondition, so shrinking stays effective. What each must
  answer comes from the model (properties/clients/model.py); how a wrong answer is
  judged, from properties/clients/rules.py: the replies every client got, by XID, tell
  another client's reply from a wrong one.
- A name a call made is looked up (through the target's caller): it must name the
  object the reply named (its fileid), and no other live name may have that fileid.
- The ClientsConfig is an input (frozen, JSON in replay files); the runs' step logs go to
  a RunLog, and every step is recorded (properties/harness/steps.py), so a failure leaves
  a replay file `nfsprop replay` runs again (the family CLIENTS, kind "clients").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, Self, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from faults.sim import FaultRates, NoFaults
from properties.clients import rules
from properties.clients.model import ClientsModel, Write
from properties.harness import findings
from properties.harness.findings import STEP_COLUMNS, Rule, StepLog
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome
from properties.harness.steps import Draws, RecordedMachine, RunLog, StepEnded, recorded
from properties.nfs3 import rules as nfs3_rules
from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import (
    CREATE,
    GETATTR,
    LOOKUP,
    MKDIR,
    NON_IDEMPOTENT,
    READ,
    REMOVE,
    RMDIR,
    WRITE,
    RawReplyError,
    decode_reply,
    raw_call,
    sattr,
)
from properties.worlds.target import RawClient, Target, TargetFactory
from reference.rpc.stubs import Caller, Procedure
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    FILE_SYNC,
    GUARDED,
    NFS3_OK,
    NFS3ERR_EXIST,
    NFS3ERR_NOENT,
    CREATE3args,
    CREATE3res,
    GETATTR3args,
    LOOKUP3args,
    MKDIR3args,
    MKDIR3res,
    READ3args,
    REMOVE3args,
    REMOVE3res,
    RMDIR3args,
    RMDIR3res,
    WRITE3args,
    createhow3,
    diropargs3,
    nfs_fh3,
    nfsstat3,
    post_op_attr,
)

A = TypeVar("A")
R = TypeVar("R")

CLIENT_NAMES = ("c1", "c2", "c3")
CLIENT = st.sampled_from(CLIENT_NAMES)
SHARED = "s"  # the one name every client makes and removes; the others are its own
NAME = st.sampled_from((SHARED, "a", "b"))
OFFSETS = st.sampled_from((0, 2, 5))
SHARED_FILE = b"shared-file"
READ_COUNT = 64  # more than the shared file ever holds: a READ reads it whole
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.1)
# what a call's status may plainly be; any other error is REFUSED
PLAIN = frozenset({NFS3_OK, NFS3ERR_EXIST, NFS3ERR_NOENT})


@dataclass(frozen=True)
class ClientsConfig:
    """What a machine runs (an input: frozen, and JSON in replay files); the world's target
    factory and the run log are given beside it (clients_machine_class)."""

    drc: bool = True
    rates: FaultRates | None = None  # None: no network faults (the target gets NoFaults)
    duplicates: bool = True  # every call sent twice with its XID

    def to_json(self) -> dict[str, Any]:
        return {
            "drc": self.drc,
            "rates": None if self.rates is None else dataclasses.asdict(self.rates),
            "duplicates": self.duplicates,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError or KeyError if `body` does not describe one."""
        drc, duplicates, rates = body["drc"], body["duplicates"], body["rates"]
        if not (isinstance(drc, bool) and isinstance(duplicates, bool)):
            raise TypeError("drc and duplicates must be true or false")
        return cls(drc, None if rates is None else FaultRates(**rates), duplicates)


@dataclass(frozen=True)
class Seen:
    """A reply a client got: to which of its calls, and its bytes (the first copy's)."""

    client: str
    call: str
    reply: bytes


def clients_machine_class(
    config: ClientsConfig, make_target: TargetFactory, log: RunLog | None = None
) -> type[ClientsMachine]:
    """A machine class bound to `config`, reaching its target through `make_target` and
    logging its runs to `log` (run it with run_state_machine_as_test)."""

    class ConfiguredClientsMachine(ClientsMachine):  # a class statement: Hypothesis
        pass  # derandomizes by the machine class's source, so its examples stay the same

    ConfiguredClientsMachine.config = config
    ConfiguredClientsMachine.make_target = staticmethod(make_target)
    ConfiguredClientsMachine.run_log = RunLog() if log is None else log
    return ConfiguredClientsMachine


def run_clients_machine(
    config: ClientsConfig,
    make_target: TargetFactory,
    configured: settings,
    context: RunContext | None = None,
    log: RunLog | None = None,
    directory: Path | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file (run_recorded_machine)."""
    log = RunLog() if log is None else log
    machine = clients_machine_class(config, make_target, log)
    run_recorded_machine(machine, configured, CLIENTS, config, log, context, directory)


class ClientsMachine(StepLog, RecordedMachine):
    config: ClassVar[ClientsConfig]
    make_target: ClassVar[TargetFactory]
    run_log: ClassVar[RunLog]

    def __init__(self) -> None:
        super().__init__()
        self.run_log.latest = self.record
        self.log: list[str] = []
        self.run_log.logs.append(self.log)
        self.model = ClientsModel()
        self.clients: dict[str, RawClient] = {}
        self.calls = dict.fromkeys(CLIENT_NAMES, 0)  # each client's calls so far
        self.xids: list[int] = []  # the k-th call of every client carries the k-th
        self.seen: dict[int, list[Seen]] = {}  # by XID: the replies every client got
        self.writes = 0
        self.client, self.xid = CLIENT_NAMES[0], 0  # the running call's
        self.root = nfs_fh3(b"")
        self.shared_file = nfs_fh3(b"")
        self._target: Target | None = None

    @property
    def target(self) -> Target:
        assert self._target is not None, "the start step has not run"
        return self._target

    # -- the start --

    @initialize(data=st.data())
    @recorded
    def start(self, data: Draws) -> None:
        config = self.config
        faults = NoFaults() if config.rates is None else data.fault_source()
        self._target = target = self.make_target(faults, config.drc, config.rates)
        self.record.world = target.sim
        self.record.wire = target.wire
        mounted = target.run(MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export))
        if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
            self._fail(
                nfs3_rules.MNT, f"MNT {target.export!r} answered {mounted.fhs_status.name}", True
            )
        self.root = nfs_fh3(mounted.mountinfo.fhandle)
        how = createhow3(GUARDED, sattr())
        made = target.run(
            target.caller.call(CREATE, CREATE3args(diropargs3(self.root, SHARED_FILE), how))
        )
        handle = None if made.resok is None else made.resok.obj.handle
        if handle is None:
            self._fail(
                nfs3_rules.refused("CREATE"),
                f"CREATE of the shared file answered {status_name(made.status)} (or no handle)",
                True,
            )
        self.shared_file = handle
        self.clients = {CLIENT_NAMES[0]: target}
        for client in CLIENT_NAMES[1:]:
            self.clients[client] = target.another_client()

    def teardown(self) -> None:
        if self._target is not None:
            self._target.close()

    # -- the rules --

    @rule(client=CLIENT, which=NAME, directory=st.booleans())
    @recorded
    def make(self, client: str, which: str, directory: bool) -> None:
        name = self._name(client, which)
        expected = self.model.make(name)
        where = diropargs3(self.root, name)
        made: Sent[MKDIR3res] | Sent[CREATE3res]
        if directory:
            made = self._send(client, MKDIR, MKDIR3args(where, sattr()), f"MKDIR {name.decode()}")
        else:
            args = CREATE3args(where, createhow3(GUARDED, sattr()))
            made = self._send(client, CREATE, args, f"CREATE {name.decode()}")
        self._status(made.reply, expected, made.result.status)
        resok = made.result.resok
        if resok is not None:
            fileid = self._identify(made.reply, name, resok.obj_attributes)
            self.model.made(name, directory, client, fileid)

    @rule(client=CLIENT, which=NAME)
    @recorded
    def remove(self, client: str, which: str) -> None:
        name = self._name(client, which)
        directory, expected = self.model.remove(name)
        where = diropargs3(self.root, name)
        gone: Sent[RMDIR3res] | Sent[REMOVE3res]
        if directory:
            gone = self._send(client, RMDIR, RMDIR3args(where), f"RMDIR {name.decode()}")
        else:
            gone = self._send(client, REMOVE, REMOVE3args(where), f"REMOVE {name.decode()}")
        self._status(gone.reply, expected, gone.result.status)
        if gone.result.status == NFS3_OK:
            self.model.removed(name)

    @rule(client=CLIENT, offset=OFFSETS)
    @recorded
    def write(self, client: str, offset: int) -> None:
        self.writes += 1
        data = f"{client}#{self.writes}".encode()
        args = WRITE3args(self.shared_file, offset, len(data), FILE_SYNC, data)
        sent = self._send(client, WRITE, args, f"WRITE {data!r} at {offset} FILE_SYNC")
        self._status(sent.reply, NFS3_OK, sent.result.status)
        resok = sent.result.resok
        assert resok is not None
        if resok.count > len(data):
            self._judge(
                sent.reply, rules.REPLY, f"WRITE of {len(data)} bytes answered count {resok.count}"
            )
        if resok.committed != FILE_SYNC:
            self._judge(
                sent.reply,
                rules.FILE_SYNC,
                f"WRITE FILE_SYNC answered committed {resok.committed.name}",
            )
        self.model.written(Write(client, offset, data[: resok.count]))

    @rule(client=CLIENT)
    @recorded
    def read(self, client: str) -> None:
        sent = self._send(client, READ, READ3args(self.shared_file, 0, READ_COUNT), "READ")
        self._status(sent.reply, NFS3_OK, sent.result.status)
        resok = sent.result.resok
        assert resok is not None
        expected = bytes(self.model.contents)
        self._outcome(repr(expected), repr(resok.data))
        short = not resok.eof and expected.startswith(resok.data)  # allowed: eof says so
        if resok.data != expected and not short:
            self._fail(
                rules.FILE_SYNC,
                f"{client} READ the shared file as {resok.data!r}, but the FILE_SYNC writes "
                f"that returned ({self.model.history()}) make it {expected!r}"
                + self._copy_of_another(sent.reply),
            )

    # -- calls --

    def _name(self, client: str, which: str) -> bytes:
        return SHARED.encode() if which == SHARED else f"{client}-{which}".encode()

    def _send(self, client: str, procedure: Procedure[A, R], args: A, call: str) -> Sent[R]:
        """One call of `client`, raw, with its next XID (a non-idempotent one twice, with
        config.duplicates)."""
        target = self.target
        number = self.calls[client]
        self.calls[client] += 1
        if number == len(self.xids):
            self.xids.append(target.next_xid())
        xid = self.xids[number]
        self._step(f"{client} {call} xid {xid:#x}")
        message = raw_call(xid, procedure, args, target.credential)
        sender = self.clients[client]
        copies = 2 if self.config.duplicates and procedure in NON_IDEMPOTENT else 1
        replies = [target.run(sender.send_raw(message)) for _ in range(copies)]
        first = replies[0]
        if first is None or None in replies:
            self._fail(nfs3_rules.RAW_NO_REPLY, f"{call}: no reply to xid {xid:#x}", True)
        self.xid, self.client = xid, client
        for reply in replies[1:]:
            if reply != first:
                assert reply is not None
                self._judge(
                    reply,
                    nfs3_rules.AT_MOST_ONCE,
                    f"{call} sent again with xid {xid:#x} got another reply than the first",
                )
        self.seen.setdefault(xid, []).append(Seen(client, call, first))
        try:
            return Sent(first, decode_reply(procedure, first))
        except RawReplyError as error:
            self._outcome("an NFSv3 reply", str(error).split(": ", 1)[-1])
            findings.current().warn(rules.REFUSED, f"{error} (on {target.name})", self.log)
            raise StepEnded(rest_of_run=True) from None

    def _status(self, reply: bytes, expected: nfsstat3, got: nfsstat3) -> None:
        """The running call's status must be `expected`; another error is REFUSED."""
        self._outcome(status_name(expected), status_name(got))
        if got == expected:
            return
        if got not in PLAIN and not self._copy_of_another(reply):
            findings.current().warn(
                rules.REFUSED,
                f"{self._call_of()} answered {status_name(got)} where the calls "
                f"before it make {status_name(expected)} (on {self.target.name})",
                self.log,
            )
            raise StepEnded
        self._judge(
            reply,
            rules.REPLY,
            f"{self._call_of()} answered {status_name(got)}, but the calls before it make "
            f"{status_name(expected)}",
        )

    def _identify(self, reply: bytes, name: bytes, attributes: post_op_attr) -> int:
        """The fileid of the object the running call made as `name`, which LOOKUP must name
        and no other live name may have."""
        target = self.target
        found = target.run(target.caller.call(LOOKUP, LOOKUP3args(diropargs3(self.root, name))))
        if found.status != NFS3_OK or found.resok is None:
            self._judge(
                reply,
                rules.IDENTITY,
                f"{self._call_of()} answered NFS3_OK, but LOOKUP {name!r} then answered "
                f"{status_name(found.status)}",
            )
        fileid = self._fileid(target.caller, found.resok.object, found.resok.obj_attributes)
        said = attributes.attributes.fileid if attributes.attributes is not None else None
        if said is not None and said != fileid:
            self._judge(
                reply,
                rules.IDENTITY,
                f"{self._call_of()} answered fileid {said}, but LOOKUP {name!r} names fileid "
                f"{fileid}",
            )
        other = self.model.owner_of(fileid)
        if other is not None:
            self._judge(
                reply,
                rules.IDENTITY,
                f"{self._call_of()} made {name!r} with fileid {fileid}, which live {other!r} has",
            )
        return fileid

    def _fileid(self, caller: Caller, handle: nfs_fh3, attributes: post_op_attr) -> int:
        if attributes.attributes is not None:
            return attributes.attributes.fileid
        got = self.target.run(caller.call(GETATTR, GETATTR3args(handle)))
        if got.status != NFS3_OK or got.resok is None:
            self._fail(
                nfs3_rules.refused("GETATTR"),
                f"GETATTR of the handle LOOKUP returned answered {status_name(got.status)}",
                True,
            )
        return got.resok.obj_attributes.fileid

    # -- findings --

    def _call_of(self) -> str:
        """The running call, as its step says it."""
        return self.log[-1].split(STEP_COLUMNS)[0] if self.log else "?"

    def _copy_of_another(self, reply: bytes) -> str:
        """How `reply` to the running call is another client's to the same XID, or ""."""
        for seen in self.seen.get(self.xid, []):
            if seen.client != self.client and seen.reply == reply:
                return (
                    f"; it is byte for byte the reply {seen.client} got to its {seen.call} "
                    f"with the same XID {self.xid:#x}: another client's reply"
                )
        return ""

    def _judge(self, reply: bytes, rule: Rule, message: str) -> NoReturn:
        """FAIL the running call: OWN-REPLY if `reply` is another client's, else `rule`."""
        another = self._copy_of_another(reply)
        self._fail(rules.OWN_REPLY if another else rule, message + another, diverged=True)

    def _fail(self, rule: Rule, message: str, diverged: bool = False) -> NoReturn:
        """A FAIL finding; KNOWN (the world's baseline lists it) ends the step, or the run
        when the model may no longer follow the server (`diverged`)."""
        first, *detail = message.split("\n", 1)
        shown = "\n".join([f"{first} (on {self.target.name})", *detail])
        findings.current().fail(rule, shown, self.log)
        raise StepEnded(rest_of_run=diverged)


@dataclass(frozen=True)
class Sent(Generic[R]):
    """A call's first reply, raw and decoded."""

    reply: bytes
    result: R


def replay_clients(replay: ReplayFile, config: ClientsConfig) -> ReplayOutcome:
    """A fresh machine of the recorded config driven through the recorded steps, against a
    fresh target of the recorded world (properties/worlds/replay.py)."""
    from properties.worlds.replay import replay_in_world

    def machine(targets: TargetFactory) -> ClientsMachine:
        return clients_machine_class(config, targets)()

    return replay_in_world(replay, config.drc, machine)


CLIENTS = Family("clients", ClientsConfig, replay_clients, any_world=True, recorded_steps=True)
