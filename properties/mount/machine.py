"""The MOUNT v3 state machine: MNT, UMNT, UMNTALL, DUMP and EXPORT in random order (and
server restarts where the world can), each reply judged against the mount list model.

Rules:
- One machine drives one Target, made by the world's target factory with the example's
  fault source (`data.fault_source()`, or NoFaults when the config has no fault rates).
  The `start` step MNTs the export (its handle and its root's fileid are the export's
  from then on), makes two directories in it through NFSv3 MKDIR and asks EXPORT; it is
  not a logged step (shrunk lengths count the rules only).
- Paths: the example's own names start with its token (`token_of`: fixed in the
  simulation, whose server is the example's own; random on real sockets, whose server
  other examples, workers and earlier sessions share, and whose list may hold what they
  left). A rule draws a PathKind: either directory,
  the export, one climbing out by '..' from a directory, a missing name in the export,
  or a path outside it (the export's parent); the example's own directories first, so
  that shrinking ends on one. Only the token's paths are judged in DUMP
  (properties/mount/model.py); the export itself is every example's.
- Rules: MNT, UMNT and UMNTALL of a drawn path, each followed by a DUMP the model
  judges (so a step shows what it did to the list), EXPORT, and the restart below.
- MNT is judged by what the path names: the export answers MNT3_OK with a handle of its
  root (same fileid; different bytes only WARN); a directory answers its own handle or
  an error (UNSUPPORTED: the export refuses subdirectory mounts); a missing path answers
  an error; a path outside answers an error, unless EXPORT lists it, or it climbs by
  '..' and the handle is the export's root ('..' at the root stays there, as at an NFS
  export's root). An empty flavor list is a WARN.
- The network: on the simulated one, between steps the machine lets every message still
  travelling arrive (the `network_quiet` invariant: `run_until_idle`), as a client that
  waits for its calls to settle would see. Within a step, a drop, duplicate or delay may
  run its one call twice; MNT, UMNT and UMNTALL are idempotent in effect and the
  reference server keeps no reply cache for MOUNT (reference/nfs/drc_policy.py), so the
  model stays exact. Real sockets run without faults.
- Restarts (config.crashes, where the target can: the Restarts mixin): what was listed
  may be lost (the model's MAYBE); after a restart MNT of the export must still name
  its root, with the same handle where the world's handles survive restarts (a WARN if
  not: a should, RFC 1813 §2.5).
- A procedure answered PROC_UNAVAIL is UNSUPPORTED (DUMP, UMNT, UMNTALL, EXPORT); a reply
  that does not decode is RPC-REPLY-MALFORMED; either way the procedure is not called
  again in the run, and a MNT, UMNT or UMNTALL whose reply did not decode leaves the
  paths it touched uncertain. A FAIL raises FindingError with the steps; where the
  world's baseline knows the rule, a KNOWN finding ends the step (StepEnded).
- Every step is recorded (properties/harness/steps.py), so `run_mount_machine` leaves a
  replay file of the last (shrunk) run that `nfsprop replay` runs again (the MOUNT
  family, kind "mount", registered in properties/families.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import posixpath
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Self, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from faults.sim import FaultRates, NoFaults
from properties.harness import findings
from properties.harness.findings import FindingError, Rule, StepLog
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome
from properties.harness.steps import Codec, Draws, RecordedMachine, RunLog, StepEnded, recorded
from properties.mount import rules
from properties.mount.model import MountList, normal
from properties.nfs3.calls import NO_CHANGES
from properties.rpc.rules import REPLY_MALFORMED
from properties.worlds.target import Target, TargetFactory
from reference.rpc.errors import RpcAcceptError, RpcDenied, RpcGarbageReply
from reference.rpc.stubs import Procedure
from reference.xdr.gen.mount3 import (
    MNT3_OK,
    MOUNT_V3_PROCEDURES,
    MOUNTPROC3_DUMP,
    MOUNTPROC3_EXPORT,
    MOUNTPROC3_MNT,
    MOUNTPROC3_UMNT,
    MOUNTPROC3_UMNTALL,
    exportnode,
    mountbody,
    mountres3,
)
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    GETATTR3args,
    MKDIR3args,
    NFS_V3_Client,
    diropargs3,
    nfs_fh3,
)

A = TypeVar("A")
R = TypeVar("R")

PROC_UNAVAIL = 3  # accept_stat (RFC 5531 §9)
MNT: Procedure[bytes, mountres3] = MOUNT_V3_PROCEDURES[MOUNTPROC3_MNT]
DUMP: Procedure[None, list[mountbody]] = MOUNT_V3_PROCEDURES[MOUNTPROC3_DUMP]
UMNT: Procedure[bytes, None] = MOUNT_V3_PROCEDURES[MOUNTPROC3_UMNT]
UMNTALL: Procedure[None, None] = MOUNT_V3_PROCEDURES[MOUNTPROC3_UMNTALL]
EXPORT: Procedure[None, list[exportnode]] = MOUNT_V3_PROCEDURES[MOUNTPROC3_EXPORT]
SIM_TOKEN = b"nfsprop-mnt-"  # the simulated server is the example's own
QUIET_EVENTS = 100_000  # bounds letting the simulated network go quiet


class PathKind(enum.Enum):
    """What a drawn path names; the first ones first, as shrinking prefers them."""

    DIRECTORY = "a directory in the export"
    OTHER_DIRECTORY = "another directory in the export"
    EXPORT = "the export"
    CLIMBING = "'..' out of a directory, past the export's root"
    MISSING = "a missing name in the export"
    OUTSIDE = "the export's parent"


PATH = st.sampled_from(list(PathKind))
ALLOWED = {  # what MNT of each kind may answer, as a failure's steps show it
    PathKind.DIRECTORY: "MNT3_OK, or an error",
    PathKind.OTHER_DIRECTORY: "MNT3_OK, or an error",
    PathKind.EXPORT: "MNT3_OK",
    PathKind.CLIMBING: "an error, or the export's root",
    PathKind.MISSING: "an error",
    PathKind.OUTSIDE: "an error, or MNT3_OK if exported",
}
DIRECTORIES = (PathKind.DIRECTORY, PathKind.OTHER_DIRECTORY)


def token_of(target: Target) -> bytes:
    """A name no other example of a shared server uses (see the module rules)."""
    if target.sim is not None:
        return SIM_TOKEN
    return SIM_TOKEN + uuid.uuid4().hex[:12].encode() + b"-"


def paths_of(export: bytes, token: bytes) -> dict[PathKind, bytes]:
    """The path of each kind, for `export` and the example's `token`."""
    root = export.rstrip(b"/")
    directory = root + b"/" + token + b"a"
    parent = root.rsplit(b"/", 1)[0]
    return {
        PathKind.EXPORT: export,
        PathKind.DIRECTORY: directory,
        PathKind.OTHER_DIRECTORY: root + b"/" + token + b"b",
        PathKind.CLIMBING: directory + b"/../..",
        PathKind.MISSING: root + b"/" + token + b"missing",
        PathKind.OUTSIDE: (parent or b"/") if root else b"/..",
    }


