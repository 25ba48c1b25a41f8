"""Recorded state-machine steps, and their replay without Hypothesis generating anything.

Rules:
- A machine that records its steps subclasses RecordedMachine, names in its `codec` the
  enums and dataclasses its steps may hold, and decorates every rule and initialize
  function with `@recorded`, placed below `@rule(...)` / `@initialize(...)`. Each call
  appends a RecordedStep to the machine's RunRecord before the body runs: the function's
  name, its keyword arguments (JSON, through the codec), and then every value drawn inside
  the step, in order.
- A RecordedMachine subclass is refused when it is defined, by `class` or by `type(...)`,
  if `@recorded` does not record one of its rules or initialize functions: one without
  `@recorded`, or with `@recorded` above `@rule(...)` / `@initialize(...)` (Hypothesis
  calls the function below those, so nothing would be recorded). The refusal is an
  UnrecordedStep, a TypeError naming the class and the function and saying where to put
  `@recorded`.
- A step that raises StepEnded ends there and the run goes on (a known finding: see
  properties/harness/findings.py); with `rest_of_run`, every later step of the run is
  recorded and does nothing, so a replay meets the same draws.
- An `st.data()` argument reaches the rule as a `Draws` (a RecordingData). Whatever Draws
  a draw goes through, even one a machine kept from an earlier step, it belongs to the
  step running at that moment.
- Every machine's construction counts an example in the test's Meter
  (properties/harness/progress.py).
- Fault decisions: `data.fault_source()` is the run's one fault source, recorded by a
  RecordingFaults in the RunRecord: the example's Hypothesis data while testing, the
  recorded decisions on replay. A machine that drives a simulated world puts it in
  `record.world`, so its trace can go into a replay file; one on real sockets puts its
  target's capture in `record.wire`, for a pcap file.
- `replay_steps(machine, steps, faults)` drives a fresh machine as Hypothesis would: the
  invariants before the first step (those checked during initialisation only), each
  step's function (the initialize steps first, a rule's preconditions must hold), the
  invariants after every step, and `teardown()` at the end even when a step raised. The
  draws come back from the recording; a step asking for more or fewer draws than it
  made, an unknown function or a false precondition is StepsDiverged: the run is not the
  recorded one. The rules, initializers and invariants come from the machine class's
  `setup_state()`, Hypothesis's own registry of them; no example is generated. The
  Hypothesis internals this relies on are checked by tests/replay/test_hypothesis_contract.py.
- JSON of values: None, bools, ints, floats and strings as they are; lists as lists;
  bytes as {"text": ascii} when printable ASCII (names stay readable), else {"bytes": hex};
  {"tuple": [...]}, {"enum": [class, member]}, {"dataclass": [class,
  {field: value}]}, and {"data": null} for an `st.data()` argument. A value of any other
  type, or of a class the codec does not name, is a TypeError while recording; a JSON
  value that does not decode is a StepFormatError.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.strategies import SearchStrategy

from faults.sim import Choice, FaultSource, HypothesisFaults, RecordingFaults, SimWorld
from properties.harness import progress
from properties.harness.diff import field_names
from reference.rpc.aio_client import WireMessage

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., None])

DATA_ARGUMENT: dict[str, None] = {"data": None}
# Set on a @recorded step; functools.wraps copies it to the wrappers Hypothesis puts on it.
RECORDED_MARKER = "nfsprop_recorded_step"


class StepFormatError(ValueError):
    """A recorded step or value that does not decode; the message says which."""


class StepsDiverged(Exception):
    """A replayed run asked for something other than what the recording holds."""


class UnrecordedStep(TypeError):
    """A rule or initialize function of a RecordedMachine that `@recorded` does not record."""


class Draws(Protocol):
    """What a rule's `st.data()` argument offers: draws, and the run's fault source."""

    def draw(self, strategy: SearchStrategy[T], label: Any = None) -> T: ...

    def fault_source(self) -> FaultSource: ...


class Codec:
    """JSON for the values of recorded steps (see the module rules); `types` are the enums
    and dataclasses it may meet."""

    def __init__(self, types: Iterable[type] = ()) -> None:
        self.types = {kind.__qualname__: kind for kind in types}

    def encode(self, value: object) -> Any:
        if value is None or isinstance(value, bool | str | float):
            return value
        if isinstance(value, enum.Enum):
            return {"enum": [self._known(type(value)), value.name]}
        if isinstance(value, int):
            return int(value)
        if isinstance(value, bytes):
            if value.isascii() and value.decode("ascii").isprintable():
                return {"text": value.decode("ascii")}  # names read as names
            return {"bytes": value.hex()}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(item) for item in value]}
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        names = field_names(value)
        if names is not None:
            fields = {name: self.encode(getattr(value, name)) for name in names}
            return {"dataclass": [self._known(type(value)), fields]}
        raise TypeError(f"cannot record a {type(value).__name__} ({value!r}) in a step")

    def _known(self, kind: type) -> str:
        if self.types.get(kind.__qualname__) is not kind:
            raise TypeError(f"cannot record a {kind.__qualname__}: add it to the machine's codec")
        return kind.__qualname__

    def decode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise StepFormatError(f"not a recorded value: {value!r}")
        ((tag, body),) = value.items()
        try:
            return self._decode_tagged(tag, body)
        except (TypeError, ValueError, KeyError) as error:
            raise StepFormatError(f"bad recorded {tag} {body!r}: {error}") from None

    def _decode_tagged(self, tag: str, body: Any) -> Any:
        if tag == "bytes":
            return bytes.fromhex(body)
        if tag == "text":
            return str(body).encode("ascii")
        if tag == "tuple":
            return tuple(self.decode(item) for item in body)
        if tag == "enum":
            name, member = body
            return self._class(name)[member]
        if tag == "dataclass":
            name, fields = body
            return self._class(name)(**{key: self.decode(item) for key, item in fields.items()})
        raise StepFormatError(f"unknown recorded value tag {tag!r}")

    def _class(self, name: str) -> Any:
        kind = self.types.get(name)
        if kind is None:
            raise StepFormatError(f"unknown recorded class {name!r}")
        return kind


@dataclass
class RecordedStep:
    function: str  # the rule's (or initialize function's) name
    args: dict[str, Any]  # argument name -> JSON value
    draws: list[Any] = field(default_factory=list)  # JSON values, in the order drawn

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "args": self.args, "draws": self.draws}

    @staticmethod
    def from_json(value: object) -> RecordedStep:
        if not (
            isinstance(value, dict)
            and isinstance(value.get("function"), str)
            and isinstance(value.get("args"), dict)
            and isinstance(value.get("draws"), list)
        ):
            raise StepFormatError(f"a step is not {{function, args, draws}}: {value!r}"[:200])
        return RecordedStep(value["function"], value["args"], value["draws"])


@dataclass
class RunRecord:
    """One run of a machine: its steps, its fault decisions, its simulated world if any."""

    steps: list[RecordedStep] = field(default_factory=list)
    faults: RecordingFaults | None = None
    world: SimWorld | None = None
    wire: list[WireMessage] | None = None  # on real sockets: the RPC messages of the run

    @property
    def fault_decisions(self) -> list[Choice]:
        return list(self.faults.records) if self.faults is not None else []


@dataclass
class RunLog:
    """What the runs of one machine class left (Hypothesis runs many): each run's step log,
    in order, and the latest run's record (only the latest: a record holds its world).
    A machine's config is an input; this is its output."""

    logs: list[list[str]] = field(default_factory=list)
    latest: RunRecord | None = None


