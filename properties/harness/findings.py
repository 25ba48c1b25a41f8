"""Findings: what the suite says about a server, each with a stable code, a title, the RFC
section it rests on and a verdict.

Rules:
- A Rule is one thing a server may break: a short greppable code (as pynfs's CODE:
  lines), a one-line title and the section of RFC 1813, 1094, 1833 or 5531 it rests on,
  and, for a rule that holds a server to what its user said (a duplicate request cache
  with --target-drc yes), that claim (CLAIMS).
  Rules are defined once, by `define()`, in their family's rules module; a code defined
  twice is refused. A Check is one property (a test function), marked with `@check(code,
  title, rfc)`; its code is stable too.
- A Finding is a Rule seen broken (or left out): its verdict (WARN: the RFC allows the
  answer but it is unhelpful; UNSUPPORTED: an optional feature the server leaves out;
  KNOWN: a FAIL the world's baseline lists; FAIL: an answer the RFC forbids), a message,
  the counterexample's steps (each a call, or `call<TAB>allowed<TAB>came back`:
  STEP_COLUMNS, shown on one line by `step_text`) and the replay file that reproduces it.
- While a test runs, `current()` is its Recorder (set by the pytest plugin around the
  call, with the test's world and that world's Baseline); outside a test it is a Recorder
  of no world. `verdict(rule)` is FAIL, or KNOWN when the baseline lists the code;
  `record()` keeps the first finding of each code and verdict; `steps()` counts the
  steps sent to the target, and `step(call)` counts one and adds it to the trail: a
  scenario's calls since its example began, shown by a FAIL raised without steps of its
  own. A planted-bug check keeps the minimal example it found (`found_shrunk`). A FAIL is
  raised as a FindingError (ModelMismatch is one), so Hypothesis shrinks it; WARN,
  UNSUPPORTED and KNOWN findings are only recorded and the test goes on.
- A check's verdict is its worst finding's (FAIL > KNOWN > WARN > UNSUPPORTED > PASS).
- A state machine keeps its run's steps in a StepLog: `_step(text)` adds a line (a step
  counted by the current Recorder), `_outcome(allowed, got)` completes the last one as
  `call<TAB>allowed<TAB>came back`; `log` is what its FAILs show.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])


class Verdict(enum.Enum):
    PASS = "pass"
    UNSUPPORTED = "unsupported"
    WARN = "warn"
    KNOWN = "known"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    rfc: str
    claim: str | None = None  # the user's word it also rests on: a CLAIMS key


# What a user may tell the suite about their server, that a rule then holds it to.
CLAIMS = {"target_drc": "--target-drc"}

RULES: dict[str, Rule] = {}


def define(code: str, title: str, rfc: str, claim: str | None = None) -> Rule:
    """Register the rule `code` (once: a second definition is a ValueError)."""
    if code in RULES:
        raise ValueError(f"finding code {code} is defined twice")
    if claim is not None and claim not in CLAIMS:
        raise ValueError(f"{code}: unknown claim {claim!r}; one of {sorted(CLAIMS)}")
    RULES[code] = rule = Rule(code, title, rfc, claim)
    return rule


Check = Rule  # a property's code, title and section: the same three things as a rule's
CHECKS: dict[str, Check] = {}
CHECK_MARKER = "nfsprop_check"
PLANTED_MARKER = "planted"  # `-m planted`: the checks `python3 -m bench detection` times


def check(code: str, title: str, rfc: str, planted: str | None = None) -> Callable[[F], F]:
    """Mark a test function as the check `code` (registered once); `planted` names the
    planted bug (a switch, never on outside tests) the check must find."""
    if code in CHECKS:
        raise ValueError(f"check code {code} is defined twice")
    CHECKS[code] = found = Check(code, title, rfc)

    def mark(function: F) -> F:
        marked: F = getattr(pytest.mark, CHECK_MARKER)(found.code)(function)
        if planted is not None:
            marked = getattr(pytest.mark, PLANTED_MARKER)(planted)(marked)
        return marked

    return mark


@dataclass(frozen=True)
class Finding:
    code: str
    verdict: Verdict
    message: str
    counterexample: tuple[str, ...] = ()
    replay: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding with its rule's title and section (known where it was recorded)."""
        body = dataclasses.asdict(self)
        body["verdict"] = self.verdict.value
        body["counterexample"] = list(self.counterexample)
        rule = RULES.get(self.code)
        body["title"] = rule.title if rule else ""
        body["rfc"] = rule.rfc if rule else ""
        body["claim"] = rule.claim if rule else None
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Finding:
        return cls(
            code=body["code"],
            verdict=Verdict(body["verdict"]),
            message=body["message"],
            counterexample=tuple(body["counterexample"]),
            replay=body["replay"],
        )