def under(path: bytes, exported: bytes) -> bool:
    """Whether `path`, its '..' resolved as text, is `exported` or below it."""
    resolved, top = normal(posixpath.normpath(path)), normal(exported)
    return resolved == top or resolved.startswith(top.rstrip(b"/") + b"/")


@dataclass(frozen=True)
class MountConfig:
    """Which runs a machine makes (an input: frozen, and JSON in replay files)."""

    rates: FaultRates | None = None  # None: no network faults (the target gets NoFaults)
    crashes: bool = False

    def to_json(self) -> dict[str, Any]:
        rates = None if self.rates is None else dataclasses.asdict(self.rates)
        return {"rates": rates, "crashes": self.crashes}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError or KeyError if `body` does not describe one."""
        if not isinstance(body["crashes"], bool):
            raise TypeError("crashes must be true or false")
        rates = body["rates"]
        return cls(None if rates is None else FaultRates(**rates), body["crashes"])


def machine_class(
    config: MountConfig, make_target: TargetFactory, log: RunLog | None = None
) -> type[MountMachine]:
    """A machine class bound to `config`, reaching its target through `make_target` and
    logging its runs to `log`; with config.crashes, the Restarts mixin adds its rule."""
    attributes = {
        "config": config,
        "make_target": staticmethod(make_target),
        "run_log": RunLog() if log is None else log,
    }
    base = Restarts if config.crashes else MountMachine
    configured: type[MountMachine] = type("ConfiguredMountMachine", (base,), attributes)
    return configured


def run_mount_machine(
    config: MountConfig,
    make_target: TargetFactory,
    configured: settings,
    context: RunContext | None = None,
    log: RunLog | None = None,
    directory: Path | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file (run_recorded_machine)."""
    log = RunLog() if log is None else log
    machine = machine_class(config, make_target, log)
    run_recorded_machine(machine, configured, MOUNT, config, log, context, directory)


