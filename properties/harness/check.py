"""`nfsprop check`: run the property suite in-process with pytest and print a summary.

Rules: the summary is the results' (properties/harness/results.py), computed from pytest's
own reports (so it works under xdist): one line per check and world, with its verdict,
code, title and steps, and under it the findings. The exit status is pytest's. The
summary names the run's seed (properties/harness/seeds.py); a failing property prints the
`nfsprop check` command that reruns it: same profile, world flags, bounds and seed, `-k`
on its name. While it runs, a line per check and world as it starts and ends, and a beat
at least every 30 s (properties/harness/progress.py); `--max-examples` and `--budget`
bound each test. SIGTERM, like Ctrl-C, stops the run with the summary of what finished.
`--report DIR` writes results.json and junit.xml (the pytest plugin's option). A failed
test with FAIL findings shows the failure block (properties/harness/failure.py) instead
of pytest's report, unless pytest runs verbose.
Words after `--` go to pytest as they are (`-x`, `-v`, `--junitxml`, `--lf`, `-m nfs3`):
pytest's cache is on, in .nfsprop/pytest-cache of the current directory, so `--lf` works
from a checkout and from an installed copy alike. `--list` collects without running and
prints every check: code, family, the worlds it runs in, title.
"""

from __future__ import annotations

import shlex
import signal
import tempfile
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest

from properties.families import marker_of
from properties.harness import seeds
from properties.harness.failure import failure_blocks
from properties.harness.findings import CHECK_MARKER, CHECKS
from properties.harness.progress import ProgressPrinter, terminal
from properties.harness.recording import world_of
from properties.harness.results import check_of, findings_of

OWN_STACK = "own stack"


@dataclass(frozen=True)
class CheckRun:
    """What `nfsprop check` was asked: `world_flags` are --world/--target/... with their
    values, named alike in `nfsprop check` and the pytest plugin."""

    profile: str
    workers: str = "auto"
    select: str | None = None
    world_flags: tuple[str, ...] = ()
    seed: str | None = None
    report: str | None = None
    baseline: str | None = None
    pytest_args: tuple[str, ...] = ()
    max_examples: int | None = None
    budget: float | None = None

    def suite_flags(self) -> list[str]:
        """The suite's own options: the world flags, the baseline and the bounds."""
        flags = [*self.world_flags]
        if self.baseline is not None:
            flags += ["--baseline", self.baseline]
        if self.max_examples is not None:
            flags += ["--max-examples", str(self.max_examples)]
        if self.budget is not None:
            flags += ["--budget", f"{self.budget:g}"]
        return flags

    def rerun_words(self) -> list[str]:
        """`nfsprop check` again, one process, with the run's seed (add `-k NAME`)."""
        words = ["nfsprop", "check", "--profile", self.profile, "--workers", "0"]
        run_seed = seeds.current().value
        return [*words, *self.suite_flags(), *([] if run_seed is None else ["--seed", run_seed])]

    def pytest_words(self) -> list[str]:
        words = ["--pyargs", "properties", f"--hypothesis-profile={self.profile}", "-q"]
        words += ["-o", "console_output_style=classic"]  # no percentages: progress lines
        # pytest warns it cannot rewrite asserts in modules this command imported already
        words += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        cache = Path.cwd() / ".nfsprop" / "pytest-cache"
        words += ["-o", f"cache_dir={cache}"]
        if self.workers != "0":
            words += ["-n", self.workers]
        if self.select:
            words += ["-k", self.select]
        if self.seed is not None:
            words.append(f"--hypothesis-seed={self.seed}")
        if self.report is not None:
            words += ["--report", self.report]
        return [*words, *self.suite_flags(), *self.pytest_args]


