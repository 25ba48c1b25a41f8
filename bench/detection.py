"""How fast the suite finds a bug: for every check that hunts a planted bug (`-m planted`:
a switch such as ClientBugs(never_revalidate=True) or a server without its duplicate
request cache), the time from the test's start to its first failing example, the whole
test's time (the search, shrinking, and the test's checks of the shrunk shape) and the
number of steps of the shrunk counterexample; then each counterexample, step by step.

Rules: the checks run as CI runs them (the ci profile, derandomized: the same examples on
every run), one at a time in this process, so no test shares the machine with another.
The first failing example's time is the Meter's (properties/harness/progress.py: the
first time Hypothesis asks for another example after one failed). The last row is the
median over the checks.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.table import print_table
from properties.harness.findings import PLANTED_MARKER, Verdict, step_text
from properties.harness.recording import FIRST_FAILURE_PROPERTY, SHRUNK_PROPERTY
from properties.harness.results import check_of, findings_of

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Detection:
    check: str
    world: str
    planted: str
    first_failure: float | None = None
    seconds: float = 0.0
    example: str = ""  # what the minimal failing example drew, where steps do not say it
    steps: list[str] = field(default_factory=list)  # its steps


@dataclass(eq=False)  # a plugin: hashed by identity
class _Timings:
    planted: dict[str, str] = field(default_factory=dict)
    rows: list[Detection] = field(default_factory=list)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker(PLANTED_MARKER)
        if marker is not None:
            self.planted[item.nodeid] = str(marker.args[0])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        body = check_of(report)
        if report.when != "call" or body is None or report.nodeid not in self.planted:
            return
        if report.skipped:  # a world without the switch (go-nfs has no cache to turn off)
            return
        found = findings_of(report)
        if found and all(f["verdict"] == Verdict.UNSUPPORTED.value for f in found):
            return  # a server without what the check needs (NFSv2 on Ganesha): nothing ran
        numbers = dict(report.user_properties)
        first = numbers.get(FIRST_FAILURE_PROPERTY)
        shrunk = numbers.get(SHRUNK_PROPERTY)
        kept: dict[str, Any] = shrunk if isinstance(shrunk, dict) else {"example": "", "steps": []}
        self.rows.append(
            Detection(
                body["code"],
                body["world"] or "",
                self.planted[report.nodeid],
                first if isinstance(first, float) else None,
                report.duration,
                kept["example"],
                kept["steps"],
            )
        )


def main() -> None:
    timings = _Timings()
    words = ["-q", "-p", "no:randomly", "-m", PLANTED_MARKER, "--hypothesis-profile=ci"]
    status = pytest.main([*words, str(ROOT / "properties")], plugins=[timings])
    if status != pytest.ExitCode.OK or not timings.rows:
        sys.exit(f"bench detection: the planted-bug checks did not all pass (pytest {status})")
    rows: list[list[object]] = [
        [
            row.check,
            row.world,
            row.planted,
            "not found" if row.first_failure is None else row.first_failure,
            row.seconds,
            len(row.steps) if row.steps else "not kept",
        ]
        for row in timings.rows
    ]
    found = [row.first_failure for row in timings.rows if row.first_failure is not None]
    rows.append(["median", "", "", statistics.median(found) if found else "none", "", ""])
    print_table(
        "Time to detection of each planted bug (ci profile, one check at a time)",
        ["check", "world", "planted bug", "first failing example (s)", "test (s)", "shrunk steps"],
        rows,
    )
    print("\nThe shrunk counterexamples")
    for row in timings.rows:
        drew = f": {row.example}" if row.example else ""
        print(f"\n{row.check} [{row.world or 'own stack'}]{drew}")
        print("".join(f"  {n}. {step_text(step)}\n" for n, step in enumerate(row.steps, 1)), end="")


if __name__ == "__main__":
    main()
