"""The pytest side of findings: each test of the suite runs with a Recorder, and its report
carries what the Recorder saw, so that the results (properties/harness/results.py) can be
computed wherever the reports arrive (in-process, or the xdist controller).

Rules:
- Around each test's call, `findings.current()` is a fresh Recorder with the test's world
  (its `world` parameter, None for a test of our own stack) and that world's Baseline.
- The report of the call (or of the setup, when the test was skipped there) carries, in
  `user_properties`: ("nfsprop_check", {code, title, rfc, world, steps}) for a test marked
  with `@check`; ("nfsprop_finding", Finding JSON) for each finding recorded, and one
  FAIL finding for each FindingError the test raised (a Hypothesis ExceptionGroup is
  opened), with the replay file the failure wrote; ("nfsprop_capabilities", {world,
  capabilities}) when the test recorded capabilities (`record_capabilities`);
  ("nfsprop_shrunk", {example, steps}) when a planted-bug check kept its minimal example
  (`Recorder.found_shrunk`);
  ("nfsprop_hypothesis", the profile in force as the test ran, profiles.effective()).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import Any

import pytest

from properties.harness import findings, profiles
from properties.harness.findings import (
    CHECK_MARKER,
    CHECKS,
    Baseline,
    Finding,
    FindingError,
    Recorder,
    Verdict,
)

CHECK_PROPERTY = "nfsprop_check"
FINDING_PROPERTY = "nfsprop_finding"
CAPABILITIES_PROPERTY = "nfsprop_capabilities"
HYPOTHESIS_PROPERTY = "nfsprop_hypothesis"
EXAMPLES_PROPERTY = "nfsprop_examples"  # examples and restarts: properties/harness/progress.py
RESTARTS_PROPERTY = "nfsprop_restarts"
FIRST_FAILURE_PROPERTY = "nfsprop_first_failure"  # seconds, or None: no failing example
SHRUNK_PROPERTY = "nfsprop_shrunk"  # {example, steps}: a planted-bug check's minimal example
_RECORDER = pytest.StashKey[Recorder]()
_CAPABILITIES = pytest.StashKey[dict[str, bool | None]]()


def world_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    world = callspec.params.get("world") if callspec is not None else None
    return world if isinstance(world, str) else None


def record_capabilities(
    request: pytest.FixtureRequest, capabilities: dict[str, bool | None]
) -> None:
    """Put the world's probed capabilities (name -> yes, no, or not known) in the report."""
    request.node.stash[_CAPABILITIES] = capabilities


def failures(error: BaseException | None) -> Iterator[FindingError]:
    """The FindingErrors in `error` (Hypothesis reports several distinct ones as a group)."""
    if isinstance(error, FindingError):
        yield error
    elif isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from failures(inner)


class RecordingPlugin:
    def __init__(self, baselines: Mapping[str, Baseline]) -> None:
        self.baselines = baselines

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        world = world_of(item)
        recorder = Recorder(world, self.baselines.get(world or "", Baseline()))
        item.stash[_RECORDER] = recorder
        with findings.recording(recorder):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call" or (call.when == "setup" and not report.passed):
            report.user_properties.extend(self._properties(item, call))
        if call.when == "call":
            report.user_properties.append((HYPOTHESIS_PROPERTY, profiles.effective()))
        return report

    def _properties(self, item: pytest.Item, call: pytest.CallInfo[None]) -> list[tuple[str, Any]]:
        recorder = item.stash.get(_RECORDER, Recorder(world_of(item)))
        found = list(recorder.findings.values())
        for failure in failures(call.excinfo.value if call.excinfo else None):
            found.append(
                Finding(
                    failure.rule.code,
                    Verdict.FAIL,
                    failure.message,
                    failure.steps,
                    failure.replay,
                )
            )
        properties: list[tuple[str, Any]] = [
            (FINDING_PROPERTY, finding.to_json()) for finding in found
        ]
        marker = item.get_closest_marker(CHECK_MARKER)
        if marker is not None:
            check = CHECKS[marker.args[0]]
            body: dict[str, Any] = {
                "code": check.code,
                "title": check.title,
                "rfc": check.rfc,
                "world": recorder.world,
                "steps": recorder.step_count,
            }
            properties.insert(0, (CHECK_PROPERTY, body))
        if recorder.shrunk is not None:
            shrunk = {"example": recorder.shrunk.example, "steps": list(recorder.shrunk.steps)}
            properties.append((SHRUNK_PROPERTY, shrunk))
        capabilities = item.stash.get(_CAPABILITIES, None)
        if capabilities is not None:
            shown = {"world": recorder.world, "capabilities": capabilities}
            properties.append((CAPABILITIES_PROPERTY, shown))
        return properties
