"""Hypothesis profiles.

Rules: `dev` (default) is quick and random; `ci` is derandomized with no deadline, so a
CI run is reproducible and never flaky on a busy machine; `thorough` is for hunting.
Select one with `--hypothesis-profile=NAME` or the NFSPROP_PROFILE environment variable.
"""

import os

from hypothesis import HealthCheck, settings

SLOW_OK = (HealthCheck.too_slow, HealthCheck.data_too_large)


def register() -> None:
    settings.register_profile("dev", max_examples=50, deadline=None)
    settings.register_profile(
        "ci",
        max_examples=100,
        derandomize=True,
        deadline=None,
        print_blob=True,
        suppress_health_check=SLOW_OK,
    )
    settings.register_profile(
        "thorough", max_examples=2000, deadline=None, suppress_health_check=SLOW_OK
    )
    settings.load_profile(os.environ.get("NFSPROP_PROFILE", "dev"))
