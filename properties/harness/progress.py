"""Progress and budgets: what a long run says while it runs, and how it stops early.

Rules:
- Each test of the suite runs with a Meter (`current()`, set by the pytest plugin around
  the call, like the Recorder): the examples it ran, the server restarts it caused,
  and its Budget. An example starts in `example_started()`:
  called by every recorded state machine as it is built (properties/harness/steps.py)
  and, for `@given` tests, by a wrapper the plugin puts around Hypothesis's
  `inner_test` (Hypothesis's documented hook for plugins). A restart is counted where a
  target crashes its server.
- The Budget (`--max-examples N`, `--budget SECONDS`, per test): Hypothesis generates no
  new example for a run that has N valid examples, or in a test that started SECONDS ago
  (after one valid example at least), and ends it as it ends a run at max_examples: passed,
  or on to shrinking what failed. This rests on one name inside Hypothesis,
  `ConjectureRunner.should_generate_more`, which `install()` wraps;
  tests/replay/test_hypothesis_contract.py checks it against the installed Hypothesis.
- Events: with `--progress-dir DIR` (given by `nfsprop check`), each process that runs
  tests appends JSON lines to DIR/<process>.jsonl: "plan" (how many tests each check and
  world has, after selection), "start" and "end" of each test of a check (end: verdict,
  examples, steps, restarts, seconds, and `first_failure`: the seconds into the test at
  which a Hypothesis run first had a failing example, or null), and, from a thread, a
  "beat" at least every BEAT_SECONDS while a test runs (examples, restarts, steps so
  far). xdist's workers write their own files; the run's controller is the one reader.
- The ProgressPrinter (`nfsprop check`'s) reads the files from a thread and prints a line
  when a check in a world starts (its first test), a beat, and a line when it ends (its
  last test: the worst verdict, examples, steps, elapsed), to the terminal the command
  started with.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis.internal.conjecture.engine import ConjectureRunner

from properties.harness import findings
from properties.harness.findings import CHECK_MARKER, Verdict
from properties.harness.recording import (
    EXAMPLES_PROPERTY,
    FIRST_FAILURE_PROPERTY,
    RESTARTS_PROPERTY,
    world_of,
)
from properties.harness.results import NOT_RUN, check_of, verdict_of

BEAT_SECONDS = 30.0
POLL_SECONDS = 0.5
Clock = Callable[[], float]


@dataclass(frozen=True)
class Budget:
    max_examples: int | None = None
    seconds: float | None = None


@dataclass
class Meter:
    """One test's progress (see the module rules)."""

    budget: Budget = field(default_factory=Budget)
    clock: Clock = time.monotonic
    started: float = 0.0
    examples: int = 0
    restarts: int = 0
    first_failure: float | None = None  # seconds into the test of its first failing example

    def __post_init__(self) -> None:
        self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def spent(self, valid_examples: int) -> bool:
        """No new example for a Hypothesis run with `valid_examples` so far."""
        budget = self.budget
        if valid_examples == 0:
            return False
        over_count = budget.max_examples is not None and valid_examples >= budget.max_examples
        over_time = budget.seconds is not None and self.elapsed() >= budget.seconds
        return over_count or over_time

    def example_started(self) -> None:
        self.examples += 1

    def failure_found(self) -> None:
        """A Hypothesis run of this test has a failing example (the first one counts)."""
        if self.first_failure is None:
            self.first_failure = self.elapsed()


_current: list[Meter] = [Meter()]


def current() -> Meter:
    return _current[-1]


@contextmanager
def metering(meter: Meter) -> Iterator[Meter]:
    _current.append(meter)
    try:
        yield meter
    finally:
        _current.pop()


def metered(inner: Callable[..., Any]) -> Callable[..., Any]:
    """A `@given` test's inner function, counting its examples."""

    @functools.wraps(inner)
    def example(*args: Any, **kwargs: Any) -> Any:
        current().example_started()
        return inner(*args, **kwargs)

    return example


