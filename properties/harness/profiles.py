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

What a test draws depends on its seed and nothing else. Hypothesis (from 6.131) draws a
few values from a pool of constants it reads out of the local modules loaded at that
moment, so a derandomized test drew different examples depending on which test modules
pytest had imported before it (which xdist decides afresh on every run: a search found
its bug in one order and not in another). `register()` fixes that pool: the constants of
the project's own packages (POOL_PACKAGES, their source files in sorted order), read once,
whatever is imported when; tests/replay/test_hypothesis_contract.py checks that the hook
it replaces still exists and that importing a module changes no draw.
"""

import functools
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.internal import constants_ast
from hypothesis.internal.conjecture import providers
from hypothesis.internal.floats import float_to_int
from sortedcontainers import SortedSet

EXAMPLES_DIR = os.path.join(".hypothesis", "examples")

SLOW_OK = (HealthCheck.too_slow, HealthCheck.data_too_large)


POOL_PACKAGES = ("reference", "faults", "properties")
_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def project_constants() -> constants_ast.Constants:
    """The constants of the project's own packages: the same pool in every process."""
    pool = constants_ast.Constants(  # sorted: a set's order would change per process
        integers=SortedSet(),
        floats=SortedSet(key=float_to_int),
        bytes=SortedSet(),
        strings=SortedSet(),
    )
    for package in POOL_PACKAGES:
        for source in sorted((_ROOT / package).rglob("*.py")):
            pool |= constants_ast._constants_from_source(source.read_bytes(), limit=True)
    return pool


@functools.cache  # once: a later call (the checkout's root conftest.py, which pytest may
# load during collection, after Hypothesis's plugin loaded --hypothesis-profile) must not
# load `dev` over the profile the run chose
def register() -> None:
    providers._get_local_constants = project_constants  # see the module rules
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
