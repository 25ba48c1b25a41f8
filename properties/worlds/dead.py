"""A --target server that died: the first test that meets it fails with one line naming
what happened, and every later test of the run that would use it is skipped, saying so.

Rules:
- A Watch is kept by the world whose one server serves every xdist worker (the --target
  server, which the suite does not own): `answers()` is a NULL call over TCP to its NFS
  port, bounded by NULL_WAIT seconds.
- `record(line)` records the death in a marker file beside the server's lock (worlds/
  lock.py's `shared_file(url, "dead")`, shared by every process of the run): the test's
  id, from pytest's PYTEST_CURRENT_TEST, and the line. The error raised says
  `<target name>: the target died: <line>`, one line, and is one of two:
  - TargetDied, when the death is found before an example gets its target: an ordinary
    failure, raised from one place (properties/worlds/shared.py), so Hypothesis, which
    runs a failing test's examples again while shrinking, meets it again at the same
    place and reports that one failure;
  - TargetDiedInExample, when a call fails during an example and the server no longer
    answers: a BaseException, as KeyboardInterrupt is, so Hypothesis neither shrinks nor
    replays it (its replays would meet the death sooner and be called flaky); pytest
    reports the test failed with that line.
- `recorded()` runs before an example gets its target: with no marker it gives None; in
  the test that met the death it gives the line (that test fails again, the same way);
  in any other test it raises pytest's skip exception (pytest reports the test skipped,
  Hypothesis lets it through) whose reason is `not run: the target died in <test id>:
  <line>`. Never silent.
- The pre-run check clears the marker (`clear()`): it has just found the server alive.
- DeathReports (a pytest plugin the suite's plugin registers for the target world): a
  failed test whose exception, or any exception it chains or groups, is the target's
  death is reported by the death's line instead of a traceback. That covers what
  Hypothesis says when the death came after examples of the test had run (its replays of
  a failing example stop sooner against a dead server, which it calls flaky): the line
  says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import pytest

from properties.peers.rpcping import null_call
from properties.worlds.lock import shared_file
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3

NULL_WAIT = 5.0
MARKER = "dead"
OUTSIDE_PYTEST = "(outside pytest)"


class TargetDied(RuntimeError):
    """The --target server was found dead before an example (see the module rules)."""


class TargetDiedInExample(BaseException):  # a stop, like KeyboardInterrupt
    """The --target server died during an example (see the module rules)."""


def current_test() -> str:
    """The running pytest test's id (without its phase), as pytest's environment says."""
    running = os.environ.get("PYTEST_CURRENT_TEST")
    return OUTSIDE_PYTEST if running is None else running.rsplit(" (", 1)[0]


def clear(key: str) -> None:
    shared_file(key, MARKER).unlink(missing_ok=True)


@dataclass(frozen=True)
class Watch:
    """Whether the one server of `name` (its lock and marker named by `key`, the URL)
    still answers, and the run's record of its death."""

    name: str
    key: str
    host: str
    port: int

    def answers(self) -> bool:
        return null_call((self.host, self.port), NFS_PROGRAM, NFS_V3, timeout=NULL_WAIT)

    @property
    def silent(self) -> str:
        return f"the server no longer answers NULL on {self.host}:{self.port}"

    def said(self, line: str) -> str:
        """The one line a death's error says."""
        return f"{self.name}: the target died: {line}"

    def record(self, line: str) -> None:
        marker = shared_file(self.key, MARKER)
        temporary = marker.with_suffix(f".{os.getpid()}")
        temporary.write_text(json.dumps({"test": current_test(), "line": line}))
        temporary.replace(marker)

    def recorded(self) -> str | None:
        """The recorded death's line in the test that met it; None if the server has not
        died; in any other test, the skip (see the module rules)."""
        try:
            recorded = json.loads(shared_file(self.key, MARKER).read_text())
        except FileNotFoundError:
            return None
        test, line = recorded["test"], recorded["line"]
        if test != current_test():
            raise pytest.skip.Exception(f"not run: the target died in {test}: {line}")
        return str(line)


class DeathReports:
    """A failed test that met the target's death is reported by the death's line."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        raised = None if call.excinfo is None else call.excinfo.value
        death = None if raised is None else _death_in(raised)
        if report.failed and raised is not None and death is not None:
            after = (
                ""
                if raised is death
                else (
                    f"; then {type(raised).__name__}: Hypothesis could not run the test's "
                    "examples again against a dead target"
                )
            )
            report.longrepr = f"{death}{after}"
        return report


def _death_in(error: BaseException) -> BaseException | None:
    """The target's death among `error` and what it chains or groups, if any."""
    for each in _chained(error, set()):
        if isinstance(each, TargetDied | TargetDiedInExample):
            return each
    return None


def _chained(error: BaseException, seen: set[int]) -> Iterator[BaseException]:
    if id(error) in seen:
        return
    seen.add(id(error))
    yield error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _chained(inner, seen)
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            yield from _chained(linked, seen)
