"""The NFSv2 server state machine: random operation sequences over NFSv2, each reply judged
by the NFSv3 model file system.

Rules:
- One machine drives one Target, made by the world's target factory with the example's
  fault source (NoFaults when the config has no fault rates). The `mount` step MNTs the
  export with MOUNT v1 (a 32-byte handle, or NFS2-MNT fails); every rule then makes one
  NFSv2 call and applies the same operation to the model (properties.nfs3.model). Its
  plans speak NFSv3: a v2 status is read as the v3 statuses it may stand for
  (properties/nfs2/wire.py `readings`), the best judged one wins.
- Transports: in the simulation every message is a datagram, through the target's
  hard-mounted caller. On real sockets, config.transport "udp" sends every call as a raw
  message over UDP (`Target.send_raw`: resent with its XID until answered, as a UDP
  client does; the world's server must serve UDP) and "tcp" goes through the target's
  TCP caller.
- Names come from a small alphabet (a, b, c, d) so that they collide, plus '.', '..' and
  ''. Objects are drawn from the model, live ones mostly, removed ones sometimes: a
  removed object's handle must answer NFSERR_STALE (or, as the model allows with a
  WARN, still answer as that object until its inode is reused), never as another object.
- Identity and attributes: one object shows one fileid, two live objects never share one;
  every fattr shows the model's type, link count (a directory's only WARNs), size (files)
  and mode. Times are not checked here (the NFSv3 family's times.py does that for v3).
- CREATE over an existing regular file may answer NFS_OK (keeping its data: the model's
  UNCHECKED create) or NFSERR_EXIST: RFC 1094 §2.2.10 leaves it to the server. SYMLINK
  and LINK answer only a status: the new object's handle comes from a LOOKUP.
- WRITE is synchronous in NFSv2 (RFC 1094 §2.2.9): the model makes every acknowledged
  write durable. With config.crashes (where the target can crash its server) the `crash`
  rule restarts the server; every live handle must still answer, every file hold exactly
  what was written.
- With config.retransmit every non-idempotent call is sent twice with one XID
  (properties/nfs3/wire.py `same_xid_replies`); the replies must be byte-identical
  (NFS2-AT-MOST-ONCE) and the model applies the call once.
- The teardown of a run whose steps all finished lists every live directory and reads
  every live file and symlink back.
- Every step is recorded (properties/harness/steps.py): `run_nfs2_machine` leaves a
  replay file of the last (shrunk) run, which `nfsprop replay` runs again (the family
  NFS2_SERVER, kind "nfs2").
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.errors import StopTest
from hypothesis.stateful import initialize, invariant, precondition, rule

from faults.sim import FaultRates, NoFaults
from properties.harness import findings
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome
from properties.harness.steps import Codec, Draws, RunLog, recorded
from properties.nfs2 import rules
from properties.nfs2.wire import (
    CREATE,
    GETATTR,
    LINK,
    LOOKUP,
    MKDIR,
    NON_IDEMPOTENT,
    READ,
    READDIR,
    READLINK,
    REMOVE,
    RENAME,
    RMDIR,
    SETATTR,
    SYMLINK,
    WRITE,
    mount_v1,
    readings,
    sattr2,
)
from properties.nfs3 import rules as nfs3_rules
from properties.nfs3.model import (
    ROOT_ID,
    CreateHow,
    Directory,
    ObjectId,
    Plan,
    RegularFile,
    Symlink,
    Verdict,
)
from properties.nfs3.model.verdict import Judgement
from properties.nfs3.model_machine import MachineRules, ModelMachine, configured_class, payload
from properties.nfs3.wire import RawReplyError, decode_reply, raw_call
from properties.worlds.target import TargetFactory
from reference.rpc.errors import RpcAcceptError, RpcDenied, RpcGarbageReply
from reference.rpc.stubs import Procedure
from reference.xdr.gen.nfs2 import (
    FHSIZE,
    createargs,
    diropargs,
    fattr,
    linkargs,
    readargs,
    readdirargs,
    renameargs,
    sattrargs,
    stat,
    symlinkargs,
    writeargs,
)
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_EXIST, UNCHECKED, nfsstat3

A = TypeVar("A")
R = TypeVar("R")
T = TypeVar("T")

Transport = Literal["udp", "tcp"]
NAMES = (b"a", b"b", b"c", b"d")
NAME = st.sampled_from(NAMES * 6 + (b".", b"..", b""))
SYMLINK_TARGETS = (b"a", b"../b", b"long/" * 20)
OFFSETS = st.integers(0, 9000)
LENGTHS = st.integers(1, 3000)
READ_COUNTS = st.integers(0, 8192)
SIZES = st.sampled_from((0, 1, 4096, 5000)) | st.integers(0, 10_000)
MODES = st.integers(0, 0o77).map(lambda low: 0o700 | low)  # the owner keeps rwx
READDIR_COUNTS = st.sampled_from((256, 1024, 8192))
MAX_READDIR_CALLS = 64
CHUNK = 8192  # NFSv2's MAXDATA
DOTS = (b".", b"..")
FIRST_COOKIE = bytes(4)
# the model's rules about handles, which NFSv2 states in RFC 1094 §2.3.3
HANDLE_RULES = frozenset(
    {nfs3_rules.STALE, nfs3_rules.LIVE_STALE, nfs3_rules.HANDLE_MOVED, nfs3_rules.STALE_REUSED}
)
# a status NFSv2 CREATE may answer over an existing file: RFC 1094 §2.2.10 leaves it open
CREATE_OVER_A_FILE = Judgement(
    Verdict.PASS, "RFC 1094 leaves CREATE of an existing name to the server", nfs3_rules.EXIST
)
_RANK = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


@dataclass(frozen=True)
class Nfs2Config:
    """Which checks a machine runs (an input: frozen, and JSON in replay files)."""

    drc: bool = True
    rates: FaultRates | None = None  # None: no network faults (the target gets NoFaults)
    transport: Transport = "udp"
    retransmit: bool = False
    crashes: bool = False

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["rates"] = None if self.rates is None else dataclasses.asdict(self.rates)
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError, ValueError or KeyError if `body` does
        not describe one."""
        flags = [body[name] for name in ("drc", "retransmit", "crashes")]
        if not all(isinstance(flag, bool) for flag in flags):
            raise TypeError("drc, retransmit and crashes must be true or false")
        if body["transport"] not in ("udp", "tcp"):
            raise ValueError(f"transport must be udp or tcp, not {body['transport']!r}")
        rates = body["rates"]
        return cls(
            drc=body["drc"],
            rates=None if rates is None else FaultRates(**rates),
            transport=body["transport"],
            retransmit=body["retransmit"],
            crashes=body["crashes"],
        )