class MountMachine(StepLog, RecordedMachine):
    config: ClassVar[MountConfig]
    make_target: ClassVar[TargetFactory]
    run_log: ClassVar[RunLog]
    codec = Codec((PathKind,))

    def __init__(self) -> None:
        super().__init__()
        self.run_log.latest = self.record
        self.log: list[str] = []
        self.run_log.logs.append(self.log)
        self._target: Target | None = None
        self.model = MountList(SIM_TOKEN)
        self.paths: dict[PathKind, bytes] = {}
        self.fileids: dict[PathKind, int] = {}  # the export's root and the two directories
        self.handles: dict[PathKind, bytes] = {}  # the first handle MNT gave each path
        self.named: dict[bytes, int] = {}  # handle -> the fileid GETATTR (or MKDIR) gave
        self.exports: list[bytes] | None = None  # what EXPORT listed; None: not known
        self.unserved: set[int] = set()  # procedures answered PROC_UNAVAIL or garbage

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
        self._target = target = self.make_target(faults, True, config.rates)
        self.record.world = target.sim
        self.record.wire = target.wire
        token = token_of(target)
        self.model = MountList(token)
        self.paths = paths_of(target.export, token)
        self._step(f"MNT {self._shown(PathKind.EXPORT)} (the start)")
        try:
            root = self._mnt(PathKind.EXPORT)
        except StepEnded:
            raise StepEnded(rest_of_run=True) from None  # known: the export cannot be mounted
        assert root is not None
        for kind in DIRECTORIES:
            self._mkdir(root, kind)
        self._step("EXPORT (the start)")
        with contextlib.suppress(StepEnded):  # recorded, KNOWN or UNSUPPORTED: go on
            self._export()
        self.log.clear()  # not logged steps: shrunk lengths count the rules only

    def _mkdir(self, root: bytes, kind: PathKind) -> None:
        name = self.paths[kind].rsplit(b"/", 1)[1]
        args = MKDIR3args(diropargs3(nfs_fh3(root), name), NO_CHANGES)
        made = self.target.run(NFS_V3_Client(self.target.caller).NFSPROC3_MKDIR(args))
        handle = made.resok.obj.handle if made.resok is not None else None
        if made.status != NFS3_OK or made.resok is None or handle is None:
            raise RuntimeError(f"{self.target.name}: MKDIR {name!r} answered {made.status.name}")
        attributes = made.resok.obj_attributes.attributes
        if attributes is not None:
            self.named[handle.data] = attributes.fileid
        fileid = self._fileid(handle.data)
        if fileid is None:
            raise RuntimeError(f"{self.target.name}: GETATTR of new directory {name!r} failed")
        self.fileids[kind] = fileid

    # -- plumbing --

    def _shown(self, kind: PathKind) -> str:
        return self.paths[kind].decode("ascii", "replace")

    def _fail(self, rule: Rule, message: str) -> NoReturn:
        """A FAIL finding (FindingError), or, when the baseline knows the rule, a KNOWN
        finding that ends the step."""
        text = f"{message} (on {self.target.name})"
        findings.current().fail(rule, text, self.log, FindingError)
        raise StepEnded()

    def _warn(self, rule: Rule, message: str) -> None:
        findings.current().warn(rule, f"{message} (on {self.target.name})", self.log)

    def _fileid(self, handle: bytes) -> int | None:
        """The fileid of the object `handle` names: GETATTR's (None if it answers an
        error), asked once per handle (equal handles name one file: RFC 1813 §2.5)."""
        if handle in self.named:
            return self.named[handle]
        nfs = NFS_V3_Client(self.target.caller)
        got = self.target.run(nfs.NFSPROC3_GETATTR(GETATTR3args(nfs_fh3(handle))))
        if got.status != NFS3_OK or got.resok is None:
            return None
        self.named[handle] = fileid = got.resok.obj_attributes.fileid
        return fileid

    def _mount_call(
        self, procedure: Procedure[A, R], args: A, unsure: Callable[[], None] = lambda: None
    ) -> R:
        """The reply to one MOUNT call. A procedure not served (now or earlier in the
        run) ends the step (see the module rules); `unsure` tells the model of a reply
        that did not decode."""
        name = procedure.name.removeprefix("MOUNTPROC3_")
        if procedure.number in self.unserved:
            self._outcome("a MOUNT reply", "not called: not served")
            raise StepEnded()
        target = self.target
        try:
            return target.run(target.mount_caller.call(procedure, args))
        except (RpcAcceptError, RpcDenied, RpcGarbageReply) as answer:
            self._outcome("a MOUNT reply", str(answer).split(":", 1)[0])
            unserved = rules.UNSERVED.get(procedure.number)
            if isinstance(answer, RpcAcceptError) and answer.stat == PROC_UNAVAIL and unserved:
                self.unserved.add(procedure.number)
                findings.current().unsupported(unserved, f"{name} answered PROC_UNAVAIL")
                raise StepEnded() from None
            if isinstance(answer, RpcGarbageReply):
                self.unserved.add(procedure.number)
                unsure()
                self._fail(REPLY_MALFORMED, f"{name}: {answer}")
            self._fail(rules.MOUNT_RPC, f"{name}: {answer}")

    # -- MNT --

    def _mnt(self, kind: PathKind) -> bytes | None:
        """MNT of the path of `kind`, judged; the handle when MNT3_OK."""
        path = self.paths[kind]
        reply = self._mount_call(MNT, path, lambda: self.model.uncertain(path))
        status = reply.fhs_status
        self._outcome(ALLOWED[kind], status.name)
        if status != MNT3_OK or reply.mountinfo is None:
            self._refused(kind, status.name)
            return None
        handle = reply.mountinfo.fhandle
        self.model.mounted(path)
        if not reply.mountinfo.auth_flavors:
            self._warn(rules.MNT_FLAVORS, f"MNT {path!r} answered MNT3_OK with no flavors")
        self._judge_handle(kind, handle)
        return handle

    def _refused(self, kind: PathKind, status: str) -> None:
        path = self.paths[kind]
        if kind is PathKind.EXPORT:
            self._fail(rules.MNT_EXPORT, f"MNT of the export {path!r} answered {status}")
        if kind in DIRECTORIES:
            findings.current().unsupported(
                rules.SUBDIRECTORY_MOUNTS, f"MNT of a directory in the export answered {status}"
            )

    def _judge_handle(self, kind: PathKind, handle: bytes) -> None:
        path = self.paths[kind]
        fileid = self._fileid(handle)
        if kind is PathKind.EXPORT and PathKind.EXPORT not in self.fileids:
            if fileid is None:
                self._fail(rules.MNT_EXPORT, f"the handle MNT {path!r} gave answers no GETATTR")
            self.fileids[kind] = fileid
        shown = "no GETATTR" if fileid is None else f"fileid {fileid}"
        if kind is PathKind.MISSING:
            self._fail(
                rules.MNT_MISSING, f"MNT {path!r}, nothing there, answered MNT3_OK ({shown})"
            )
        if kind in (PathKind.OUTSIDE, PathKind.CLIMBING):
            self._judge_outside(path, fileid, shown)
            return
        expected = self.fileids[kind]
        if fileid != expected:
            rule = rules.MNT_EXPORT if kind is PathKind.EXPORT else rules.MNT_DIRECTORY
            self._fail(rule, f"MNT {path!r} answered a handle of {shown}, not fileid {expected}")
        first = self.handles.setdefault(kind, handle)
        if handle != first:
            self._warn(
                rules.MNT_HANDLE_STEADY,
                f"MNT {path!r} answered {handle.hex()}, earlier {first.hex()} (one directory)",
            )

    def _judge_outside(self, path: bytes, fileid: int | None, shown: str) -> None:
        climbs = b"/.." in path
        if climbs and fileid is not None and fileid == self.fileids[PathKind.EXPORT]:
            return  # '..' stopped at the export's root
        if self.exports is None:
            self._warn(
                rules.MNT_OUTSIDE,
                f"MNT {path!r}, outside the export, answered MNT3_OK ({shown}); EXPORT is "
                "not known, so whether another export holds it is not either",
            )
        elif not any(under(path, exported) for exported in self.exports):
            self._fail(
                rules.MNT_OUTSIDE,
                f"MNT {path!r}, outside the export, answered MNT3_OK ({shown}); EXPORT lists "
                f"only {self.exports!r}",
            )

    @rule(kind=PATH)
    @recorded
    def mnt(self, kind: PathKind) -> None:
        self._step(f"MNT {self._shown(kind)}")
        self._mnt(kind)
        self._dump()

    # -- the mount list --

    @rule(kind=PATH)
    @recorded
    def umnt(self, kind: PathKind) -> None:
        path = self.paths[kind]
        self._step(f"UMNT {self._shown(kind)}")
        self._mount_call(UMNT, path, lambda: self.model.uncertain(path))
        self.model.unmounted(path)
        self._dump()

    @rule()
    @recorded
    def umntall(self) -> None:
        self._step("UMNTALL")
        self._mount_call(UMNTALL, None, self.model.uncertain)
        self.model.unmounted_all()
        self._dump()

    def _dump(self) -> None:
        """DUMP, judged by the model: after every call that may change the mount list."""
        if DUMP.number in self.unserved:
            return
        self._step("DUMP")
        entries = self._mount_call(DUMP, None)
        owned = [e for e in entries if self.model.owns(e.ml_directory)]
        self._outcome("this example's mounts", f"{len(owned)} of its own in {len(entries)}")
        problems = self.model.judge(entries)
        for problem in problems:
            if problem.rule is not rules.DUMP_KEPT:
                self._fail(problem.rule, problem.message)
        for problem in problems:
            self._warn(problem.rule, problem.message)

    # -- the export list --

    def _export(self) -> None:
        listed = self._mount_call(EXPORT, None)
        self.exports = [node.ex_dir for node in listed]
        export = self.target.export
        if not any(under(export, exported) for exported in self.exports):
            self._fail(
                rules.EXPORT_LISTED,
                f"EXPORT lists {self.exports!r}, not the export {export!r} MNT takes",
            )

    @rule()
    @recorded
    def export(self) -> None:
        self._step("EXPORT")
        self._export()

    # -- the network --

    @invariant()
    def network_quiet(self) -> None:
        """Between steps, every message still travelling arrives (see the module rules)."""
        if self._target is not None and self._target.sim is not None:
            self._target.sim.run_until_idle(max_events=QUIET_EVENTS)

    def teardown(self) -> None:
        if self._target is not None:
            self._target.close()


class Restarts(MountMachine):
    """The restart rule (config.crashes), where the target can restart its server."""

    @precondition(lambda self: self._target is not None and self._target.capabilities.crashes)
    @rule()
    @recorded
    def restart(self) -> None:
        self._step("RESTART the server")
        self.target.crash_and_restart()
        self.model.restarted()
        self._dump()
        if not self.target.capabilities.handles_survive_restart:
            self.handles.clear()  # new handles are no news where old ones die
            self.named.clear()


def replay_mount(replay: ReplayFile, config: MountConfig) -> ReplayOutcome:
    """A fresh machine of the recorded config driven through the recorded steps, against
    a fresh target of the recorded world (properties/worlds/replay.py)."""
    from properties.worlds.replay import replay_in_world

    return replay_in_world(replay, True, lambda targets: machine_class(config, targets)())


MOUNT = Family("mount", MountConfig, replay_mount, any_world=True, recorded_steps=True)