@dataclass(eq=False)  # a plugin: hashed by identity
class _Failures:
    """`nfsprop check`'s view of the reports: the failed tests, their failure blocks in
    place of pytest's report (unless -v), and no progress dots."""

    run: CheckRun
    failed_ids: list[str] = field(default_factory=list)
    config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    def rerun(self, nodeid: str) -> str:
        return shlex.join([*self.run.rerun_words(), "-k", nodeid.rsplit("::", 1)[-1]])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        self.failed_ids.append(report.nodeid)
        check = check_of(report)
        if check is None or self.config is None or self.config.get_verbosity() > 0:
            return
        from properties.harness.plugin import world_options

        claims = world_options(self.config).claims() if check.get("world") == "target" else {}
        lines = failure_blocks(check, findings_of(report), claims, self.rerun(report.nodeid))
        if lines:  # FAIL findings: the block says it all; otherwise pytest's report stays
            report.longrepr = "\n".join([*lines, "(pytest -v, after --, shows pytest's report)"])
            report.sections = []

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> Generator[None, tuple[str, str, str], tuple[str, str, str]]:
        """No progress dots: the progress lines say more (-v still shows each test)."""
        category, _, word = yield
        return category, "", word


def run_check(run: CheckRun) -> int:
    """Run the suite with progress lines; print the profile, the seed and a rerun line
    per failed test. SIGTERM stops it as Ctrl-C does: the summary of what finished is
    printed, and --report written, all the same."""
    failures = _Failures(run)
    stopping = _Stopping()
    with tempfile.TemporaryDirectory(prefix="nfsprop-progress-") as events, terminal() as out:
        printer = ProgressPrinter(Path(events), out)
        printer.start()
        previous = signal.signal(signal.SIGTERM, stopping.interrupt)
        try:
            words = [*run.pytest_words(), "--progress-dir", events]
            status = pytest.main(words, plugins=[failures, stopping])
        finally:
            signal.signal(signal.SIGTERM, previous)
            printer.stop()
    run_seed = seeds.current()
    print(
        f"\nnfsprop check — Hypothesis profile {run.profile!r}, seed {run_seed.describe('--seed')}"
    )
    for nodeid in dict.fromkeys(failures.failed_ids):
        print(f"  rerun: {failures.rerun(nodeid)}")
    return int(status)


@dataclass(eq=False)  # a plugin: hashed by identity
class _Stopping:
    """SIGTERM stops the run as Ctrl-C does: a KeyboardInterrupt where the main thread is.
    Python ignores one raised inside a garbage collector callback (Hypothesis has one), so
    a test that went on is interrupted again once it ends."""

    signal: int | None = None

    def interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum
        raise KeyboardInterrupt(f"signal {signum}")

    def pytest_runtest_logfinish(self) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt(f"signal {self.signal}")


@dataclass(eq=False)  # a plugin: hashed by identity
class _Listing:
    """Gathers, per check code, its family and the worlds its tests run in."""

    families: dict[str, str] = field(default_factory=dict)
    worlds: dict[str, dict[str, None]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"cannot collect {report.nodeid}: {report.longreprtext}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from properties.harness.plugin import world_options

        # the worlds in the order the run names them, not the order their tests run in
        order = {world: index for index, world in enumerate(world_options(session.config).worlds)}
        for item in sorted(session.items, key=lambda item: order.get(world_of(item) or "", -1)):
            marker = item.get_closest_marker(CHECK_MARKER)
            if marker is None:
                continue
            code = marker.args[0]
            module = getattr(item, "module", None)
            family = marker_of(module.__name__) if module is not None else None
            self.families[code] = family or "-"
            self.worlds.setdefault(code, {})[world_of(item) or OWN_STACK] = None

    def lines(self) -> list[str]:
        rows = [
            (code, self.families[code], ",".join(self.worlds[code]), CHECKS[code].title)
            for code in sorted(self.families, key=lambda c: (self.families[c], c))
        ]
        header = ("CODE", "FAMILY", "WORLDS", "TITLE")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
        return [
            "  ".join(
                [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]
            ).rstrip()
            for row in [header, *rows]
        ]


def list_checks(run: CheckRun) -> int:
    """Print every check the run would run (code, family, worlds, title); run nothing."""
    listing = _Listing()
    words = ["--pyargs", "properties", "--collect-only", "--listing", "-p", "no:terminal"]
    if run.select:
        words += ["-k", run.select]
    status = pytest.main([*words, *run.suite_flags(), *run.pytest_args], plugins=[listing])
    for line in listing.errors:
        print(line)
    for line in listing.lines():
        print(line)
    print(f"{len(listing.families)} checks")
    return int(status)
