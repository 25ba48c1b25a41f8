"""The NFSv3 server state machine: random operation sequences, each reply checked by the model.

Rules:
- One machine drives one Target, made by the world's target factory with the
  example's fault source (`data.fault_source()`, or NoFaults when the config has no
  fault rates): the `mount` step MNTs the export (which must start empty); every rule then makes one
  NFSv3 call through `target.run(...)` and applies the same operation to the model
  (properties.nfs3.model). The reply's status is judged against the model's Plan (FAIL raises
  ModelMismatch with the steps so far; WARN is recorded as a finding of the test's
  Recorder); data, listings and attributes must equal the model's.
- Names come from a small alphabet (a, b, c, d) so that they collide, plus odd ones ('.',
  '..', '', 'a/b', 256 bytes). Objects are drawn from the model, live ones first, then
  removed ones, whose handles the suite keeps to probe staleness.
- Identity: the suite keeps the handle and fileid of every model object. One object
  always shows one fileid; two live objects never share one; a removed object's handle
  that still answers must answer as that object, never as a live one. A world whose
  baseline knows it does (STALE-REUSED) draws no removed objects (`explored`).
- Retransmission (config.retransmit): every non-idempotent call is sent twice with one
  XID through `send_raw` (over TCP, on one connection, then a third time after a
  reconnect from the same local port); the replies must be byte-identical, and the model applies the
  operation once, so a second execution shows up as a mismatch later if not at once.
- Crashes (config.crashes, where the target can): the `crash` rule crashes and restarts
  the server; every live object's handle must still answer, every file must hold what
  was written FILE_SYNC or committed (see properties.nfs3.model.content), and the write
  verifier must have changed. COMMIT makes the model's data durable only when it answers
  the verifier the writes got.
- Partitions (config.partitions, where the target can): the `partition` rule cuts the
  network between client and server, starting while the next call's message or reply
  travels, for up to a minute (below the DRC's max_age). The hard-mounted client
  retransmits until it heals; the replies must still match the model, so a call whose
  reply was lost must be answered from the cache, not run again.
- Attributes in failed replies (each resfail's post_op_attr and wcc_data) are held to
  the model as GETATTR's are: a failed call changed nothing (`_check_failed`).
- Times (properties/nfs3/times.py): every mtime and ctime seen, wherever attributes
  appear, is held to what the calls since did: unchanged objects show the same times,
  wcc_data's pre-op shows the last seen, a change's times are no earlier than any ctime
  before it, and no ctime goes back. Each call names the objects it may change before it
  runs, and those it did change after; a crash starts afresh, as it may take back
  unstable changes together with their times.
- Clock jumps (config.clock_jumps, where the target can): the `clock_jump` rule steps the
  server's wall clock back or forward; an object's ctime must still never go back (a
  client validates its caches by the attributes).
- The teardown of a run whose steps all finished lists every live directory and reads
  every live file and symlink back (`_check_everything`); not when Hypothesis stopped
  the run midway (StopTest: its data is used up, so a fault proxy drawing decisions for
  the check would fail in its event loop and the hard-mounted client retry forever).
- The MachineConfig is an input (frozen, JSON in replay files); the optional rule sets it
  switches on (RULE_SETS: retransmissions, crashes, partitions, clock jumps) are mixins
  of NfsMachine composed by machine_class(). What the runs leave goes to a RunLog.
- Every step is recorded as data (properties/harness/steps.py) besides its line in the
  log, so `run_machine` can leave a replay file of the last (shrunk) run that `nfsprop
  replay` runs again without Hypothesis (the family NFS3_SERVER, kind "machine").
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Self, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.errors import StopTest
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
)

from faults.sim import FaultRates, NoFaults
from properties.harness import findings
from properties.harness.findings import Baseline, Rule
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome
from properties.harness.steps import (
    Codec,
    Draws,
    RunLog,
    StepEnded,
    recorded,
)
from properties.nfs3 import rules
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
from properties.nfs3.model.verdict import status_name
from properties.nfs3.model_machine import MachineRules, ModelMachine, configured_class, payload
from properties.nfs3.times import Times
from properties.nfs3.wire import (
    COMMIT,
    CREATE,
    GETATTR,
    LINK,
    LOOKUP,
    MKDIR,
    NON_IDEMPOTENT,
    READ,
    READDIR,
    READDIRPLUS,
    READLINK,
    REMOVE,
    RENAME,
    RMDIR,
    SETATTR,
    SYMLINK,
    WRITE,
    sattr,
)
from properties.worlds.target import TargetFactory
from reference.rpc.errors import RpcAcceptError, RpcDenied, RpcError, RpcGarbageReply
from reference.rpc.stubs import Procedure
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    EXCLUSIVE,
    GUARDED,
    NFS3_OK,
    UNCHECKED,
    UNSTABLE,
    COMMIT3args,
    CREATE3args,
    GETATTR3args,
    LINK3args,
    LOOKUP3args,
    MKDIR3args,
    READ3args,
    READDIR3args,
    READDIRPLUS3args,
    READLINK3args,
    REMOVE3args,
    RENAME3args,
    RMDIR3args,
    SETATTR3args,
    SYMLINK3args,
    WRITE3args,
    createhow3,
    createmode3,
    diropargs3,
    fattr3,
    nfs_fh3,
    post_op_attr,
    post_op_fh3,
    sattrguard3,
    stable_how,
    symlinkdata3,
    wcc_data,
)

A = TypeVar("A")
R = TypeVar("R")
T = TypeVar("T")

NAMES = (b"a", b"b", b"c", b"d")
# Each odd name with the rule it tests: a world whose baseline knows the rule leaves the
# name out (a known answer to it would end every run early), and its own check tests it.
ODD_NAME_RULES = {
    b".": rules.DOTS,
    b"..": rules.DOTS,
    b"": rules.NAME_EMPTY,
    b"a/b": rules.NAME_SLASH,
    b"n" * 256: rules.NAME_TOO_LONG,
}
ODD_NAMES = tuple(ODD_NAME_RULES)
# Names are drawn through the running machine, whose config holds the odd names.
NAME = st.runner().flatmap(lambda machine: st.sampled_from(NAMES * 6 + machine.config.odd_names))
# Drawn through the running machine, so a target without EXCLUSIVE create never gets one.
CREATE_MODES = st.runner().flatmap(lambda machine: st.sampled_from(machine.create_modes()))
SYMLINK_TARGETS = (b"a", b"../b", b"/outside/the/export", b"long/" * 20)
CREATE_VERIFIERS = (b"verifier", b"another!")
OFFSETS = st.integers(0, 9000)
LENGTHS = st.integers(1, 3000)
READ_COUNTS = st.integers(0, 4096)
SIZES = st.sampled_from((0, 1, 4096, 5000)) | st.integers(0, 10_000)
MODES = st.integers(0, 0o77).map(lambda low: 0o700 | low)  # the owner keeps rwx
STABILITY = st.sampled_from(list(stable_how))
READDIR_COUNTS = st.sampled_from((512, 1024, 8192))
CHUNK = 4096
MAX_READDIR_CALLS = 64
DOTS = (b".", b"..")
# A partition starts before the next call, while its first message travels (the link's
# latency is 1 ms: the call is lost) or while its reply does (the call ran, the reply is
# lost); it lasts from a few retransmissions to a minute, below the DRC's max_age.
PARTITION_STARTS = st.sampled_from((0.0, 0.0005, 0.0015))
PARTITION_LASTS = st.sampled_from((0.3, 5.0, 60.0))
CLOCK_JUMPS = st.sampled_from((-3600.0, -1.0, 1.0))  # NTP stepping the server's clock
ROOT_PROBE_MODE = 0o777  # what the export's root is made (it already is: the store's default)
# Operations that change nothing: a known NFS3_OK to one of them leaves the model right.
READ_ONLY = frozenset({"GETATTR", "LOOKUP", "READ", "READLINK", "READDIR", "READDIRPLUS", "COMMIT"})


def explored(config: MachineConfig, baseline: Baseline) -> MachineConfig:
    """`config` with what a world's baseline knows left out of the draws (a known answer
    would end every run early; a check of its own tests it): the odd names whose rule it
    knows (SLASH-NAMES, DOT-NAMES), removed objects' handles when it knows STALE-REUSED
    (STALENESS), non-directories as directories when it knows NOTDIR (NOT-DIRECTORIES)."""
    known = baseline.known
    return dataclasses.replace(
        config,
        odd_names=tuple(name for name, rule in ODD_NAME_RULES.items() if rule.code not in known),
        removed_handles=rules.STALE_REUSED.code not in known,
        odd_directories=rules.NOTDIR.code not in known,
    )


@dataclass(frozen=True)
class MachineConfig:
    """Which checks a machine runs (an input: frozen, and JSON in replay files). The world's
    target factory and the run log are given beside it (machine_class)."""

    drc: bool = True
    rates: FaultRates | None = None  # None: no network faults (the target gets NoFaults)
    retransmit: bool = False
    crashes: bool = False
    odd_names: tuple[bytes, ...] = ODD_NAMES
    partitions: bool = False
    clock_jumps: bool = False
    removed_handles: bool = True  # whether removed objects are drawn, to probe staleness
    odd_directories: bool = True  # whether non-directories are drawn as directories

    def to_json(self) -> dict[str, Any]:
        return {
            "drc": self.drc,
            "rates": None if self.rates is None else dataclasses.asdict(self.rates),
            "retransmit": self.retransmit,
            "crashes": self.crashes,
            "odd_names": [name.hex() for name in self.odd_names],
            "partitions": self.partitions,
            "clock_jumps": self.clock_jumps,
            "removed_handles": self.removed_handles,
            "odd_directories": self.odd_directories,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError, ValueError or KeyError if `body` does
        not describe one."""
        rates = body["rates"]
        flags = [body[name] for name in RULE_SETS]
        draws = {name: body.get(name, True) for name in ("removed_handles", "odd_directories")}
        if not all(isinstance(flag, bool) for flag in [body["drc"], *draws.values(), *flags]):
            raise TypeError(f"drc, {', '.join([*draws, *RULE_SETS])} must be true or false")
        return cls(
            drc=body["drc"],
            rates=None if rates is None else FaultRates(**rates),
            odd_names=tuple(bytes.fromhex(name) for name in body["odd_names"]),
            **draws,
            **{name: body[name] for name in RULE_SETS},
        )


