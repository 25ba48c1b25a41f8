"""Hypothesis profiles.

Rules: `dev` (default) is quick and random; `ci` is derandomized with no deadline, so a
CI run is reproducible and never flaky on a busy machine; `thorough` is for hunting.
Select one with `--hypothesis-profile=NAME` or the NFSPROP_PROFILE environment variable.
`dev` and `thorough` save failing examples in a directory database, `.hypothesis/examples`
(or $NFSPROP_EXAMPLES_DIR), which is safe to share between pytest-xdist workers; README
explains sharing it between machines with Hypothesis's RedisExampleDatabase. `ci` is
derandomized, which in Hypothesis means no database: every CI run is the same run.
`effective()` is what a test runs with when it names no settings of its own; each test
reports it (properties/harness/recording.py), so a run shows the profile its tests really
had, from a checkout and from an installed copy alike.
Every profile starts from Hypothesis's built-in `default` profile, not from the current
default: Hypothesis loads its own `ci` profile (derandomized, no database) when a CI
variable such as `CI` is set, and `dev` must stay random there too.

What a test draws depends on its seed and its strategies, nothing else. Hypothesis (from
6.131) draws a few values from a pool of constants it reads out of the local modules loaded
at that moment: a derandomized test drew different examples depending on which modules
pytest had imported before it (which xdist decides afresh on every run), from a checkout
and from an installed copy (whose modules are not "local"), and after any edit anywhere in
the project (a fixed pool of the project's own constants moved every CI run's examples
whenever a source file changed). `register()` empties that pool (`no_local_constants`);
the strategies draw the protocol's boundaries themselves.
tests/replay/test_hypothesis_contract.py checks that the hook it replaces still exists and
that importing a module changes no draw.
"""

import functools
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.internal import constants_ast
from hypothesis.internal.conjecture import providers
from hypothesis.internal.floats import float_to_int
from sortedcontainers import SortedSet

EXAMPLES_DIR = os.path.join(".hypothesis", "examples")

SLOW_OK = (HealthCheck.too_slow, HealthCheck.data_too_large)


def no_local_constants() -> constants_ast.Constants:
    """The pool of local constants Hypothesis draws from: empty (see the module rules)."""
    return constants_ast.Constants(
        integers=SortedSet(),
        floats=SortedSet(key=float_to_int),
        bytes=SortedSet(),
        strings=SortedSet(),
    )


@functools.cache  # once: a later call (the checkout's root conftest.py, which pytest may
# load during collection, after Hypothesis's plugin loaded --hypothesis-profile) must not
# load `dev` over the profile the run chose
def register() -> None:
    providers._get_local_constants = no_local_constants  # see the module rules
    database = DirectoryBasedExampleDatabase(os.environ.get("NFSPROP_EXAMPLES_DIR", EXAMPLES_DIR))
    pristine = settings.get_profile("default")
    settings.register_profile("dev", pristine, max_examples=50, deadline=None, database=database)
    settings.register_profile(
        "ci",
        pristine,
        max_examples=100,
        derandomize=True,
        deadline=None,
        print_blob=True,
        suppress_health_check=SLOW_OK,
    )
    settings.register_profile(
        "thorough",
        pristine,
        max_examples=2000,
        deadline=None,
        suppress_health_check=SLOW_OK,
        database=database,
    )
    settings.load_profile(os.environ.get("NFSPROP_PROFILE", "dev"))


def cap_examples(most: int) -> None:
    """`--max-examples`: the profile in force, under its own name, with at most `most`
    examples (tests with their own count are capped by their Meter)."""
    name = settings.get_current_profile_name()
    current = settings.get_profile(name)
    settings.register_profile(name, current, max_examples=min(current.max_examples, most))
    settings.load_profile(name)


def effective() -> dict[str, Any]:
    """The profile in force, as Hypothesis holds it: name, examples, derandomized, database."""
    current = settings()
    return {
        "profile": settings.get_current_profile_name(),
        "max_examples": current.max_examples,
        "derandomize": current.derandomize,
        "database": None if current.database is None else repr(current.database),
    }


def describe_effective(body: dict[str, Any]) -> str:
    """One line: profile 'ci': 100 examples, derandomized, no example database."""
    randomness = "derandomized" if body["derandomize"] else "random"
    database = body["database"] or "no example database"
    return f"profile {body['profile']!r}: {body['max_examples']} examples, {randomness}, {database}"


def is_derandomized(profile: str) -> bool:
    register()
    return bool(settings.get_profile(profile).derandomize)