@functools.cache  # once per process
def install() -> None:
    """Make Hypothesis ask the running test's Meter before it generates an example."""
    generating = ConjectureRunner.should_generate_more

    def should_generate_more(runner: ConjectureRunner) -> bool:
        meter = current()
        if runner.interesting_test_cases:
            meter.failure_found()
        return generating(runner) and not meter.spent(runner.valid_test_cases)

    setattr(ConjectureRunner, "should_generate_more", should_generate_more)  # noqa: B010


class EventLog:
    """Appends one process's events to DIR/<name>.jsonl (each line written whole)."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._file = (directory / f"{name}.jsonl").open("a", buffering=1)
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(event) + "\n")

    def close(self) -> None:
        self._file.close()


class Heart:
    """A thread that writes a "beat" for the running test at least every BEAT_SECONDS."""

    def __init__(self, log: EventLog, wait: Callable[[float], bool] | None = None) -> None:
        """`wait(seconds)` waits, and says whether to stop (default: the stop event's)."""
        self._log = log
        self._running: tuple[dict[str, Any], Meter, Callable[[], int]] | None = None
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread = threading.Thread(target=self._beat, name="nfsprop-progress", daemon=True)
        self._thread.start()

    def watch(self, test: dict[str, Any], meter: Meter, steps: Callable[[], int]) -> None:
        self._running = (test, meter, steps)

    def unwatch(self) -> None:
        self._running = None

    def _beat(self) -> None:
        while not self._wait(BEAT_SECONDS):
            running = self._running
            if running is None:
                continue
            test, meter, steps = running
            self._log.write(
                {
                    **test,
                    "event": "beat",
                    "examples": meter.examples,
                    "restarts": meter.restarts,
                    "steps": steps(),
                    "seconds": round(meter.elapsed(), 1),
                }
            )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


@dataclass
class _Group:
    planned: int
    ended: int = 0
    started: float | None = None
    verdict: str = NOT_RUN
    examples: int = 0
    steps: int = 0
    restarts: int = 0


_RANK = [NOT_RUN, *(verdict.value for verdict in Verdict)]  # worst last


def group_key(event: dict[str, Any]) -> str:
    return f"{event['code']} in {event['world'] or 'own stack'}"


class ProgressPrinter:
    """`nfsprop check`'s reader of the event files (see the module rules)."""

    def __init__(self, directory: Path, out: IO[str], clock: Clock = time.monotonic) -> None:
        self._directory = directory
        self._out = out
        self._clock = clock
        self._offsets: dict[Path, int] = {}
        self._pending: dict[Path, str] = {}
        self._groups: dict[str, _Group] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nfsprop-printer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.poll()  # what arrived last

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()

    def poll(self) -> None:
        for path in sorted(self._directory.glob("*.jsonl")):
            for event in self._read(path):
                self.handle(event)

    def _read(self, path: Path) -> Iterator[dict[str, Any]]:
        with path.open() as events:
            events.seek(self._offsets.get(path, 0))
            text = self._pending.get(path, "") + events.read()
            self._offsets[path] = events.tell()
        *lines, rest = text.split("\n")
        self._pending[path] = rest  # a line not yet written whole
        for line in lines:
            if line:
                yield json.loads(line)

    def handle(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "plan":
            if self._groups is None:
                self._groups = {key: _Group(count) for key, count in event["groups"].items()}
            return
        if self._groups is None:
            return
        key = group_key(event)
        group = self._groups.get(key)
        if group is None:
            return
        if kind == "start" and group.started is None:
            group.started = self._clock()
            tests = f" ({group.planned} tests)" if group.planned > 1 else ""
            self._line(f"start  {key}{tests}")
        elif kind == "beat":
            so_far = ", ".join(
                _count(event[name], name.removesuffix("s"))
                for name in ("examples", "restarts", "steps")
            )
            self._line(f"  ...  {key}: {so_far}, {_duration(event['seconds'])} in this test")
        elif kind == "end":
            group.ended += 1
            group.examples += event["examples"]
            group.steps += event["steps"]
            group.restarts += event["restarts"]
            group.verdict = max(group.verdict, event["verdict"], key=_RANK.index)
            if group.ended == group.planned:
                elapsed = self._clock() - (group.started or self._clock())
                counted = [
                    _count(number, name)
                    for number, name in (
                        (group.examples, "example"),
                        (group.steps, "step"),
                        (group.restarts, "restart"),
                    )
                    if number
                ]
                done = ", ".join([group.verdict, *counted, _duration(elapsed)])
                self._line(f"end    {key}: {done}")

    def _line(self, text: str) -> None:
        self._out.write(f"nfsprop: {text}\n")
        self._out.flush()


def _count(number: int, name: str) -> str:
    return f"{number} {name}" if number == 1 else f"{number} {name}s"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def terminal() -> IO[str]:
    """The command's own standard output, as a new file (pytest captures the old one)."""
    return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)


class ProgressPlugin:
    """The pytest side, in every process that runs tests: a Meter per test, `@given`
    tests metered, and the events when there is a directory for them."""

    def __init__(self, budget: Budget, events: EventLog | None) -> None:
        self.budget = budget
        self.events = events
        self.heart = None if events is None else Heart(events)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            handle: Any = getattr(getattr(item, "obj", None), "hypothesis", None)
            inner = getattr(handle, "inner_test", None)
            if inner is not None and not getattr(inner, "_nfsprop_metered", False):
                handle.inner_test = metered(inner)
                handle.inner_test._nfsprop_metered = True

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.events is None:
            return
        groups: dict[str, int] = {}
        for item in session.items:
            test = _test(item)
            if test is not None:
                groups[group_key(test)] = groups.get(group_key(test), 0) + 1
        self.events.write({"event": "plan", "groups": groups})

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        test = _test(item)
        if self.events is not None and test is not None:
            self.events.write({**test, "event": "start"})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        meter = Meter(self.budget)
        item.stash[_METER] = meter
        test = _test(item)
        if self.heart is not None and test is not None:
            self.heart.watch(test, meter, lambda: findings.current().step_count)
        try:
            with metering(meter):
                return (yield)
        finally:
            if self.heart is not None:
                self.heart.unwatch()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        meter = item.stash.get(_METER, None)
        if call.when == "call" and meter is not None:
            report.user_properties += [
                (EXAMPLES_PROPERTY, meter.examples),
                (RESTARTS_PROPERTY, meter.restarts),
            ]
            if meter.first_failure is not None:
                report.user_properties.append((FIRST_FAILURE_PROPERTY, meter.first_failure))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        body = check_of(report)
        ended = report.when == "call" or (report.when == "setup" and not report.passed)
        if self.events is None or body is None or not ended:
            return
        numbers = dict(report.user_properties)
        self.events.write(
            {
                "code": body["code"],
                "world": body["world"],
                "event": "end",
                "verdict": verdict_of(report),
                "examples": numbers.get(EXAMPLES_PROPERTY, 0),
                "restarts": numbers.get(RESTARTS_PROPERTY, 0),
                "steps": body["steps"],
                "seconds": round(report.duration, 1),
                "first_failure": numbers.get(FIRST_FAILURE_PROPERTY),
            }
        )

    def pytest_unconfigure(self) -> None:
        if self.heart is not None:
            self.heart.stop()
        if self.events is not None:
            self.events.close()


_METER = pytest.StashKey[Meter]()


def _test(item: pytest.Item) -> dict[str, Any] | None:
    """The check and world of a test, as events name them; None for a test of no check."""
    marker = item.get_closest_marker(CHECK_MARKER)
    if marker is None:
        return None
    return {"code": marker.args[0], "world": world_of(item)}