def machine_class(
    config: Nfs2Config, make_target: TargetFactory, log: RunLog | None = None
) -> type[Nfs2Machine]:
    """A machine class bound to `config` (model_machine.configured_class)."""
    return configured_class(Nfs2Machine, RULE_SETS, config, make_target, log)


def run_nfs2_machine(
    config: Nfs2Config,
    make_target: TargetFactory,
    configured: settings,
    context: RunContext | None = None,
    log: RunLog | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file."""
    log = RunLog() if log is None else log
    machine = machine_class(config, make_target, log)
    run_recorded_machine(machine, configured, NFS2_SERVER, config, log, context)


class Nfs2Machine(ModelMachine):
    config: ClassVar[Nfs2Config]
    codec = Codec(())
    machine_rules = MachineRules(
        rules.FILEID, rules.STALENESS, rules.AT_MOST_ONCE, rules.RAW_NO_REPLY
    )
    shown_protocol = ", NFSv2"

    @invariant()
    def step_finished(self) -> None:
        self.unfinished = None

    def _call(self, procedure: Procedure[A, R], args: A) -> R:
        target = self.target
        try:
            if target.sim is not None or self.config.transport == "tcp":
                return target.run(target.caller.call(procedure, args))
            call = raw_call(target.next_xid(), procedure, args, target.credential)
            return decode_reply(procedure, target.run(target.send_raw(call)))
        except (RpcAcceptError, RpcDenied, RpcGarbageReply, RawReplyError) as answer:
            name = procedure.name.removeprefix("NFSPROC_")
            self._outcome("an NFSv2 reply", str(answer).split(":", 1)[0])
            self._fail(rules.RPC_ANSWER, f"{name}: {answer}", diverged=True)

    def _settle(self, plan: Plan[T], status: int) -> T | None:
        """Judge the v2 `status` against the v3 `plan` (see the module rules) and apply it."""
        candidates = [code for code in readings(status) if code in plan.allowed]
        read_as = min(
            candidates, key=lambda code: _RANK[plan.allowed[nfsstat3(code)].verdict], default=status
        )
        allowed = [s for s, j in sorted(plan.allowed.items()) if j.verdict is not Verdict.FAIL]
        self._outcome(", ".join(s.name for s in allowed) + " (as v3)", _v2_name(status))
        judgement = plan.judge(read_as)
        model_rule = judgement.rule or plan.broken_rule(read_as)
        rule = rules.STALENESS if model_rule in HANDLE_RULES else rules.STATUS
        why = f"{judgement.reason} [the model's {model_rule.code}; v2 answered {_v2_name(status)}]"
        if judgement.verdict is Verdict.FAIL:
            self._fail(rule, why, diverged=read_as == NFS3_OK)
        if judgement.verdict is Verdict.WARN:
            findings.current().warn(rule, why, self.log)
        return plan.settle(read_as)

    def _where(self, directory: ObjectId, name: bytes) -> diropargs:
        return diropargs(self.handles[directory], name)

    # -- identity and attributes --

    def _check_attributes(self, object_id: ObjectId, attributes: fattr, where: str) -> None:
        obj = self.model[object_id]
        what = f"{where}: {self.model.describe(object_id)}"
        if int(attributes.type) != int(obj.type):
            self._fail(
                self._of(object_id, rules.ATTRIBUTES), f"{what} has type {attributes.type.name}"
            )
        self._check_fileid(object_id, attributes.fileid, where)
        nlink = self.model.nlink(obj)
        if attributes.nlink != nlink and not isinstance(obj, Directory):
            self._fail(
                self._of(object_id, rules.ATTRIBUTES),
                f"{what} nlink {attributes.nlink}, not {nlink}",
            )
        if isinstance(obj, RegularFile) and attributes.size != obj.content.size:
            self._fail(
                self._of(object_id, rules.ATTRIBUTES),
                f"{what} size {attributes.size}, not {obj.content.size}",
            )
        if obj.mode is not None and attributes.mode & 0o7777 != obj.mode:
            self._fail(
                self._of(object_id, rules.ATTRIBUTES),
                f"{what} mode {attributes.mode & 0o7777:o}, not {obj.mode:o}",
            )

    def _adopt(
        self, object_id: ObjectId, handle: bytes, attributes: fattr | None, where: str
    ) -> None:
        """Keep the handle of an object a call answered, and check its attributes."""
        if len(handle) != FHSIZE:
            self._fail(rules.ATTRIBUTES, f"{where}: a handle of {len(handle)} bytes", diverged=True)
        self.handles.setdefault(object_id, handle)
        if attributes is not None:
            self._check_attributes(object_id, attributes, where)

    def _adopt_by_lookup(
        self, object_id: ObjectId, directory: ObjectId, name: bytes, where: str
    ) -> None:
        """The handle of an object a call made without answering it (SYMLINK, LINK)."""
        reply = self._call(LOOKUP, self._where(directory, name))
        if reply.status != stat.NFS_OK or reply.diropok is None:
            self._fail(
                rules.STATUS,
                f"{where} answered NFS_OK, then LOOKUP {name!r} answered {reply.status.name}",
                diverged=True,
            )
        self._adopt(object_id, reply.diropok.file, reply.diropok.attributes, where)

    # -- the start --

    @initialize(data=st.data())
    @recorded
    def mount(self, data: Draws) -> None:
        self.unfinished = "MNT"
        config = self.config
        faults = NoFaults() if config.rates is None else data.fault_source()
        self._target = target = self.make_target(faults, config.drc, config.rates)
        self.record.world = target.sim
        self.record.wire = target.wire
        mounted = target.run(mount_v1(target))
        handle = mounted.fhs_fhandle
        if mounted.fhs_status != 0 or handle is None or len(handle) != FHSIZE:
            self._fail(rules.MNT, f"MOUNT v1 MNT {target.export!r}: {mounted}", diverged=True)
        self.handles[ROOT_ID] = handle
        self._getattr(ROOT_ID)

    def teardown(self) -> None:
        if self._target is None:
            return
        stopped = isinstance(sys.exc_info()[1], StopTest)
        try:
            if self.unfinished is None and not stopped and not self.run_ended:
                self._step("check everything")
                for object_id in self.model.ids(alive=True):
                    self._check_object(object_id)
        finally:
            self._target.close()

    def _check_object(self, object_id: ObjectId) -> None:
        obj = self.model[object_id]
        if isinstance(obj, Directory):
            self._list(object_id, CHUNK)
        elif isinstance(obj, Symlink):
            self._readlink(object_id)
        else:
            assert isinstance(obj, RegularFile)
            for offset in range(0, max(obj.content.size, 1), CHUNK):
                self._read(object_id, offset, CHUNK)

    # -- attributes and names --

    def _getattr(self, object_id: ObjectId) -> None:
        plan = self.model.getattr(object_id)
        reply = self._call(GETATTR, self.handles[object_id])
        if self._settle(plan, reply.status) is not None:
            assert reply.attributes is not None
            self._check_attributes(object_id, reply.attributes, "GETATTR")

    @rule(data=st.data())
    @recorded
    def getattr(self, data: Draws) -> None:
        object_id = self._draw_object(data, "object")
        self._step(f"GETATTR {self.model.describe(object_id)}")
        self._getattr(object_id)

    @rule(data=st.data(), mode=st.none() | MODES, size=st.none() | SIZES)
    @recorded
    def setattr(self, data: Draws, mode: int | None, size: int | None) -> None:
        object_id = self._draw_object(data, "object", RegularFile)
        plan = self.model.setattr(object_id, mode, size)
        self._step(plan.operation)
        reply = self._call(SETATTR, sattrargs(self.handles[object_id], sattr2(mode, size)))
        self._settle(plan, reply.status)
        if reply.attributes is not None:
            self._check_attributes(object_id, reply.attributes, "SETATTR")

    @rule(data=st.data(), name=NAME)
    @recorded
    def lookup(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.lookup(directory, name)
        self._step(plan.operation)
        reply = self._call(LOOKUP, self._where(directory, name))
        found = self._settle(plan, reply.status)
        if found is not None:
            assert reply.diropok is not None
            self._adopt(found, reply.diropok.file, reply.diropok.attributes, f"LOOKUP {name!r}")

    @rule(data=st.data())
    @recorded
    def readlink(self, data: Draws) -> None:
        object_id = self._draw_object(data, "symlink", Symlink)
        self._step(f"READLINK {self.model.describe(object_id)}")
        self._readlink(object_id)

    def _readlink(self, object_id: ObjectId) -> None:
        plan = self.model.readlink(object_id)
        reply = self._call(READLINK, self.handles[object_id])
        expected = self._settle(plan, reply.status)
        if expected is not None and reply.data != expected:
            self._fail(rules.DATA, f"{plan.operation} answered {reply.data!r}, not {expected!r}")

    # -- creating --

    @rule(data=st.data(), name=NAME)
    @recorded
    def create(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.create(directory, name, CreateHow(UNCHECKED))
        entry = self._entry(directory, name)
        if entry is not None and isinstance(self.model[entry], RegularFile):
            plan.allowed.setdefault(NFS3ERR_EXIST, CREATE_OVER_A_FILE)
        self._step(plan.operation.replace(" UNCHECKED", ""))
        reply = self._call(CREATE, createargs(self._where(directory, name), sattr2()))
        created = self._settle(plan, reply.status)
        if created is not None:
            assert reply.diropok is not None
            self._adopt(created, reply.diropok.file, reply.diropok.attributes, "CREATE")

    @rule(data=st.data(), name=NAME, mode=MODES)
    @recorded
    def mkdir(self, data: Draws, name: bytes, mode: int) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.mkdir(directory, name, mode)
        self._step(plan.operation)
        reply = self._call(MKDIR, createargs(self._where(directory, name), sattr2(mode)))
        created = self._settle(plan, reply.status)
        if created is not None:
            assert reply.diropok is not None
            self._adopt(created, reply.diropok.file, reply.diropok.attributes, "MKDIR")

    @rule(data=st.data(), name=NAME, link_target=st.sampled_from(SYMLINK_TARGETS))
    @recorded
    def symlink(self, data: Draws, name: bytes, link_target: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.symlink(directory, name, link_target)
        self._step(plan.operation)
        args = symlinkargs(self._where(directory, name), link_target, sattr2())
        created = self._settle(plan, self._call(SYMLINK, args))
        if created is not None:
            self._adopt_by_lookup(created, directory, name, "SYMLINK")

    @rule(data=st.data(), name=NAME)
    @recorded
    def link(self, data: Draws, name: bytes) -> None:
        object_id = self._draw_object(data, "object", RegularFile)
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.link(object_id, directory, name)
        self._step(plan.operation)
        status = self._call(LINK, linkargs(self.handles[object_id], self._where(directory, name)))
        self._settle(plan, status)
        if status == stat.NFS_OK:
            self._adopt_by_lookup(object_id, directory, name, "LINK")

    # -- removing and renaming --

    @rule(data=st.data(), name=NAME)
    @recorded
    def remove(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.remove(directory, name)
        self._step(plan.operation)
        self._settle(plan, self._call(REMOVE, self._where(directory, name)))

    @rule(data=st.data(), name=NAME)
    @recorded
    def rmdir(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.rmdir(directory, name)
        self._step(plan.operation)
        self._settle(plan, self._call(RMDIR, self._where(directory, name)))

    @rule(data=st.data(), from_name=NAME, to_name=NAME)
    @recorded
    def rename(self, data: Draws, from_name: bytes, to_name: bytes) -> None:
        from_dir = self._draw_object(data, "from directory", Directory)
        to_dir = self._draw_object(data, "to directory", Directory)
        plan = self.model.rename(from_dir, from_name, to_dir, to_name)
        self._step(plan.operation)
        args = renameargs(self._where(from_dir, from_name), self._where(to_dir, to_name))
        self._settle(plan, self._call(RENAME, args))

    # -- file data --

    @rule(data=st.data(), offset=OFFSETS, length=LENGTHS, seed=st.integers(0, 255))
    @recorded
    def write(self, data: Draws, offset: int, length: int, seed: int) -> None:
        object_id = self._draw_object(data, "file", RegularFile)
        content = payload(seed, length)
        plan = self.model.write(object_id, offset, content, durable=True)
        self._step(plan.operation)
        reply = self._call(WRITE, writeargs(self.handles[object_id], 0, offset, 0, content))
        self._settle(plan, reply.status)
        if reply.attributes is not None:
            self._check_attributes(object_id, reply.attributes, "WRITE")

    @rule(data=st.data(), offset=OFFSETS, count=READ_COUNTS)
    @recorded
    def read(self, data: Draws, offset: int, count: int) -> None:
        object_id = self._draw_object(data, "file", RegularFile)
        self._step(f"READ {self.model.describe(object_id)} [{offset}, +{count})")
        self._read(object_id, offset, count)

    def _read(self, object_id: ObjectId, offset: int, count: int) -> None:
        plan = self.model.read(object_id, offset, count)
        reply = self._call(READ, readargs(self.handles[object_id], offset, count, 0))
        expected = self._settle(plan, reply.status)
        if expected is None:
            return
        assert reply.reply is not None
        if reply.reply.data != expected:
            got = reply.reply.data
            self._fail(
                self._of(object_id, rules.DATA),
                f"{plan.operation} of {self.model.describe(object_id)} answered {len(got)} "
                f"bytes {got[:32]!r}..., not {len(expected)} bytes {expected[:32]!r}...",
            )
        self._check_attributes(object_id, reply.reply.attributes, "READ")

    # -- directories --

    @rule(data=st.data(), count=READDIR_COUNTS)
    @recorded
    def readdir(self, data: Draws, count: int) -> None:
        directory = self._draw_object(data, "directory", Directory)
        self._step(f"READDIR {self.model.describe(directory)} by {count}")
        self._list(directory, count)

    def _list(self, directory: ObjectId, count: int) -> None:
        """A whole listing, over as many calls as the server needs, against the model."""
        plan = self.model.readdir(directory)
        listed: dict[bytes, int] = {}
        cookie = FIRST_COOKIE
        expected: dict[bytes, ObjectId] | None = None
        where = self.model.describe(directory)
        for call in range(MAX_READDIR_CALLS):
            reply = self._call(READDIR, readdirargs(self.handles[directory], cookie, count))
            if call == 0:
                expected = self._settle(plan, reply.status)
                if expected is None:
                    return
            elif reply.status != stat.NFS_OK:
                self._fail(
                    rules.LISTING, f"READDIR at cookie {cookie.hex()} answered {reply.status.name}"
                )
            assert reply.readdirok is not None
            for entry in reply.readdirok.entries:
                if entry.name in listed:
                    self._fail(rules.LISTING, f"READDIR of {where} listed {entry.name!r} twice")
                listed[entry.name] = entry.fileid
                cookie = entry.cookie
            if reply.readdirok.eof:
                break
            if not reply.readdirok.entries:
                self._fail(rules.LISTING, f"READDIR of {where}: no entries and no eof")
        else:
            self._fail(
                rules.LISTING, f"READDIR of {where} did not reach eof in {MAX_READDIR_CALLS} calls"
            )
        assert expected is not None
        names = {name for name in listed if name not in DOTS}
        if names != set(expected):
            self._fail(
                rules.LISTING,
                f"READDIR of {where} listed {sorted(names)}, the model has {sorted(expected)}",
            )
        for name, child in expected.items():
            self._check_fileid(child, listed[name], f"READDIR entry {name!r}")


class Retransmissions(Nfs2Machine):
    """Every non-idempotent call sent twice with one XID (config.retransmit)."""

    def _call(self, procedure: Procedure[A, R], args: A) -> R:
        if procedure in NON_IDEMPOTENT:
            return self.retransmitted(procedure, args)
        return super()._call(procedure, args)


class Crashes(Nfs2Machine):
    """The crash rule (config.crashes), where the target can crash its server."""

    @precondition(lambda self: self._target is not None and self._target.capabilities.crashes)
    @rule()
    @recorded
    def crash(self) -> None:
        self._step("CRASH the server and restart it")
        self.target.crash_and_restart()
        for object_id in self.model.ids(alive=True):
            reply = self._call(GETATTR, self.handles[object_id])
            if reply.status != stat.NFS_OK or reply.attributes is None:
                self._fail(
                    rules.HANDLES_SURVIVE,
                    f"after the restart, the handle of {self.model.describe(object_id)} "
                    f"answered {reply.status.name}",
                    diverged=True,
                )
            obj = self.model[object_id]
            if isinstance(obj, RegularFile):
                data = self._read_back(object_id)
                why = obj.content.admits(data)
                if why is not None:
                    self._fail(rules.DURABLE, f"{self.model.describe(object_id)}: {why}", True)

    def _read_back(self, object_id: ObjectId) -> bytes:
        chunks: list[bytes] = []
        while True:
            offset = sum(map(len, chunks))
            reply = self._call(READ, readargs(self.handles[object_id], offset, CHUNK, 0))
            if reply.status != stat.NFS_OK or reply.reply is None:
                self._fail(
                    rules.DURABLE, f"READ after the restart answered {reply.status.name}", True
                )
            chunks.append(reply.reply.data)
            if len(reply.reply.data) < CHUNK:
                return b"".join(chunks)


RULE_SETS: dict[str, type[Nfs2Machine]] = {"retransmit": Retransmissions, "crashes": Crashes}


def _v2_name(status: int) -> str:
    try:
        return stat(status).name
    except ValueError:
        return f"stat {status}"


def replay_nfs2(replay: ReplayFile, config: Nfs2Config) -> ReplayOutcome:
    """A fresh machine of the recorded config driven through the recorded steps, against a
    fresh target of the recorded world (properties/worlds/replay.py)."""
    from properties.worlds.replay import replay_in_world

    return replay_in_world(replay, config.drc, lambda targets: machine_class(config, targets)())


NFS2_SERVER = Family("nfs2", Nfs2Config, replay_nfs2, any_world=True, recorded_steps=True)
