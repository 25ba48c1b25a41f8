"""`nfsprop check`: run the property suite in-process with pytest and print a summary.

Rules: the summary is the results' (properties/harness/results.py), computed from pytest's
own reports (so it works under xdist): one line per check and world, with its verdict,
code, title and steps, and under it the findings. The exit status is pytest's. The
summary names the run's seed (properties/harness/seeds.py); a failing property prints the
`nfsprop check` command that reruns it: same profile, world flags and seed, `-k` on its
name. `--report DIR` writes results.json and junit.xml (the pytest plugin's option).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from properties.harness import seeds


@dataclass
class _Failures:
    failed_ids: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed_ids.append(report.nodeid)


def run_check(
    profile: str,
    workers: str,
    select: str | None,
    world_flags: Sequence[str] = (),
    seed: str | None = None,
    report: str | None = None,
    baseline: str | None = None,
) -> int:
    """Run the suite; `world_flags` are --world/--target/--target-drc/--restart-cmd with
    their values, named alike in `nfsprop check` and the pytest plugin."""
    failures = _Failures()
    args = [
        "--pyargs",
        "properties",
        f"--hypothesis-profile={profile}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    if workers != "0":
        args += ["-n", workers]
    if select:
        args += ["-k", select]
    if seed is not None:
        args.append(f"--hypothesis-seed={seed}")
    if report is not None:
        args += ["--report", report]
    if baseline is not None:
        world_flags = [*world_flags, "--baseline", baseline]
    args += world_flags
    status = pytest.main(args, plugins=[failures])
    run_seed = seeds.current()
    print(f"\nnfsprop check — Hypothesis profile {profile!r}, seed {run_seed.describe('--seed')}")
    rerun = ["nfsprop", "check", "--profile", profile, "--workers", "0", *world_flags]
    if run_seed.value is not None:
        rerun += ["--seed", run_seed.value]
    for nodeid in dict.fromkeys(failures.failed_ids):
        print(f"  rerun: {shlex.join([*rerun, '-k', nodeid.rsplit('::', 1)[-1]])}")
    return int(status)