class StepEnded(Exception):
    """Raised in a recorded step to end it there: a known finding made the rest of the step
    meaningless. With `rest_of_run`, the machine's model no longer follows the target: the
    later steps of the run are recorded but do nothing."""

    def __init__(self, rest_of_run: bool = False) -> None:
        super().__init__("step ended" + (" with the rest of the run" if rest_of_run else ""))
        self.rest_of_run = rest_of_run


class RecordedMachine(RuleBasedStateMachine):
    """A state machine whose steps are recorded as data (see the module rules)."""

    codec: ClassVar[Codec] = Codec()

    def __init__(self) -> None:
        progress.current().example_started()
        super().__init__()
        self.record = RunRecord()
        self.run_ended = False  # a StepEnded(rest_of_run=True): later steps do nothing

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """UnrecordedStep unless `@recorded` records every rule and initialize function."""
        super().__init_subclass__(**kwargs)
        state = cls.setup_state()
        for kind, steps in (("rule", state.rules), ("initialize", state.initializers)):
            for step in steps:
                if is_recorded(step.function):
                    continue
                name = step.function.__name__
                place = f"put @recorded directly below @{kind}(...)"
                if is_recorded(getattr(cls, name, None)):
                    raise UnrecordedStep(
                        f"{cls.__name__}.{name} has @recorded above @{kind}(...), where "
                        f"Hypothesis never calls it and nothing is recorded: {place}"
                    )
                raise UnrecordedStep(
                    f"{cls.__name__}.{name} is a @{kind} without @recorded, so its runs "
                    f"could not be replayed: {place}"
                )


