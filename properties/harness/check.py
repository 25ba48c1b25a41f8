"""`nfsprop check`: run the property suite in-process with pytest and print a summary.

Rules: the summary is computed from pytest's own reports (so it works under xdist): one
line per property module, with its title and its outcome counts. The title is the first
line of the module's docstring, which every test module of the suite keeps to one short
line (tests/cli/test_check_titles.py holds them to it). The exit status is pytest's. The
summary names the run's seed (properties/harness/seeds.py); a failing property prints the
`nfsprop check` command that reruns it: same profile, world flags and seed, `-k` on its
name.
"""

from __future__ import annotations

import importlib
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import pytest

from properties.harness import seeds


@dataclass
class _Tally:
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    failed_ids: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.failed or report.skipped):
            return
        module = report.nodeid.split("::", 1)[0]
        self.outcomes.setdefault(module, Counter())[report.outcome] += 1
        if report.failed:
            self.failed_ids.append(report.nodeid)


def _title(module_path: str) -> str:
    parts = PurePath(module_path).with_suffix("").parts
    name = ".".join(parts[parts.index("properties") :] if "properties" in parts else parts)
    try:
        doc = importlib.import_module(name).__doc__ or ""
    except ImportError:
        doc = ""
    return doc.strip().split("\n", 1)[0].strip() or name


def run_check(
    profile: str,
    workers: str,
    select: str | None,
    world_flags: Sequence[str] = (),
    seed: str | None = None,
) -> int:
    """Run the suite; `world_flags` are --world/--target/--target-drc/--restart-cmd with
    their values, named alike in `nfsprop check` and the pytest plugin."""
    tally = _Tally()
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
    args += world_flags
    status = pytest.main(args, plugins=[tally])
    run_seed = seeds.current()
    print(f"\nnfsprop check — Hypothesis profile {profile!r}, seed {run_seed.describe()}")
    for module in sorted(tally.outcomes):
        counts = tally.outcomes[module]
        verdict = "FAIL" if counts["failed"] else "pass"
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        print(f"  {verdict}  {_title(module)}  ({detail})")
    rerun = ["nfsprop", "check", "--profile", profile, "--workers", "0", *world_flags]
    if run_seed.value is not None:
        rerun += ["--seed", run_seed.value]
    for nodeid in tally.failed_ids:
        print(f"  rerun: {shlex.join([*rerun, '-k', nodeid.rsplit('::', 1)[-1]])}")
    return int(status)
