"""The run's Hypothesis seed: every run has one to print, unless its profile fixes the run.

Rules:
- A profile with `derandomize=True` (`ci`) has no seed: Hypothesis derives each test's
  randomness from the test alone, so the same command repeats the run.
- Otherwise (`dev`, `thorough`) the run has a seed: the one given with
  `--hypothesis-seed=N`, or one the suite chooses (the xdist controller chooses; its
  workers take the same). Before each test, Hypothesis's source of fresh seeds for that
  thread is set to a Random seeded by (run seed, test id), so every Hypothesis test the
  test runs — decorated, nested inside it, or a state machine — draws the same examples
  whenever the run seed is the same, however xdist spreads the tests.
- Hypothesis's own `--hypothesis-seed` forces one seed on every test and turns the example
  database off; the suite takes that seed as its run seed instead and lifts the force, so
  the database stays in use (a saved failure is still tried first) and
  `--hypothesis-seed=N` repeats a run that printed seed N. This rests on two names inside
  Hypothesis (`core.global_force_seed`, `core.threadlocal._hypothesis_global_random`);
  tests/cli/test_seeds.py checks the behaviour against the installed Hypothesis.
- Tests with their own `@seed` or `derandomize=True` keep them: Hypothesis looks at those
  before it asks for a fresh seed.
- `reproduce_command()` is the pytest command that repeats one test: node id, profile,
  seed, and the suite's own options as given.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import core, settings


@dataclass(frozen=True)
class RunSeed:
    value: str | None  # None: the profile is derandomized

    def describe(self, flag: str = "--hypothesis-seed") -> str:
        """The seed and how to repeat the run: `flag` is pytest's, or `nfsprop check`'s
        `--seed`."""
        if self.value is not None:
            return f"{self.value} (repeat with {flag}={self.value})"
        profile = settings.get_current_profile_name()
        return f"none: profile {profile!r} is derandomized, the same command repeats the run"

    def start_test(self, test_id: str) -> None:
        """Seed the fresh seeds Hypothesis hands the tests that `test_id` runs."""
        if self.value is not None:
            core.threadlocal._hypothesis_global_random = random.Random(f"{self.value}:{test_id}")


_current = RunSeed(None)


def choose(given: str | None, from_controller: str | None) -> RunSeed:
    """The run's seed from `--hypothesis-seed` (`given`), the xdist controller's choice, or
    a fresh one; none when the current profile is derandomized."""
    if settings().derandomize:
        return RunSeed(None)
    if given is not None:
        core.global_force_seed = None  # the suite seeds each test itself, database on
        return RunSeed(given)
    if from_controller is not None:
        return RunSeed(from_controller)
    return RunSeed(str(random.SystemRandom().getrandbits(32)))


def set_current(run_seed: RunSeed) -> None:
    global _current
    _current = run_seed


def current() -> RunSeed:
    return _current


def reproduce_command(nodeid: str, suite_options: Sequence[str]) -> str:
    words = ["python3", "-m", "pytest", nodeid]
    words.append(f"--hypothesis-profile={settings.get_current_profile_name()}")
    if _current.value is not None:
        words.append(f"--hypothesis-seed={_current.value}")
    words += suite_options
    return shlex.join(words)
