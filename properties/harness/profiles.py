"""Hypothesis profiles.

Rules: `dev` (default) is quick and random; `ci` is derandomized with no deadline, so a
CI run is reproducible and never flaky on a busy machine; `thorough` is for hunting.
Select one with `--hypothesis-profile=NAME` or the NFSPROP_PROFILE environment variable.
`dev` and `thorough` save failing examples in a directory database, `.hypothesis/examples`
(or $NFSPROP_EXAMPLES_DIR), which is safe to share between pytest-xdist workers; README
explains sharing it between machines with Hypothesis's RedisExampleDatabase. `ci` is
derandomized, which in Hypothesis means no database: every CI run is the same run.
Every profile starts from Hypothesis's built-in `default` profile, not from the current
default: Hypothesis loads its own `ci` profile (derandomized, no database) when a CI
variable such as `CI` is set, and `dev` must stay random there too.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLES_DIR = os.path.join(".hypothesis", "examples")

SLOW_OK = (HealthCheck.too_slow, HealthCheck.data_too_large)


def register() -> None:
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
