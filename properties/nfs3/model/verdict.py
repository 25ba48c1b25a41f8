"""Verdicts: how a status a server answered compares with what the model allows.

Rules:
- The model never insists on one status where RFC 1813 (or POSIX, which NFS servers
  follow) allows several. An operation on the model returns a Plan: every status it
  accepts, each with a Judgement (PASS: what the RFC or POSIX says; WARN: allowed, but
  worth reporting) and the reason. A status outside the plan is a FAIL.
- NFS3_OK is in a plan only together with its effect on the model: `settle(NFS3_OK)` runs
  the effect once and returns its value (the new object's id, the bytes a READ must
  return, ...). An error status changes nothing: NFSv3 operations are all-or-nothing.
- When several preconditions fail at once, each of their errors is acceptable: servers
  check in different orders. `Refusals` collects them; the best verdict of a status wins.
- Every refusal names the rule (properties/nfs3/rules.py) that makes the model refuse; a
  status outside the plan is judged against the first refusal's rule, or, when the
  model expected success, against the operation's "-REFUSED" rule (LIVE-STALE when the
  answer was NFS3ERR_STALE: a live object's handle stopped working). An error outside the
  plan of a call that used the handle of an object RENAME moved (it, or a directory above
  it, since the client got the handle) breaks HANDLE-MOVED: one rule for a server whose
  handles name paths, whatever the operation. WARN judgements carry
  their rule too; the machine records them as WARN findings and raises FAIL ones as
  `ModelMismatch`, a FindingError (properties/harness/findings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from properties.harness.findings import FindingError, Rule
from properties.nfs3.rules import HANDLE_MOVED, LIVE_STALE, refused
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_STALE, nfsstat3

T = TypeVar("T")


class Verdict(Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str
    rule: Rule | None = None  # None: a PASS that needs no rule


class ModelMismatch(FindingError):
    """A target answered something the model does not allow (a FAIL verdict)."""


def status_name(status: int) -> str:
    try:
        return nfsstat3(status).name
    except ValueError:
        return f"nfsstat3 {status}"


@dataclass
class Plan(Generic[T]):
    """The statuses an operation may answer, and what NFS3_OK does to the model."""

    operation: str
    allowed: dict[nfsstat3, Judgement]
    effect: Callable[[], T] | None = None
    moved: bool = False  # the call uses the handle of an object RENAME moved
    settled: bool = field(default=False, init=False)

    def judge(self, status: int) -> Judgement:
        judgement = self.allowed.get(nfsstat3(status)) if status in _STATUS_VALUES else None
        if judgement is not None:
            return judgement
        expected = ", ".join(status_name(s) for s in sorted(self.allowed))
        moved = " (a handle of an object RENAME moved)" if self.moved else ""
        return Judgement(
            Verdict.FAIL,
            f"{self.operation}: expected one of {expected}, got {status_name(status)}{moved}",
            self.broken_rule(status),
        )

    def broken_rule(self, status: int) -> Rule:
        """The rule an answer outside the plan breaks (see the module rules)."""
        ok = self.allowed.get(NFS3_OK)
        if self.moved and status != NFS3_OK:
            return HANDLE_MOVED
        if status == NFS3ERR_STALE:  # allowed for a removed object: these objects live
            return LIVE_STALE
        if status != NFS3_OK and ok is not None and ok.verdict is Verdict.PASS:
            return refused(self.operation)
        reasons = [j.rule for j in self.allowed.values() if j.rule is not None]
        return reasons[0] if reasons else refused(self.operation)

    def settle(self, status: int) -> T | None:
        """Apply the outcome `status` to the model (only NFS3_OK changes it)."""
        if self.settled:
            raise RuntimeError(f"{self.operation}: settled twice")
        self.settled = True
        if status != NFS3_OK:
            return None
        if self.effect is None or NFS3_OK not in self.allowed:
            raise RuntimeError(f"{self.operation}: NFS3_OK settled, but it is not allowed")
        return self.effect()


_STATUS_VALUES = frozenset(int(s) for s in nfsstat3)
_RANK = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


class Refusals:
    """Collects the errors an operation may answer, then makes the Plan."""

    def __init__(self) -> None:
        self.allowed: dict[nfsstat3, Judgement] = {}
        self.moved = False  # a handle the call uses is of an object RENAME moved

    def __bool__(self) -> bool:
        return bool(self.allowed)

    def add(
        self, rule: Rule, reason: str, *statuses: nfsstat3, verdict: Verdict = Verdict.PASS
    ) -> None:
        for status in statuses:
            old = self.allowed.get(status)
            if old is None or _RANK[verdict] < _RANK[old.verdict]:
                self.allowed[status] = Judgement(verdict, reason, rule)

    def warn(self, rule: Rule, reason: str, *statuses: nfsstat3) -> None:
        self.add(rule, reason, *statuses, verdict=Verdict.WARN)

    def plan(self, operation: str) -> Plan[T]:
        """The refusals only: NFS3_OK is not acceptable."""
        return Plan(operation, dict(self.allowed), moved=self.moved)

    def plan_or_ok(
        self, operation: str, effect: Callable[[], T], ok: Judgement | None = None
    ) -> Plan[T]:
        """The refusals, plus NFS3_OK with `effect` (judged `ok`, PASS by default).
        Without refusals, NFS3_OK is the only acceptable answer."""
        allowed = dict(self.allowed)
        allowed[NFS3_OK] = ok or Judgement(Verdict.PASS, "the operation succeeds")
        return Plan(operation, allowed, effect, self.moved)
