"""What every state machine judged by the model file system shares: the NFSv3 machine
(properties/nfs3/machine.py) and the NFSv2 one (properties/nfs2/machine.py).

Rules:
- A ModelMachine drives one Target (`target`, made by its mount step) and keeps the model
  (ModelFs), each object's handle and the fileid it first showed. Its protocol's rules
  for identity and retransmission are its `machine_rules`. A FAIL (`_fail`) is a finding
  raised as ModelMismatch, or KNOWN where the world's baseline knows its rule.
- The log is a StepLog (properties/harness/findings.py); `unfinished` is the step
  running now.
- Objects are drawn from the model: mostly a live one of the kind the rule prefers,
  sometimes any other (removed ones too, unless `removed_handles` is off; non-directories
  as directories unless `odd_directories` is off).
- Identity: one object always shows one fileid, two live objects never share one, and a
  removed object's handle that answers as a live object's fileid is the protocol's
  `reused` rule (the model no longer follows the server: the rest of the run is skipped).
- Retransmission (`retransmitted`): one call sent as a retransmitting client sends it
  (properties/nfs3/wire.py `same_xid_replies`); every reply must be byte-identical to the
  first (`at_most_once`, the model follows no further), and every copy answered
  (`raw_no_reply`).
- `configured_class(base, rule_sets, config, ...)` is a machine class bound to its config,
  target factory and run log, with the mixins of the optional rule sets the config
  switches on; `payload(seed, length)` is the bytes a WRITE step sends.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, NoReturn, TypeVar

from hypothesis import strategies as st

from properties.harness import findings
from properties.harness.diff import field_diff
from properties.harness.findings import Rule, StepLog
from properties.harness.steps import Draws, RecordedMachine, RunLog, StepEnded
from properties.nfs3.model import Directory, ModelFs, ModelMismatch, ModelObject, ObjectId
from properties.nfs3.wire import decode_reply, same_xid_replies
from properties.worlds.target import Target, TargetFactory
from reference.rpc.stubs import Procedure

A = TypeVar("A")
R = TypeVar("R")
M = TypeVar("M", bound="ModelMachine")

ODD_PICK = st.integers(0, 7)  # 0: an object of another kind or a removed one


@dataclass(frozen=True)
class MachineRules:
    """The rules a protocol's machine holds a server to, beyond the model's verdicts."""

    fileid: Rule  # one object, one fileid; never one of two live objects
    reused: Rule  # a removed object's handle answered as a live object
    at_most_once: Rule  # a retransmission got another reply than the first
    raw_no_reply: Rule  # a copy of a retransmitted call was not answered


def payload(seed: int, length: int) -> bytes:
    """`length` bytes that differ per seed, so overlapping writes are told apart."""
    return random.Random(seed).randbytes(length)


def configured_class(
    base: type[M],
    rule_sets: Mapping[str, type[M]],
    config: Any,
    make_target: TargetFactory,
    log: RunLog | None = None,
) -> type[M]:
    """`base` bound to `config`, reaching its target through `make_target` and logging its
    runs to `log`; each optional rule set whose config flag is on is a mixin, so the rule
    choices (and the examples) of every other machine stay as they were."""
    bases = tuple(mixin for name, mixin in rule_sets.items() if getattr(config, name))
    attributes = {
        "config": config,
        "make_target": staticmethod(make_target),
        "run_log": RunLog() if log is None else log,
    }
    configured: type[M] = type(f"Configured{base.__name__}", bases or (base,), attributes)
    return configured


class ModelMachine(StepLog, RecordedMachine):
    make_target: ClassVar[TargetFactory]
    run_log: ClassVar[RunLog]
    machine_rules: ClassVar[MachineRules]
    shown_protocol: ClassVar[str] = ""  # after the world's name in a FAIL's first line

    def __init__(self) -> None:
        super().__init__()
        self.run_log.latest = self.record
        self.model = ModelFs()
        self.handles: dict[ObjectId, bytes] = {}
        self.fileids: dict[ObjectId, int] = {}
        self.log: list[str] = []
        self.unfinished: str | None = None  # the step running now
        self.run_log.logs.append(self.log)
        self._target: Target | None = None

    @property
    def target(self) -> Target:
        assert self._target is not None, "the mount step has not run"
        return self._target

    @property
    def removed_handles(self) -> bool:
        """Whether removed objects are drawn, to probe staleness."""
        return True

    @property
    def odd_directories(self) -> bool:
        """Whether non-directories are drawn as directories."""
        return True

    def _fail(self, rule: Rule, reason: str, diverged: bool = False) -> NoReturn:
        """A FAIL finding: ModelMismatch, or, when the world's baseline knows the rule, a
        KNOWN finding that ends the step (and the run, if the model no longer follows the
        server: `diverged`, or a handle that reached another object)."""
        first, *detail = reason.split("\n", 1)  # where it happened, on the first line
        message = "\n".join([f"{first} (on {self.target.name}{self.shown_protocol})", *detail])
        findings.current().fail(rule, message, self.log, ModelMismatch)
        raise StepEnded(rest_of_run=diverged or rule is self.machine_rules.reused)

    # -- the log --

    def _step(self, text: str) -> None:
        super()._step(text)
        self.unfinished = text

    # -- the model's objects --

    def _draw_object(
        self, data: Draws, label: str, prefer: type[ModelObject] | None = None
    ) -> ObjectId:
        """Mostly a live object of the preferred kind; sometimes any other, removed ones too
        (as removed_handles and odd_directories allow)."""
        preferred = self.model.ids(alive=True, kind=prefer)
        alive = None if self.removed_handles else True
        odd_kinds = prefer is not Directory or self.odd_directories
        drawn = self.model.ids(alive, kind=None if odd_kinds else Directory)
        others = [i for i in drawn if i not in preferred]
        if preferred and (not others or data.draw(ODD_PICK, label=f"{label} is odd") != 0):
            return data.draw(st.sampled_from(preferred), label=label)
        return data.draw(st.sampled_from(others), label=label)

    def _entry(self, directory: ObjectId, name: bytes) -> ObjectId | None:
        """The live object `name` names in `directory` now, per the model."""
        node = self.model[directory]
        return node.entries.get(name) if isinstance(node, Directory) and node.alive else None

    def _of(self, object_id: ObjectId, rule: Rule) -> Rule:
        """`rule`, or the reuse rule when the object was removed: what its handle answered
        then belongs to whatever the server took the handle for."""
        return rule if self.model[object_id].alive else self.machine_rules.reused

    # -- identity --

    def _check_fileid(self, object_id: ObjectId, fileid: int, where: str) -> None:
        rules = self.machine_rules
        known = self.fileids.setdefault(object_id, fileid)
        if known != fileid:
            self._fail(
                self._of(object_id, rules.fileid),
                f"{where}: {self.model.describe(object_id)} has fileid {fileid}, was {known}",
            )
        alive = self.model[object_id].alive
        for other, other_fileid in self.fileids.items():
            if other == object_id or other_fileid != fileid or not self.model[other].alive:
                continue
            if alive:
                self._fail(
                    rules.fileid,
                    f"{where}: live objects {object_id} and {other} share fileid {fileid}",
                )
            self._fail(
                rules.reused,
                f"{where}: the handle of removed {self.model.describe(object_id)} "
                f"answered as live {self.model.describe(other)} (fileid {fileid} was reused)",
                diverged=True,
            )

    # -- retransmission --

    def retransmitted(self, procedure: Procedure[A, R], args: A) -> R:
        """The first reply to `args` sent as a retransmitting client sends it; the copies'
        replies must be the same bytes (see the module rules)."""
        rules = self.machine_rules
        xid, replies = same_xid_replies(self.target, procedure, args)
        first = replies[0]
        if first is None or None in replies:
            self._fail(rules.raw_no_reply, f"{procedure.name} xid {xid:#x}: no reply to a raw call")
        for copy, reply in enumerate(replies[1:], 2):
            if reply != first:
                after = " after a reconnect" if copy == 3 else ""
                once, again = decode_reply(procedure, first), decode_reply(procedure, reply)
                self._outcome(f"{self._status_of(once)} (the first reply)", self._status_of(again))
                self._fail(
                    rules.at_most_once,
                    f"{procedure.name} sent again{after} with xid {xid:#x} got another reply "
                    f"(executed twice?); first reply | copy {copy}:"
                    + "".join(f"\n  {line}" for line in field_diff(once, again)),
                    diverged=True,
                )
        return decode_reply(procedure, first)

    def _status_of(self, reply: object) -> str:
        """The status a reply carries (or is), by its protocol's name for it."""
        status = reply if isinstance(reply, int) else getattr(reply, "status", None)
        return status.name if isinstance(status, Enum) else str(status)