STEP_COLUMNS = "\t"  # a step may be `call<TAB>allowed<TAB>came back`


class StepLog:
    """A machine's steps as its FAILs show them (a mixin; see the module rules)."""

    log: list[str]

    def _step(self, text: str) -> None:
        self.log.append(text)
        current().steps()

    def _outcome(self, allowed: str, got: str) -> None:
        """The last step's line gets what was allowed and what came back; in a step of
        several calls, the last call's."""
        if self.log:
            call = self.log[-1].split(STEP_COLUMNS)[0]
            self.log[-1] = STEP_COLUMNS.join([call, allowed, got])


def step_text(step: str) -> str:
    """A step on one line: the call, and what was allowed and came back if it says."""
    call, *outcome = step.split(STEP_COLUMNS)
    return f"{call}  (allowed: {outcome[0]}; got {outcome[1]})" if len(outcome) == 2 else call


class FindingError(AssertionError):
    """A FAIL finding, raised so that Hypothesis shrinks the example that shows it."""

    def __init__(self, rule: Rule, message: str, steps: Iterable[str] = ()) -> None:
        self.rule = rule
        self.message = message
        self.steps = tuple(steps)
        self.replay: str | None = None  # the replay file the failure wrote, if any
        shown = "".join(f"\n  {n}. {step_text(step)}" for n, step in enumerate(self.steps, 1))
        super().__init__(f"{rule.code}: {message}" + (f"\nsteps:{shown}" if shown else ""))


@dataclass(frozen=True)
class Baseline:
    """Known finding codes per world, each with the reason a person gave."""

    known: dict[str, str] = field(default_factory=dict)  # code -> reason


@dataclass(frozen=True)
class Shrunk:
    """The minimal failing example a search found: what was drawn (empty when the steps
    say it all, as a machine's do) and its steps."""

    example: str
    steps: tuple[str, ...]


@dataclass
class Recorder:
    world: str | None = None
    baseline: Baseline = field(default_factory=Baseline)
    findings: dict[tuple[str, Verdict], Finding] = field(default_factory=dict)
    step_count: int = 0
    trail: list[str] = field(default_factory=list)  # a scenario example's calls (`step`)
    shrunk: Shrunk | None = None  # the minimal example a planted-bug check found

    def verdict(self, rule: Rule) -> Verdict:
        """FAIL, or KNOWN when this world's baseline lists the rule's code."""
        return Verdict.KNOWN if rule.code in self.baseline.known else Verdict.FAIL

    def record(self, finding: Finding) -> None:
        self.findings.setdefault((finding.code, finding.verdict), finding)

    def steps(self, count: int = 1) -> None:
        self.step_count += count

    def step(self, call: str) -> None:
        """Count one call of a scenario and add it to the trail its FAILs show."""
        self.step_count += 1
        self.trail.append(call)

    def found_shrunk(self, example: str, steps: Iterable[str]) -> None:
        """Keep the minimal failing example a planted-bug check found (bench detection)."""
        self.shrunk = Shrunk(example, tuple(steps))

    def fail(
        self,
        rule: Rule,
        message: str,
        steps: Iterable[str] = (),
        error: type[FindingError] = FindingError,
    ) -> None:
        """Raise `error`, or, when the baseline knows the rule, record it KNOWN."""
        steps = tuple(steps) or tuple(self.trail)
        if self.verdict(rule) is Verdict.FAIL:
            raise error(rule, message, steps)
        self.record(Finding(rule.code, Verdict.KNOWN, message, steps))

    def warn(self, rule: Rule, message: str, steps: Iterable[str] = ()) -> None:
        self.record(Finding(rule.code, Verdict.WARN, message, tuple(steps)))

    def unsupported(self, rule: Rule, message: str) -> None:
        self.record(Finding(rule.code, Verdict.UNSUPPORTED, message))


_current: list[Recorder] = [Recorder()]


def current() -> Recorder:
    return _current[-1]


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    _current.append(recorder)
    try:
        yield recorder
    finally:
        _current.pop()


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda verdict: verdict.rank, default=Verdict.PASS)
