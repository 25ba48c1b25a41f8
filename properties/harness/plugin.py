"""pytest plugin (entry point `nfsprop`): lets an installed copy run the suite with
`pytest --pyargs properties`, and adds the suite's command-line options.

Rules:
- The Hypothesis profiles are registered at import time, before Hypothesis's own plugin
  reads `--hypothesis-profile`.
- Options: `--world` (comma list of the worlds in properties/worlds/registry.py;
  default DEFAULT_WORLDS, what CI runs), `--target URL`, `--target-drc yes|no|auto`
  (default yes; auto: the pre-run check probes it), `--restart-cmd CMD`, `--uid N
  --gid N` (the AUTH_SYS identity of its calls, default 0/0) and `--scratch-dir NAME`
  (the directory of its export to work in) for the target world. They
  are checked once, in pytest_configure, by the registry's `choose_worlds`, which in the
  controller (not in xdist's workers) also runs the pre-run check of the target
  (properties/worlds/prerun.py): a bad value, a target world without --target, or a
  target that fails the check is a pytest.UsageError of one line naming the problem and
  the fix, never a traceback. The checked choice is `world_options(config)`; the header
  shows what the pre-run check found.
- `--baseline FILE` (properties/baselines/) is read in pytest_configure too (a bad file is
  a usage error of one line); the chosen baselines go to the RecordingPlugin
  (properties/harness/recording.py), which gives each test its Recorder. A run of
  foreign worlds only leaves out the tests of our own stack (harness/selection.py).
- Every test of a family package carries its marker (properties/families.py), so `-m`
  selects families. `--listing` (`nfsprop check --list`) never runs the target's pre-run
  check.
- `--max-examples N` and `--budget SECONDS` bound each test, `--progress-dir DIR` makes
  each process write progress events (properties/harness/progress.py).
- Where the reports arrive (in-process, or the xdist controller), a ResultsCollector
  (harness/results.py) gathers one result per check and world: the terminal summary has
  a line per check, and `--report DIR` writes results.json and junit.xml.
- The run's Hypothesis seed (properties/harness/seeds.py) is settled in pytest_configure, after
  Hypothesis has loaded the profile; the xdist controller hands its choice to the
  workers. The header shows it, and every failed test's report gets a "reproduce" section
  with the pytest command that repeats it (node id, profile, seed, the suite's options).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from properties.baselines import OWN_WORLDS, BaselineError, baselines
from properties.families import MARKERS, marker_of
from properties.harness import profiles, progress, seeds
from properties.harness.findings import CHECK_MARKER, PLANTED_MARKER
from properties.harness.progress import Budget, EventLog, ProgressPlugin
from properties.harness.recording import RecordingPlugin
from properties.harness.replay import file as replay_file
from properties.harness.results import ResultsCollector
from properties.harness.selection import ForeignOnly
from properties.worlds.dead import DeathReports
from properties.worlds.options import WorldError, WorldFlags, WorldOptions
from properties.worlds.prerun import describe
from properties.worlds.registry import DEFAULT_WORLDS, choose_worlds, world_names
from reference.fuse.url import EXPECTED_FORM

profiles.register()

_OPTIONS = pytest.StashKey[WorldOptions]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nfsprop", "nfsprop worlds and targets")
    group.addoption(
        "--world",
        default=",".join(DEFAULT_WORLDS),
        help=f"comma list of worlds to run the properties in: {world_names()} "
        f"(default: {','.join(DEFAULT_WORLDS)})",
    )
    group.addoption(
        "--report",
        metavar="DIR",
        help="write DIR/results.json, DIR/junit.xml (one result per check and world) and "
        "DIR/index.html (the HTML report)",
    )
    group.addoption(
        "--target",
        metavar="URL",
        help=f"the server of the target world: {EXPECTED_FORM}; its export is emptied per example",
    )
    group.addoption(
        "--target-drc",
        default="yes",
        metavar="yes|no|auto",
        help="whether the --target server keeps a duplicate request cache (default: yes); "
        "auto: probe it before the run",
    )
    group.addoption(
        "--baseline",
        metavar="FILE.toml",
        help="known findings of the foreign servers of the run ([[known]] code, reason); "
        "replaces the baselines ganesha and gonfs ship with (properties/baselines/)",
    )
    group.addoption(
        "--restart-cmd",
        metavar="CMD",
        help="shell command that kills and restarts the --target server (enables crash tests)",
    )
    group.addoption(
        "--uid",
        default="0",
        metavar="N",
        help="the AUTH_SYS uid of every call to the --target server (default: 0, root)",
    )
    group.addoption(
        "--gid",
        default="0",
        metavar="N",
        help="the AUTH_SYS gid of every call to the --target server (default: 0)",
    )
    group.addoption(
        "--max-examples",
        type=int,
        metavar="N",
        help="at most N examples per test, whatever its profile or its own settings say",
    )
    group.addoption(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="a test starts no new example after SECONDS (and ends as passed, unless one "
        "failed: that one is shrunk as ever)",
    )
    group.addoption(
        "--progress-dir",
        metavar="DIR",
        help="write progress events to DIR (nfsprop check reads them and prints progress)",
    )
    group.addoption(
        "--listing",
        action="store_true",
        help="collect for `nfsprop check --list`: no pre-run check of the --target",
    )
    group.addoption(
        "--scratch-dir",
        metavar="NAME",
        help="work in this directory of the --target export (made if missing), not all of it",
    )


def _checked(config: pytest.Config) -> WorldOptions:
    listing: bool = config.getoption("listing")  # a listing never reaches the target
    flags = WorldFlags(
        config.getoption("world"),
        config.getoption("target"),
        "yes" if listing else config.getoption("target_drc"),
        config.getoption("restart_cmd"),
        config.getoption("uid"),
        config.getoption("gid"),
        config.getoption("scratch_dir"),
    )
    # the controller checks the target once before the run, not every worker
    return choose_worlds(flags, prerun=not hasattr(config, "workerinput") and not listing)


@pytest.hookimpl(trylast=True)  # after Hypothesis's plugin has loaded the profile
def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[_OPTIONS] = options = _checked(config)
    except WorldError as error:
        raise pytest.UsageError(str(error)) from None
    config.addinivalue_line("markers", f"{CHECK_MARKER}(code): the check a test is (findings.py)")
    config.addinivalue_line(
        "markers", f"{PLANTED_MARKER}(bug): a check that must find the planted bug it names"
    )
    for marker, description in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {description}")
    given: str | None = config.getoption("baseline")
    try:
        chosen = baselines(options.worlds, None if given is None else Path(given))
    except BaselineError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(RecordingPlugin(chosen), "nfsprop-recording")
    budget = Budget(config.getoption("max_examples"), config.getoption("budget"))
    progress.install()
    if budget.max_examples is not None:
        profiles.cap_examples(budget.max_examples)
    events: str | None = config.getoption("progress_dir")
    worker: str = getattr(config, "workerinput", {}).get("workerid", "main")
    log = None if events is None else EventLog(Path(events), worker)
    config.pluginmanager.register(ProgressPlugin(budget, log), "nfsprop-progress")
    if not hasattr(config, "workerinput") and not config.pluginmanager.has_plugin(RESULTS):
        config.pluginmanager.register(ResultsCollector(chosen), RESULTS)
    if not OWN_WORLDS & set(options.worlds):
        config.pluginmanager.register(ForeignOnly(), "nfsprop-foreign-only")
    if options.target is not None:  # a test that met the target's death says so in one line
        config.pluginmanager.register(DeathReports(), "nfsprop-target-deaths")
    worker_input: dict[str, Any] = getattr(config, "workerinput", {})
    seed: str | None = config.getoption("hypothesis_seed", None)
    seeds.set_current(seeds.choose(seed, worker_input.get(_SEED_KEY)))
    if _RUN_KEY in worker_input:
        replay_file.set_run_stamp(worker_input[_RUN_KEY])


_SEED_KEY = "nfsprop_run_seed"
_RUN_KEY = "nfsprop_run_stamp"  # the run's start, in replay file names
RESULTS = "nfsprop-results"  # the ResultsCollector's name (`nfsprop check` brings its own)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    collector = config.pluginmanager.get_plugin(RESULTS)
    if not isinstance(collector, ResultsCollector) or not collector.checks:
        return
    terminalreporter.section("nfsprop: one line per check (verdict, code, title)")
    for line in collector.summary_lines():
        terminalreporter.write_line(line)
    directory: str | None = config.getoption("report")
    if directory is not None:
        terminalreporter.write_line(f"nfsprop: results in {directory}/results.json, junit.xml")


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory: str | None = session.config.getoption("report")
    collector = session.config.pluginmanager.get_plugin(RESULTS)
    if directory is None or not isinstance(collector, ResultsCollector):
        return
    options = world_options(session.config)
    target = {
        "url": None if options.target is None else str(options.target),
        "world": ",".join(options.worlds),
        "claims": {} if options.target is None else options.claims(),
    }
    collector.write(Path(directory), target, seeds.current().value)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: the workers run with the controller's seed and run stamp."""
    node.workerinput[_SEED_KEY] = seeds.current().value
    node.workerinput[_RUN_KEY] = replay_file.run_stamp()


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = world_options(config)
    worlds = f"nfsprop: worlds {','.join(options.worlds)}; seed {seeds.current().describe()}"
    return [worlds, *describe(options)]


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        marker = marker_of(module.__name__) if module is not None else None
        if marker is not None:
            item.add_marker(marker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # the file name and the test's name: the same from any root directory or --pyargs
    seeds.current().start_test(f"{item.path.name}::{item.nodeid.split('::', 1)[-1]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when == "call":
        arguments = world_options(item.config).as_arguments()
        command = seeds.reproduce_command(item.nodeid, arguments)
        report.sections.append(
            ("nfsprop: reproduce", f"seed: {seeds.current().describe()}\n{command}")
        )
    return report


def world_options(config: pytest.Config) -> WorldOptions:
    return config.stash[_OPTIONS]