class RecordingData:
    """The Draws a recorded rule gets: draws through `inner`, noted in the running step."""

    def __init__(self, record: RunRecord, codec: Codec, inner: st.DataObject | Draws) -> None:
        self._record = record
        self._codec = codec
        self._inner = inner

    def draw(self, strategy: SearchStrategy[T], label: Any = None) -> T:
        value = self._inner.draw(strategy, label)
        self._record.steps[-1].draws.append(self._codec.encode(value))
        return value

    def fault_source(self) -> FaultSource:
        if self._record.faults is None:
            inner = self._inner
            source = HypothesisFaults(inner) if isinstance(inner, st.DataObject) else None
            self._record.faults = RecordingFaults(source or cast(Draws, inner).fault_source())
        return self._record.faults


def recorded(function: F) -> F:
    """Record each call of a rule (see the module rules); put it below @rule/@initialize."""

    @functools.wraps(function)
    def step(machine: RecordedMachine, **arguments: Any) -> None:
        record, codec = machine.record, machine.codec
        passed: dict[str, Any] = {}
        encoded: dict[str, Any] = {}
        for name, value in arguments.items():
            if isinstance(value, st.DataObject | ReplayData):
                passed[name] = RecordingData(record, codec, value)
                encoded[name] = DATA_ARGUMENT
            else:
                passed[name] = value
                encoded[name] = codec.encode(value)
        record.steps.append(RecordedStep(function.__name__, encoded))
        if machine.run_ended:
            return
        try:
            function(machine, **passed)
        except StepEnded as ended:
            machine.run_ended = ended.rest_of_run

    setattr(step, RECORDED_MARKER, True)
    return cast(F, step)


def is_recorded(function: object) -> bool:
    """Whether `function` is a @recorded step, or a wrapper functools.wraps made of one."""
    return getattr(function, RECORDED_MARKER, False) is True


class ReplayData:
    """Hypothesis's DataObject stood in for: the running step's recorded draws, in order."""

    def __init__(self, codec: Codec, faults: FaultSource) -> None:
        self._codec = codec
        self._faults = faults
        self._step: RecordedStep | None = None
        self._number = 0
        self._position = 0

    def begin(self, number: int, step: RecordedStep) -> None:
        self._number, self._step, self._position = number, step, 0

    def end(self) -> None:
        """StepsDiverged if the step drew fewer values than it recorded."""
        step = self._step
        if step is not None and self._position != len(step.draws):
            raise StepsDiverged(
                f"step {self._number} ({step.function}) drew {self._position} values, "
                f"the recording {len(step.draws)}"
            )

    def draw(self, strategy: SearchStrategy[T], label: Any = None) -> T:
        step = self._step
        if step is None or self._position >= len(step.draws):
            name = step.function if step is not None else "before any step"
            raise StepsDiverged(
                f"step {self._number} ({name}) drew more values than recorded ({label})"
            )
        value = self._codec.decode(step.draws[self._position])
        self._position += 1
        return cast(T, value)

    def fault_source(self) -> FaultSource:
        return self._faults


def replay_steps(
    machine: RecordedMachine, steps: Sequence[RecordedStep], faults: FaultSource
) -> None:
    """Run `steps` on `machine` as Hypothesis ran them (see the module rules)."""
    data = ReplayData(machine.codec, faults)
    state = type(machine).setup_state()
    rules = {rule.function.__name__: rule for rule in state.rules}
    pending = {rule.function.__name__: rule for rule in state.initializers}
    try:
        _check_invariants(machine, state.invariants, initializing=bool(pending))
        for number, step in enumerate(steps, 1):
            rule = pending.pop(step.function, None) if pending else rules.get(step.function)
            if rule is None:
                raise StepsDiverged(f"step {number}: no rule {step.function!r} to run now")
            if not all(holds(machine) for holds in rule.preconditions):
                raise StepsDiverged(f"step {number}: the precondition of {step.function} fails")
            arguments = {
                name: data if value == DATA_ARGUMENT else machine.codec.decode(value)
                for name, value in step.args.items()
            }
            data.begin(number, step)
            rule.function(machine, **arguments)
            data.end()
            _check_invariants(machine, state.invariants, initializing=bool(pending))
    finally:
        machine.teardown()


def _check_invariants(machine: RecordedMachine, invariants: list[Any], initializing: bool) -> None:
    for invariant in invariants:
        if initializing and not invariant.check_during_init:
            continue
        if all(holds(machine) for holds in invariant.preconditions):
            invariant.function(machine)