def machine_class(
    config: MachineConfig, make_target: TargetFactory, log: RunLog | None = None
) -> type[NfsMachine]:
    """A machine class bound to `config` (model_machine.configured_class), run with
    run_state_machine_as_test."""
    return configured_class(NfsMachine, RULE_SETS, config, make_target, log)


def run_machine(
    config: MachineConfig,
    make_target: TargetFactory,
    configured: settings,
    context: RunContext | None = None,
    directory: Path | None = None,
    log: RunLog | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file (run_recorded_machine)."""
    log = RunLog() if log is None else log
    machine = machine_class(config, make_target, log)
    run_recorded_machine(machine, configured, NFS3_SERVER, config, log, context, directory)


class NfsMachine(ModelMachine):
    config: ClassVar[MachineConfig]
    codec = Codec((createmode3, stable_how))
    machine_rules = MachineRules(
        rules.FILEID, rules.STALE_REUSED, rules.AT_MOST_ONCE, rules.RAW_NO_REPLY
    )

    def __init__(self) -> None:
        super().__init__()
        self.verifier: bytes | None = None  # the write verifier since the last restart
        self.verifier_before_crash: bytes | None = None
        self.times = Times(clock_steps=self.config.clock_jumps)

    @property
    def removed_handles(self) -> bool:
        return self.config.removed_handles

    @property
    def odd_directories(self) -> bool:
        return self.config.odd_directories

    # -- plumbing --

    @invariant()
    def step_finished(self) -> None:
        """Runs after every step that did not raise (a failure, or running out of data). On
        real sockets the export's root must still answer: a step that lost it is the
        finding (a foreign server may remove its export on RMDIR ".")."""
        self.unfinished = None
        if self._target is None or self._target.sim is not None or self.run_ended:
            return
        reply = self._call(GETATTR, GETATTR3args(self._fh(ROOT_ID)))
        if reply.status != NFS3_OK:
            try:
                self._fail(
                    rules.ROOT_LOST,
                    f"after step {len(self.log)}, GETATTR of the export's root answered "
                    f"{status_name(reply.status)}",
                    diverged=True,
                )
            except StepEnded:
                self.run_ended = True

    def _warn(self, rule: Rule, reason: str) -> None:
        findings.current().warn(rule, reason, self.log)

    def _call(self, procedure: Procedure[A, R], args: A) -> R:
        target = self.target
        try:
            return target.run(target.caller.call(procedure, args))
        except (RpcAcceptError, RpcDenied, RpcGarbageReply) as answer:
            self._rpc_answer(procedure, answer)

    def _rpc_answer(self, procedure: Procedure[A, R], answer: RpcError) -> NoReturn:
        """An answer at the RPC level to a well-formed call is a finding; the model follows
        the server only if the call cannot have run (refused before it ran, or read-only)."""
        name = procedure.name.removeprefix("NFSPROC3_")
        if isinstance(answer, RpcAcceptError):
            rule = rules.RPC_ANSWERS.get(answer.stat, rules.SYSTEM_ERR)
        else:
            rule = rules.DENIED if isinstance(answer, RpcDenied) else rules.UNDECODABLE
        refused = rule in (rules.PROC_UNAVAIL, rules.GARBAGE_ARGS, rules.DENIED)
        self._outcome("an NFSv3 reply", str(answer).split(":", 1)[0])
        self._fail(rule, f"{name}: {answer}", diverged=not refused and name not in READ_ONLY)

    def _settle(self, plan: Plan[T], status: int) -> T | None:
        allowed = [s for s, j in sorted(plan.allowed.items()) if j.verdict is not Verdict.FAIL]
        self._outcome(", ".join(map(status_name, allowed)), status_name(status))
        judgement = plan.judge(status)
        rule = judgement.rule or plan.broken_rule(status)
        if judgement.verdict is Verdict.FAIL:
            # a known answer: the server did something the model refused (the model no
            # longer follows it unless the operation changes nothing), or nothing
            changed = status == NFS3_OK and plan.operation.split()[0] not in READ_ONLY
            self._fail(rule, judgement.reason, diverged=changed)
        if judgement.verdict is not Verdict.PASS:
            self._warn(
                rule, f"{judgement.reason} ({plan.operation.split()[0]} got {status_name(status)})"
            )
        return plan.settle(status)

    def _fh(self, object_id: ObjectId) -> nfs_fh3:
        return nfs_fh3(self.handles[object_id])

    def _mode(self, mode: int | None) -> int | None:
        """The mode to send: none to a server that does not store modes (it may refuse
        calls that carry one); the model then checks none."""
        return mode if self.target.features.stores_mode else None

    def create_modes(self) -> tuple[createmode3, ...]:
        """The create modes to draw: EXCLUSIVE only where the server supports it."""
        if self._target is not None and not self._target.features.exclusive_create:
            return (UNCHECKED, GUARDED)
        return (UNCHECKED, GUARDED, EXCLUSIVE)

    def _where(self, directory: ObjectId, name: bytes) -> diropargs3:
        return diropargs3(self._fh(directory), name)

    # -- identity and attributes --

    def _check_attributes(
        self, object_id: ObjectId, attributes: fattr3, where: str, exact_size: bool = True
    ) -> None:
        obj = self.model[object_id]
        if attributes.type != obj.type:
            self._fail(
                self._of(object_id, rules.TYPE),
                f"{where}: {self.model.describe(object_id)} has type {attributes.type.name}",
            )
        self._check_fileid(object_id, attributes.fileid, where)
        nlink = self.model.nlink(obj)
        if attributes.nlink != nlink:
            message = (
                f"{where}: {self.model.describe(object_id)} nlink {attributes.nlink}, not {nlink}"
            )
            if isinstance(obj, Directory):
                self._warn(
                    rules.DIR_NLINK, f"directory link count is not 2 + subdirectories ({message})"
                )
            else:
                self._fail(self._of(object_id, rules.NLINK), message)
        if isinstance(obj, RegularFile) and exact_size and attributes.size != obj.content.size:
            self._fail(
                self._of(object_id, rules.SIZE),
                f"{where}: {self.model.describe(object_id)} size {attributes.size}, "
                f"not {obj.content.size}",
            )
        if isinstance(obj, Symlink) and attributes.size != len(obj.target):
            self._warn(
                rules.SYMLINK_SIZE, f"{where}: a symlink's size is not the length of its target"
            )
        stored = self.target.features.stores_mode
        if stored and obj.mode is not None and attributes.mode & 0o7777 != obj.mode:
            self._fail(
                self._of(object_id, rules.MODE),
                f"{where}: {self.model.describe(object_id)} mode {attributes.mode & 0o7777:o}, "
                f"not {obj.mode:o}",
            )
        what = f"{where}: {self.model.describe(object_id)}"
        problem = self.times.seen(object_id, attributes.mtime, attributes.ctime, what)
        if problem is not None:
            self._fail(self._of(object_id, problem.rule), problem.message)

    def _check_post_op(self, object_id: ObjectId, attributes: post_op_attr, where: str) -> None:
        if attributes.attributes_follow and attributes.attributes is not None:
            self._check_attributes(object_id, attributes.attributes, where)

    def _check_wcc(
        self, object_id: ObjectId, wcc: wcc_data, where: str, size_before: int | None = None
    ) -> None:
        """Weak cache consistency: the size before (files) and the attributes after."""
        before = wcc.before.attributes
        if size_before is not None and before is not None and before.size != size_before:
            self._fail(
                self._of(object_id, rules.WCC_SIZE),
                f"{where}: pre-op size {before.size}, but it was {size_before}",
            )
        if before is not None:
            what = f"{where}: {self.model.describe(object_id)}"
            problem = self.times.pre_op(object_id, before, what)
            if problem is not None:
                self._fail(self._of(object_id, problem.rule), problem.message)
        self._check_post_op(object_id, wcc.after, where)

    def _check_failed(self, reply: object, operation: str, *objects: ObjectId) -> None:
        """The attributes a failed reply carries (its resfail's post_op_attr and wcc_data
        fields, one per object of `objects`, in order), held to the model as GETATTR's
        are: a failed call changed nothing."""
        failed = getattr(reply, "resfail", None)
        if failed is None:
            return
        for part, object_id in zip(failed.__slots__, objects, strict=True):
            value = getattr(failed, part)
            where = f"{operation} (failed), its {part}"
            if isinstance(value, wcc_data):
                self._check_wcc(object_id, value, where, self._size(object_id))
            elif isinstance(value, post_op_attr):
                self._check_post_op(object_id, value, where)

    def _size(self, object_id: ObjectId) -> int | None:
        obj = self.model[object_id]
        return obj.content.size if isinstance(obj, RegularFile) else None

    def _adopt(
        self,
        object_id: ObjectId,
        handle: post_op_fh3,
        attributes: post_op_attr,
        where: diropargs3,
        operation: str,
    ) -> None:
        """Record the handle of an object a CREATE-like call answered, and check it."""
        if handle.handle_follows and handle.handle is not None:
            data = handle.handle.data
        else:
            reply = self._call(LOOKUP, LOOKUP3args(where))
            if reply.status != NFS3_OK or reply.resok is None:
                self._fail(
                    rules.NO_HANDLE,
                    f"{operation} sent no handle, and LOOKUP answered {reply.status.name}",
                    diverged=True,
                )
            data = reply.resok.object.data
        self.handles.setdefault(object_id, data)
        if attributes.attributes_follow and attributes.attributes is not None:
            self._check_attributes(object_id, attributes.attributes, operation)
        else:
            self._getattr(object_id)

    def _check_verifier(self, verifier: bytes, where: str) -> bool:
        """Whether `verifier` is the one earlier writes got since the last restart."""
        if self.verifier is None:
            if verifier == self.verifier_before_crash:
                self._fail(
                    rules.VERIFIER_RESTART,
                    f"{where}: the write verifier did not change across the restart",
                )
            self.verifier = verifier
            return True
        if verifier != self.verifier:
            self._warn(
                rules.VERIFIER_STEADY, f"{where}: the write verifier changed without a restart"
            )
            self.verifier = verifier
            return False
        return True

    # -- the start --

    @initialize(data=st.data())
    @recorded
    def mount(self, data: Draws) -> None:
        self.unfinished = "MNT"  # not a logged step: shrunk lengths count the rules only
        config = self.config
        faults = NoFaults() if config.rates is None else data.fault_source()
        self._target = target = self.make_target(faults, config.drc, config.rates)
        self.record.world = target.sim
        self.record.wire = target.wire
        reply = target.run(MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export))
        if reply.fhs_status != MNT3_OK or reply.mountinfo is None:
            self._fail(rules.MNT, f"MNT {target.export!r} answered {reply.fhs_status.name}", True)
        self.handles[ROOT_ID] = reply.mountinfo.fhandle
        self._getattr(ROOT_ID)

    def teardown(self) -> None:
        if self._target is None:
            return
        stopped = isinstance(sys.exc_info()[1], StopTest)  # Hypothesis ended the run midway
        try:
            if self.unfinished is None and not stopped and not self.run_ended:
                self._step("check everything")
                self._check_everything()
        finally:
            self._target.close()

    # -- attributes and names --

    def _getattr(self, object_id: ObjectId) -> None:
        plan = self.model.getattr(object_id)
        reply = self._call(GETATTR, GETATTR3args(self._fh(object_id)))
        if self._settle(plan, reply.status) is not None:
            assert reply.resok is not None
            self._check_attributes(object_id, reply.resok.obj_attributes, "GETATTR")

    @rule(data=st.data())
    @recorded
    def getattr(self, data: Draws) -> None:
        object_id = self._draw_object(data, "object")
        self._step(f"GETATTR {self.model.describe(object_id)}")
        self._getattr(object_id)

    @rule(data=st.data(), mode=st.none() | MODES, size=st.none() | SIZES)
    @recorded
    def setattr(self, data: Draws, mode: int | None, size: int | None) -> None:
        self._setattr(self._draw_object(data, "object", RegularFile), self._mode(mode), size)

    def _setattr(self, object_id: ObjectId, mode: int | None, size: int | None) -> None:
        plan = self.model.setattr(object_id, mode, size)
        self._step(plan.operation)
        size_before = self._size(object_id)
        obj = self.model[object_id]
        # a mode that changes (a symlink's is not the client's to change: Linux has none)
        remoded = mode not in (None, obj.mode) and not isinstance(obj, Symlink)
        args = SETATTR3args(self._fh(object_id), sattr(mode, size), sattrguard3(False))
        self.times.changing(object_id)
        reply = self._call(SETATTR, args)
        self._settle(plan, reply.status)
        self._check_failed(reply, "SETATTR", object_id)
        if reply.resok is not None:
            resized = size is not None and size_before is not None and size != size_before
            if resized or remoded:
                self.times.changed(object_id, "data" if resized else "attributes")
            self._check_wcc(object_id, reply.resok.obj_wcc, "SETATTR", size_before)

    @rule(data=st.data(), name=NAME)
    @recorded
    def lookup(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.lookup(directory, name)
        self._step(plan.operation)
        reply = self._call(LOOKUP, LOOKUP3args(self._where(directory, name)))
        found = self._settle(plan, reply.status)
        if found is None:
            self._check_failed(reply, "LOOKUP", directory)
            return
        assert reply.resok is not None
        self.handles.setdefault(found, reply.resok.object.data)
        self._check_post_op(directory, reply.resok.dir_attributes, "LOOKUP's directory")
        attributes = reply.resok.obj_attributes
        if attributes.attributes_follow and attributes.attributes is not None:
            self._check_attributes(found, attributes.attributes, f"LOOKUP {name!r}")
            return
        looked_up = self._call(GETATTR, GETATTR3args(reply.resok.object))
        if looked_up.status != NFS3_OK or looked_up.resok is None:
            self._fail(
                rules.refused("GETATTR"),
                f"the handle LOOKUP {name!r} returned answers {looked_up.status.name}",
            )
        self._check_attributes(found, looked_up.resok.obj_attributes, f"LOOKUP {name!r}")

    @rule(data=st.data())
    @recorded
    def readlink(self, data: Draws) -> None:
        object_id = self._draw_object(data, "symlink", Symlink)
        self._step(f"READLINK {self.model.describe(object_id)}")
        self._readlink(object_id)

    def _readlink(self, object_id: ObjectId) -> None:
        plan = self.model.readlink(object_id)
        reply = self._call(READLINK, READLINK3args(self._fh(object_id)))
        expected = self._settle(plan, reply.status)
        self._check_failed(reply, "READLINK", object_id)
        if expected is not None:
            assert reply.resok is not None
            self._check_post_op(object_id, reply.resok.symlink_attributes, "READLINK")
            if reply.resok.data != expected:
                self._fail(
                    rules.READLINK_DATA,
                    f"{plan.operation} answered {reply.resok.data!r}, not {expected!r}",
                )

    # -- creating --

    @rule(data=st.data(), name=NAME, mode=CREATE_MODES)
    @recorded
    def create(self, data: Draws, name: bytes, mode: int) -> None:
        directory = self._draw_object(data, "directory", Directory)
        if mode == EXCLUSIVE:
            verifier = data.draw(st.sampled_from(CREATE_VERIFIERS), label="verifier")
            how = CreateHow(EXCLUSIVE, verifier=verifier)
            wire = createhow3(EXCLUSIVE, verf=verifier)
        else:
            file_mode = self._mode(data.draw(MODES, label="file mode"))
            truncate = data.draw(st.booleans(), label="size 0")
            how = CreateHow(UNCHECKED if mode == UNCHECKED else GUARDED, file_mode, truncate)
            wire = createhow3(how.mode, obj_attributes=sattr(file_mode, 0 if truncate else None))
        plan = self.model.create(directory, name, how)
        self._step(plan.operation)
        entry = self._entry(directory, name)
        existing = None if entry is None else self._size(entry)  # the bytes UNCHECKED keeps
        where = self._where(directory, name)
        self.times.changing(directory, entry)
        reply = self._call(CREATE, CREATE3args(where, wire))
        created = self._settle(plan, reply.status)
        self._check_failed(reply, "CREATE", directory)
        if created is not None:
            assert reply.resok is not None
            if entry is None:
                self.times.changed(directory, "data")
            attributes = reply.resok.obj_attributes.attributes
            if existing and not how.truncate and attributes and attributes.size != existing:
                # known and cut short (the file truncated): the model cuts it too and follows
                cut = attributes.size < existing
                if cut:
                    file = self.model[created]
                    assert isinstance(file, RegularFile)
                    file.content.resize(attributes.size)
                self._fail(
                    rules.CREATE_KEEPS_DATA,
                    f"{plan.operation} over a file of {existing} bytes left {attributes.size}",
                    diverged=not cut,
                )
            self._adopt(created, reply.resok.obj, reply.resok.obj_attributes, where, "CREATE")
            self._check_wcc(directory, reply.resok.dir_wcc, "CREATE")

    @rule(data=st.data(), name=NAME, mode=MODES)
    @recorded
    def mkdir(self, data: Draws, name: bytes, mode: int) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.mkdir(directory, name, mode)
        self._step(plan.operation)
        where = self._where(directory, name)
        self.times.changing(directory)
        reply = self._call(MKDIR, MKDIR3args(where, sattr(self._mode(mode))))
        created = self._settle(plan, reply.status)
        self._check_failed(reply, "MKDIR", directory)
        if created is not None:
            assert reply.resok is not None
            self.times.changed(directory, "data")
            self._adopt(created, reply.resok.obj, reply.resok.obj_attributes, where, "MKDIR")
            self._check_wcc(directory, reply.resok.dir_wcc, "MKDIR")

    @precondition(lambda self: self._target is not None and self._target.features.symlink)
    @rule(data=st.data(), name=NAME, link_target=st.sampled_from(SYMLINK_TARGETS))
    @recorded
    def symlink(self, data: Draws, name: bytes, link_target: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.symlink(directory, name, link_target)
        self._step(plan.operation)
        where = self._where(directory, name)
        self.times.changing(directory)
        reply = self._call(SYMLINK, SYMLINK3args(where, symlinkdata3(sattr(), link_target)))
        created = self._settle(plan, reply.status)
        self._check_failed(reply, "SYMLINK", directory)
        if created is not None:
            assert reply.resok is not None
            self.times.changed(directory, "data")
            self._adopt(created, reply.resok.obj, reply.resok.obj_attributes, where, "SYMLINK")
            self._check_wcc(directory, reply.resok.dir_wcc, "SYMLINK")

    @precondition(lambda self: self._target is not None and self._target.features.link)
    @rule(data=st.data(), name=NAME)
    @recorded
    def link(self, data: Draws, name: bytes) -> None:
        object_id = self._draw_object(data, "object", RegularFile)
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.link(object_id, directory, name)
        self._step(plan.operation)
        self.times.changing(object_id, directory)
        reply = self._call(LINK, LINK3args(self._fh(object_id), self._where(directory, name)))
        self._settle(plan, reply.status)
        self._check_failed(reply, "LINK", object_id, directory)
        if reply.resok is not None:
            if reply.status == NFS3_OK:
                self.times.changed(object_id, "attributes")
                self.times.changed(directory, "data")
            self._check_post_op(object_id, reply.resok.file_attributes, "LINK")
            self._check_wcc(directory, reply.resok.linkdir_wcc, "LINK")

    # -- removing and renaming --

    @rule(data=st.data(), name=NAME)
    @recorded
    def remove(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        plan = self.model.remove(directory, name)
        self._step(plan.operation)
        self.times.changing(directory, self._entry(directory, name))
        reply = self._call(REMOVE, REMOVE3args(self._where(directory, name)))
        self._settle(plan, reply.status)
        self._check_failed(reply, "REMOVE", directory)
        if reply.resok is not None:
            if reply.status == NFS3_OK:
                self.times.changed(directory, "data")
            self._check_wcc(directory, reply.resok.dir_wcc, "REMOVE")

    @rule(data=st.data(), name=NAME)
    @recorded
    def rmdir(self, data: Draws, name: bytes) -> None:
        directory = self._draw_object(data, "directory", Directory)
        entry = self._entry(directory, name)
        odd_kind = entry is not None and not isinstance(self.model[entry], Directory)
        if odd_kind and not self.config.odd_directories:
            return  # RMDIR of a non-directory: a known NOTDIR (NOT-DIRECTORIES tests it)
        plan = self.model.rmdir(directory, name)
        self._step(plan.operation)
        self.times.changing(directory, entry)
        reply = self._call(RMDIR, RMDIR3args(self._where(directory, name)))
        self._settle(plan, reply.status)
        self._check_failed(reply, "RMDIR", directory)
        if reply.resok is not None:
            if reply.status == NFS3_OK:
                self.times.changed(directory, "data")
            self._check_wcc(directory, reply.resok.dir_wcc, "RMDIR")

    @rule(data=st.data(), from_name=NAME, to_name=NAME)
    @recorded
    def rename(self, data: Draws, from_name: bytes, to_name: bytes) -> None:
        from_dir = self._draw_object(data, "from directory", Directory)
        to_dir = self._draw_object(data, "to directory", Directory)
        plan = self.model.rename(from_dir, from_name, to_dir, to_name)
        self._step(plan.operation)
        args = RENAME3args(self._where(from_dir, from_name), self._where(to_dir, to_name))
        moved, replaced = self._entry(from_dir, from_name), self._entry(to_dir, to_name)
        self.times.changing(from_dir, to_dir, moved, replaced)
        reply = self._call(RENAME, args)
        self._settle(plan, reply.status)
        self._check_failed(reply, "RENAME", from_dir, to_dir)
        if reply.status == NFS3_OK and moved is not None and moved != replaced:
            self.times.changed(from_dir, "data")  # entries changed in both (POSIX rename)
            self.times.changed(to_dir, "data")
        if reply.resok is not None:
            self._check_wcc(from_dir, reply.resok.fromdir_wcc, "RENAME from")
            self._check_wcc(to_dir, reply.resok.todir_wcc, "RENAME to")

    # -- file data --

    @rule(
        data=st.data(),
        offset=OFFSETS,
        length=LENGTHS,
        seed=st.integers(0, 255),
        stable=STABILITY,
    )
    @recorded
    def write(self, data: Draws, offset: int, length: int, seed: int, stable: stable_how) -> None:
        object_id = self._draw_object(data, "file", RegularFile)
        self._write(object_id, offset, payload(seed, length), stable)

    @rule(data=st.data(), chunks=st.lists(st.tuples(OFFSETS, LENGTHS), min_size=1, max_size=3))
    @recorded
    def flush(self, data: Draws, chunks: list[tuple[int, int]]) -> None:
        """What a client's write-behind does: UNSTABLE writes, then COMMIT."""
        object_id = self._draw_object(data, "file", RegularFile)
        for seed, (offset, length) in enumerate(chunks):
            self._write(object_id, offset, payload(seed, length), UNSTABLE)
        self._step(f"COMMIT {self.model.describe(object_id)}")
        self._commit(object_id)

    def _write(self, object_id: ObjectId, offset: int, content: bytes, stable: stable_how) -> None:
        plan = self.model.write(object_id, offset, content, durable=stable != UNSTABLE)
        self._step(f"{plan.operation} {stable.name}")
        size_before = self._size(object_id)
        args = WRITE3args(self._fh(object_id), offset, len(content), stable, content)
        self.times.changing(object_id)
        reply = self._call(WRITE, args)
        self._settle(plan, reply.status)
        if reply.status != NFS3_OK:
            self._check_failed(reply, "WRITE", object_id)
            return
        resok = reply.resok
        assert resok is not None
        if resok.count != len(content):
            # allowed, but the model applied the whole write: it no longer follows the server
            self._warn(rules.WRITE_SHORT, f"{plan.operation}: a short write of {resok.count} bytes")
            raise StepEnded(rest_of_run=True)
        if resok.committed < stable:
            self._fail(
                rules.WRITE_COMMITTED,
                f"{plan.operation}: asked {stable.name}, answered {resok.committed.name}",
            )
        self._check_verifier(resok.verf, "WRITE")
        obj = self.model[object_id]
        if stable == UNSTABLE and resok.committed != UNSTABLE and isinstance(obj, RegularFile):
            obj.content.write(offset, content, durable=True)  # the server made it stable
        if content:
            self.times.changed(object_id, "data")
        self._check_wcc(object_id, resok.file_wcc, "WRITE", size_before)

    @rule(data=st.data())
    @recorded
    def commit(self, data: Draws) -> None:
        object_id = self._draw_object(data, "file", RegularFile)
        self._step(f"COMMIT {self.model.describe(object_id)}")
        self._commit(object_id)

    def _commit(self, object_id: ObjectId) -> None:
        plan = self.model.commit(object_id)
        self.times.changing(object_id)  # a server may set times as the data reaches its disk
        reply = self._call(COMMIT, COMMIT3args(self._fh(object_id), 0, 0))
        content = self._settle(plan, reply.status)
        if content is None:
            self._check_failed(reply, "COMMIT", object_id)
            return
        assert reply.resok is not None
        if self._check_verifier(reply.resok.verf, "COMMIT"):
            content.commit()
        self._check_wcc(object_id, reply.resok.file_wcc, "COMMIT")

    @rule(data=st.data(), offset=OFFSETS, count=READ_COUNTS)
    @recorded
    def read(self, data: Draws, offset: int, count: int) -> None:
        object_id = self._draw_object(data, "file", RegularFile)
        self._step(f"READ {self.model.describe(object_id)} [{offset}, +{count})")
        self._read(object_id, offset, count)

    def _read(self, object_id: ObjectId, offset: int, count: int) -> bool:
        """One checked READ; True if it reached the end of the file."""
        plan = self.model.read(object_id, offset, count)
        reply = self._call(READ, READ3args(self._fh(object_id), offset, count))
        expected = self._settle(plan, reply.status)
        if expected is None:
            self._check_failed(reply, "READ", object_id)
            return True
        resok = reply.resok
        assert resok is not None
        obj = self.model[object_id]
        assert isinstance(obj, RegularFile)
        if resok.data != expected:
            self._fail(
                self._of(object_id, rules.DATA),
                f"{plan.operation} of {self.model.describe(object_id)} answered "
                f"{len(resok.data)} bytes {resok.data[:32]!r}..., not {len(expected)} bytes "
                f"{expected[:32]!r}...",
            )
        if resok.count != len(resok.data):
            self._fail(
                rules.READ_COUNT,
                f"{plan.operation}: count {resok.count} but {len(resok.data)} bytes",
            )
        at_end = offset + len(expected) >= obj.content.size
        if resok.eof != at_end and count == 0:
            self._warn(
                rules.READ_EOF,
                f"READ: a zero-count READ at {offset} of a {obj.content.size}-byte file "
                f"answered eof {resok.eof} (RFC 1813: eof is TRUE when the read reaches the "
                "end of the file, offset + count >= size)",
            )
        elif resok.eof != at_end:
            self._fail(
                rules.READ_EOF, f"{plan.operation}: eof {resok.eof} at size {obj.content.size}"
            )
        self._check_post_op(object_id, resok.file_attributes, "READ")
        return at_end

    # -- directories --

    @rule(data=st.data(), plus=st.booleans(), count=READDIR_COUNTS)
    @recorded
    def readdir(self, data: Draws, plus: bool, count: int) -> None:
        directory = self._draw_object(data, "directory", Directory)
        self._step(f"READDIR{'PLUS' if plus else ''} {self.model.describe(directory)} by {count}")
        self._list(directory, plus, count)

    def _list(self, directory: ObjectId, plus: bool, count: int) -> None:
        """A whole listing, over as many calls as the server needs, against the model."""
        plan = self.model.readdir(directory)
        operation = "READDIRPLUS" if plus else "READDIR"
        listed: dict[bytes, int] = {}
        cookie, cookie_verifier = 0, bytes(8)
        expected: dict[bytes, ObjectId] | None = None
        for call in range(MAX_READDIR_CALLS):
            page = self._readdir_page(directory, plus, count, cookie, cookie_verifier)
            if call == 0:
                expected = self._settle(plan, page.status)
                if expected is None:
                    if page.directory is not None:
                        where = f"{operation} (failed), its dir_attributes"
                        self._check_post_op(directory, page.directory, where)
                    return
            elif page.status != NFS3_OK:
                self._fail(
                    rules.LISTING_PAGES,
                    f"{operation} at cookie {cookie} answered {status_name(page.status)}",
                )
            if page.directory is not None:
                self._check_post_op(directory, page.directory, f"{operation}'s directory")
            for entry in page.entries:
                if entry.name in listed:
                    where = self.model.describe(directory)
                    self._fail(rules.LISTING, f"{operation} of {where} listed {entry.name!r} twice")
                listed[entry.name] = entry.fileid
                cookie = entry.cookie
                child = expected.get(entry.name) if expected else None
                if child is not None and entry.attributes is not None:
                    self._check_post_op(child, entry.attributes, operation)
            cookie_verifier = page.cookie_verifier
            if page.eof:
                break
            if not page.entries:
                self._fail(
                    rules.LISTING_PAGES,
                    f"{operation} answered no entries and no eof at cookie {cookie}",
                )
        else:
            self._fail(
                rules.LISTING_PAGES, f"{operation} did not reach eof in {MAX_READDIR_CALLS} calls"
            )
        assert expected is not None
        self._compare_listing(directory, operation, expected, listed)

    def _compare_listing(
        self,
        directory: ObjectId,
        operation: str,
        expected: dict[bytes, ObjectId],
        listed: dict[bytes, int],
    ) -> None:
        names = {name for name in listed if name not in DOTS}
        if names != set(expected):
            self._fail(
                rules.LISTING,
                f"{operation} of {self.model.describe(directory)} listed {sorted(names)}, "
                f"the model has {sorted(expected)}",
            )
        for name, child in expected.items():
            self._check_fileid(child, listed[name], f"{operation} entry {name!r}")
        node = self.model[directory]
        assert isinstance(node, Directory)
        for name, meant in ((b".", directory), (b"..", node.parent)):
            if name in listed and meant in self.fileids and listed[name] != self.fileids[meant]:
                self._warn(
                    rules.DOT_FILEIDS, f"{operation}: the fileid of {name!r} is not its directory's"
                )

    def _readdir_page(
        self, directory: ObjectId, plus: bool, count: int, cookie: int, verifier: bytes
    ) -> ReaddirPage:
        handle = self._fh(directory)
        if plus:
            args = READDIRPLUS3args(handle, cookie, verifier, count // 2, count)
            reply_plus = self._call(READDIRPLUS, args)
            if reply_plus.resok is None:
                failed = reply_plus.resfail
                attributes = None if failed is None else failed.dir_attributes
                return ReaddirPage(reply_plus.status, directory=attributes)
            listing = reply_plus.resok.reply
            return ReaddirPage(
                reply_plus.status,
                [
                    ListedEntry(e.name, e.fileid, e.cookie, e.name_attributes)
                    for e in listing.entries
                ],
                listing.eof,
                reply_plus.resok.cookieverf,
                reply_plus.resok.dir_attributes,
            )
        reply = self._call(READDIR, READDIR3args(handle, cookie, verifier, count))
        if reply.resok is None:
            attributes = None if reply.resfail is None else reply.resfail.dir_attributes
            return ReaddirPage(reply.status, directory=attributes)
        return ReaddirPage(
            reply.status,
            [ListedEntry(e.name, e.fileid, e.cookie, None) for e in reply.resok.reply.entries],
            reply.resok.reply.eof,
            reply.resok.cookieverf,
            reply.resok.dir_attributes,
        )

    # -- crashes and the whole picture --

    def _restarted(self) -> None:
        """The server has just restarted: what was seen before may have been taken back."""
        self.times.forget()

    def _check_everything(self) -> None:
        for object_id in self.model.ids(alive=True):
            try:
                self._check_object(object_id)
            except StepEnded as ended:  # a known finding about this object
                if ended.rest_of_run:
                    return

    def _check_object(self, object_id: ObjectId) -> None:
        obj = self.model[object_id]
        if isinstance(obj, Directory):
            self._list(object_id, plus=False, count=8192)
        elif isinstance(obj, RegularFile):
            self._getattr(object_id)
            offset = 0
            while not self._read(object_id, offset, CHUNK):
                offset += CHUNK
        else:
            self._readlink(object_id)


@dataclass(frozen=True)
class ListedEntry:
    name: bytes
    fileid: int
    cookie: int
    attributes: post_op_attr | None  # READDIRPLUS only


@dataclass(frozen=True)
class ReaddirPage:
    """One READDIR or READDIRPLUS reply, as `_list` walks it."""

    status: int
    entries: list[ListedEntry] = field(default_factory=list)
    eof: bool = False
    cookie_verifier: bytes = bytes(8)
    directory: post_op_attr | None = None  # the directory's attributes


class Retransmissions(NfsMachine):
    """Every non-idempotent call sent twice with one XID (config.retransmit)."""

    def _call(self, procedure: Procedure[A, R], args: A) -> R:
        if procedure in NON_IDEMPOTENT:
            return self.retransmitted(procedure, args)
        return super()._call(procedure, args)


class Crashes(NfsMachine):
    """The crash rule (config.crashes), where the target can crash its server."""

    @precondition(lambda self: self._target is not None and self._target.capabilities.crashes)
    @rule()
    @recorded
    def crash(self) -> None:
        self._step("CRASH the server and restart it")
        self.target.crash_and_restart()
        self._restarted()
        self.verifier_before_crash, self.verifier = self.verifier, None
        for object_id in self.model.ids(alive=True):
            self._check_after_crash(object_id)
        files = self.model.ids(alive=True, kind=RegularFile)
        if self.verifier_before_crash is not None and files:
            self._commit(files[0])  # the verifier must have changed

    def _check_after_crash(self, object_id: ObjectId) -> None:
        reply = self._call(GETATTR, GETATTR3args(self._fh(object_id)))
        if reply.status != NFS3_OK or reply.resok is None:
            self._fail(
                rules.HANDLES_SURVIVE,
                f"after the restart, the handle of {self.model.describe(object_id)} answered "
                f"{status_name(reply.status)}: handles must survive restarts",
                diverged=True,
            )
        attributes = reply.resok.obj_attributes
        self._check_attributes(object_id, attributes, "GETATTR after the restart", exact_size=False)
        obj = self.model[object_id]
        if not isinstance(obj, RegularFile):
            return
        data = self._read_back(object_id, attributes.size)
        why = obj.content.admits(data)
        if why is not None:
            self._fail(rules.DURABLE, f"{self.model.describe(object_id)}: {why}", True)
        obj.content.adopt(data)

    def _read_back(self, object_id: ObjectId, size: int) -> bytes:
        """The file's bytes after a crash, when the model only knows what is possible."""
        chunks: list[bytes] = []
        offset = 0
        while True:
            reply = self._call(READ, READ3args(self._fh(object_id), offset, CHUNK))
            if reply.status != NFS3_OK or reply.resok is None:
                self._fail(
                    rules.refused("READ"),
                    f"READ after the restart answered {status_name(reply.status)}",
                    diverged=True,
                )
            chunks.append(reply.resok.data)
            offset += len(reply.resok.data)
            if reply.resok.eof or not reply.resok.data or offset >= size:
                return b"".join(chunks)


class NetworkPartitions(NfsMachine):
    """The partition rule, in the machines of configs with `partitions`."""

    @precondition(lambda self: self._target is not None and self._target.capabilities.partitions)
    @rule(starts_in=PARTITION_STARTS, lasts=PARTITION_LASTS)
    @recorded
    def partition(self, starts_in: float, lasts: float) -> None:
        self._step(f"PARTITION client and server in {starts_in} s, for {lasts} s")
        self.target.partition(starts_in, lasts)


class ClockJumps(NfsMachine):
    """The clock_jump rule, in the machines of configs with `clock_jumps`: no object's
    ctime may go back (CTIME-BACK, properties/nfs3/times.py; CHANGE-TIME is off, the
    clock being stepped). Each step of the clock is followed by a change the model knows,
    a SETATTR of the root's mode, so that a time gone back shows at once rather than only
    if a later random step changes something."""

    @precondition(lambda self: self._target is not None and self._target.capabilities.clock_jumps)
    @rule(seconds=CLOCK_JUMPS)
    @recorded
    def clock_jump(self, seconds: float) -> None:
        self._step(f"CLOCK of the server stepped {seconds:+} s")
        self.target.jump_clock(seconds)
        self._setattr(ROOT_ID, ROOT_PROBE_MODE, None)  # a change at once, with its ctime


RULE_SETS: dict[str, type[NfsMachine]] = {
    "retransmit": Retransmissions,
    "crashes": Crashes,
    "partitions": NetworkPartitions,
    "clock_jumps": ClockJumps,
}


def replay_machine(replay: ReplayFile, config: MachineConfig) -> ReplayOutcome:
    """A fresh machine of the recorded config driven through the recorded steps, against a
    fresh target of the recorded world built without pytest (properties/worlds/replay.py):
    sim exactly; on real sockets with the recorded decisions driving the fault proxy as
    closely as the world allows."""
    from properties.worlds.replay import replay_in_world

    return replay_in_world(replay, config.drc, lambda targets: machine_class(config, targets)())


NFS3_SERVER = Family("machine", MachineConfig, replay_machine, any_world=True, recorded_steps=True)
