"""The Hypothesis contract of recorded steps and their replay.

Recording and replaying a machine's steps (properties/harness/steps.py) leans on parts of
Hypothesis's stateful testing that are not its public API. The property: with the
installed Hypothesis, `setup_state()` lists the rules, initializers and invariants with
the `function`, `preconditions` and `check_during_init` that replay_steps reads, and a
rule's `function` is the one written below `@rule(...)`, which Hypothesis calls; an
`st.data()` argument arrives as an `st.DataObject`; an example whose data is used up ends
in `StopTest` (hypothesis.errors), which `teardown()` sees as the exception in flight;
`run_state_machine_as_test` checks invariants and runs initializers, rules and teardown in
the order replay_steps copies, so `replay_steps` goes through every run it finished again
with the same steps, draws, fault decisions, invariant checks and teardown. A RecordedMachine
whose rule or initialize function `@recorded` does not record (no `@recorded`, or
`@recorded` above `@rule(...)`) is refused when its class is defined, by `class` or by
`type(...)`, with an UnrecordedStep naming the class, the function and the fix. And what a
derandomized test draws does not depend on the modules loaded before it: Hypothesis reads
its pool of local constants through `providers._get_local_constants`, which the suite's
profiles (properties/harness/profiles.py) replace by an empty pool. And a test's budget
(properties/harness/progress.py) ends generation through
`ConjectureRunner.should_generate_more`: a capped run passes with the examples it had, a
failing one is still shrunk to its minimal example.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import StopTest
from hypothesis.internal.conjecture import providers
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from faults.sim import FaultRates, FaultSource, ReplayFaults
from properties.afs.machine import AfsMachineConfig, afs_machine_class
from properties.harness import profiles, progress
from properties.harness.progress import Budget, Meter
from properties.harness.steps import (
    Draws,
    RecordedMachine,
    UnrecordedStep,
    is_recorded,
    recorded,
    replay_steps,
)
from properties.nfs3.machine import (
    ClockJumps,
    MachineConfig,
    NetworkPartitions,
    NfsMachine,
    machine_class,
)
from properties.worlds.target import Target

QUICK = settings(
    max_examples=20,
    stateful_step_count=10,
    database=None,
    derandomize=True,
    deadline=None,
    phases=(Phase.generate,),
)
Decorator = Callable[[Callable[..., None]], Callable[..., None]]
STEP_DECORATORS = [(rule(), "rule"), (initialize(), "initialize")]


class Tally(RecordedMachine):
    """A counter whose runs note every step, draw, fault decision, invariant check and
    teardown in `events`: what a run and its replay must both go through."""

    runs: ClassVar[list[Tally]] = []  # every machine made, in order

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.events: list[str] = []
        Tally.runs.append(self)

    @initialize(start=st.integers(0, 3))
    @recorded
    def begin(self, start: int) -> None:
        self.total = start
        self.events.append(f"begin at {start}")

    @rule(data=st.data(), amount=st.integers(1, 5))
    @recorded
    def add(self, data: Draws, amount: int) -> None:
        times = data.draw(st.integers(0, 2), label="times")
        doubled = data.fault_source().choose("doubled", (1.0, 1.0))
        self.total += amount * times * (1 + doubled)
        self.events.append(f"add {amount} x {times}, doubled {doubled}")

    @precondition(lambda self: self.total > 1)
    @rule()
    @recorded
    def halve(self) -> None:
        self.total //= 2
        self.events.append("halve")

    @invariant(check_during_init=True)
    def seen_during_init(self) -> None:
        self.events.append(f"invariant during init: {self.total}")

    @precondition(lambda self: self.total % 2 == 0)
    @invariant()
    def even_after_init(self) -> None:
        self.events.append(f"invariant when even: {self.total}")

    def teardown(self) -> None:
        stopped = isinstance(sys.exc_info()[1], StopTest)  # Hypothesis ended the run midway
        self.events.append("teardown after StopTest" if stopped else "teardown")


def tally_at(total: int) -> Tally:
    machine = Tally()
    machine.total = total
    return machine


def test_setup_state_lists_the_recorded_rules_and_initializers_with_their_preconditions() -> None:
    state = Tally.setup_state()
    rules = {rule.function.__name__: rule for rule in state.rules}
    assert sorted(rules) == ["add", "halve"]
    assert [rule.function.__name__ for rule in state.initializers] == ["begin"]
    assert all(is_recorded(rule.function) for rule in [*state.rules, *state.initializers])
    assert not rules["add"].preconditions
    (more_than_one,) = rules["halve"].preconditions
    assert [more_than_one(tally_at(total)) for total in (1, 2)] == [False, True]


def test_setup_state_lists_the_invariants_with_check_during_init_and_preconditions() -> None:
    invariants = {each.function.__name__: each for each in Tally.setup_state().invariants}
    assert sorted(invariants) == ["even_after_init", "seen_during_init"]
    assert invariants["seen_during_init"].check_during_init is True
    assert not invariants["seen_during_init"].preconditions
    assert invariants["even_after_init"].check_during_init is False
    (even,) = invariants["even_after_init"].preconditions
    assert [even(tally_at(total)) for total in (3, 4)] == [False, True]
    machine = tally_at(4)
    invariants["even_after_init"].function(machine)
    assert machine.events == ["invariant when even: 4"]


def test_a_rule_s_function_is_the_step_hypothesis_calls_and_it_records() -> None:
    (halve,) = (rule for rule in Tally.setup_state().rules if rule.function.__name__ == "halve")
    machine = tally_at(6)
    halve.function(machine)
    assert (machine.total, machine.events) == (3, ["halve"])
    assert [step.function for step in machine.record.steps] == ["halve"]


def test_an_st_data_argument_arrives_as_a_data_object() -> None:
    arrived: list[object] = []

    class Probe(RuleBasedStateMachine):
        @rule(data=st.data())
        def look(self, data: object) -> None:
            arrived.append(data)

    run_state_machine_as_test(Probe, settings=QUICK)
    assert arrived
    assert all(isinstance(data, st.DataObject) for data in arrived)


def test_an_example_whose_data_is_used_up_reaches_teardown_as_stop_test() -> None:
    endings: list[BaseException | None] = []

    class Greedy(RuleBasedStateMachine):
        @rule(data=st.data())
        def draw_on(self, data: st.DataObject) -> None:
            if data.draw(st.booleans()):
                while True:
                    data.draw(st.binary(min_size=64, max_size=64))

        def teardown(self) -> None:
            endings.append(sys.exc_info()[1])

    run_state_machine_as_test(
        Greedy,
        settings=settings(QUICK, stateful_step_count=1, suppress_health_check=list(HealthCheck)),
    )
    assert None in endings  # the examples that ended by themselves
    assert any(isinstance(ending, StopTest) for ending in endings)


def test_replay_steps_goes_through_every_hypothesis_run_again_step_for_step() -> None:
    Tally.runs.clear()
    run_state_machine_as_test(Tally, settings=QUICK)
    # a run Hypothesis stopped midway has a step it cut short: the suite replays failures
    runs = [run for run in Tally.runs if run.events[-1] == "teardown"]
    assert len(runs) > 1
    assert any("halve" in run.events for run in runs)
    assert any(event.startswith("invariant when even") for run in runs for event in run.events)
    for run in runs:
        start = run.record.steps[0].args["start"]
        assert run.events[:2] == ["invariant during init: 0", f"begin at {start}"]
        replayed = Tally()
        decisions = [decision.index for decision in run.record.fault_decisions]
        replay_steps(replayed, run.record.steps, ReplayFaults(decisions))
        assert replayed.record.steps == run.record.steps
        assert replayed.events == run.events


@pytest.mark.parametrize(("decorator", "kind"), STEP_DECORATORS)
def test_a_step_without_recorded_is_refused_when_its_class_is_defined(
    decorator: Decorator, kind: str
) -> None:
    with pytest.raises(UnrecordedStep) as refusal:

        class Forgetful(RecordedMachine):
            @decorator
            def forgotten(self) -> None:
                pass

    assert str(refusal.value) == (
        f"Forgetful.forgotten is a @{kind} without @recorded, so its runs could not be "
        f"replayed: put @recorded directly below @{kind}(...)"
    )


@pytest.mark.parametrize(("decorator", "kind"), STEP_DECORATORS)
def test_recorded_above_the_step_decorator_is_refused_when_its_class_is_defined(
    decorator: Decorator, kind: str
) -> None:
    with pytest.raises(UnrecordedStep) as refusal:

        class Backwards(RecordedMachine):
            @recorded
            @decorator
            def hidden(self) -> None:
                pass

    assert str(refusal.value) == (
        f"Backwards.hidden has @recorded above @{kind}(...), where Hypothesis never calls "
        f"it and nothing is recorded: put @recorded directly below @{kind}(...)"
    )


def test_a_class_built_with_type_is_checked_the_same_way() -> None:
    def forgotten(machine: RecordedMachine) -> None:
        pass

    with pytest.raises(UnrecordedStep, match=r"^Built\.forgotten is a @rule without"):
        type("Built", (RecordedMachine,), {"forgotten": rule()(forgotten)})
    configured: type[Tally] = type("ConfiguredTally", (Tally,), {})
    assert [rule.function.__name__ for rule in configured.setup_state().initializers] == ["begin"]


def test_a_precondition_between_rule_and_recorded_keeps_the_step_recorded() -> None:
    class Guarded(RecordedMachine):
        @rule()
        @precondition(lambda self: True)
        @recorded
        def guarded(self) -> None:
            pass

    (guarded,) = Guarded.setup_state().rules
    assert is_recorded(guarded.function)
    assert len(guarded.preconditions) == 1


def no_target(faults: FaultSource, drc: bool = True, rates: FaultRates | None = None) -> Target:
    raise AssertionError("the machine classes are only defined here, never run")


def test_the_suites_machines_record_every_step() -> None:
    both = MachineConfig(partitions=True, clock_jumps=True)
    machines: list[type[RecordedMachine]] = [
        NfsMachine,
        NetworkPartitions,
        ClockJumps,
        machine_class(MachineConfig(), no_target),
        machine_class(both, no_target),
        afs_machine_class(AfsMachineConfig()),
    ]
    for machine in machines:
        state = machine.setup_state()
        assert state.rules, machine
        assert all(is_recorded(step.function) for step in [*state.rules, *state.initializers])
    rules = {rule.function.__name__ for rule in machine_class(both, no_target).setup_state().rules}
    assert {"partition", "clock_jump"} <= rules


def test_what_a_test_draws_does_not_depend_on_the_modules_loaded_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert providers._get_local_constants is profiles.no_local_constants

    def draws() -> list[int]:
        seen: list[int] = []

        @settings(database=None, derandomize=True, max_examples=300)
        @given(st.integers(0, 10**9))
        def collect(value: int) -> None:
            seen.append(value)

        collect()
        return seen

    before = draws()
    probe = tmp_path / "nfsprop_constants_probe.py"
    probe.write_text(f"VALUES = {tuple(range(123_456_000, 123_456_200))}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("nfsprop_constants_probe")
    assert draws() == before


def test_a_budget_ends_generation_and_a_failure_is_still_shrunk() -> None:
    progress.install()
    seen: list[int] = []

    @settings(max_examples=100, database=None, derandomize=True)
    @given(st.integers())
    def passing(n: int) -> None:
        seen.append(n)

    with progress.metering(Meter(Budget(max_examples=7))) as meter:
        passing()
    assert len(seen) == 7
    assert meter.first_failure is None

    tried: list[int] = []
    now = [0.0]

    @settings(max_examples=100, database=None, derandomize=True)
    @given(st.integers(min_value=0))
    def failing(n: int) -> None:
        tried.append(n)
        now[0] += 1.0  # each example takes a second
        assert n < 1000

    meter = Meter(Budget(max_examples=50), clock=lambda: now[0])
    with progress.metering(meter), pytest.raises(AssertionError):
        failing()
    assert tried[-1] == 1000  # Hypothesis runs the shrunk example last
    # the meter has the time of the first failing example, not of the shrunk one
    first = next(index for index, n in enumerate(tried) if n >= 1000)
    assert meter.first_failure == first + 1


def test_a_spent_time_budget_stops_after_one_example() -> None:
    progress.install()
    now = [0.0]
    meter = Meter(Budget(seconds=5.0), clock=lambda: now[0])
    assert not meter.spent(0) and not meter.spent(3)
    now[0] = 5.0
    assert not meter.spent(0) and meter.spent(1)
