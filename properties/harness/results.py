"""The results of a run, as a CI system reads them: one result per check and world, the
terminal summary (one line per check), and `--report DIR`'s results.json and junit.xml.

Rules:
- `write()` writes results.json, junit.xml and the HTML report (properties/harness/html.py).
- The results are computed from the test reports alone (what properties/harness/
  recording.py puts in `user_properties`), so they are the same in-process and in the
  xdist controller. A test without a check code is left out.
- A check's verdict is its worst finding's (properties/harness/findings.py); a test that
  failed without a FAIL finding (a crash of the suite, a timeout) is a FAIL of the
  pseudo-code ERROR with the report's first line. A check none of whose tests ran is
  "not run", with the skip reasons.
- The profile the tests ran with (each test reports it) heads the summary and is in
  results.json; tests that ran with different ones show each.
- Known findings a world's baseline lists but the run never showed are listed too
  ("baseline_unseen"): the server may have been fixed, or the run did not get there.
- junit.xml has one test case per check and world. Only FAIL is a <failure> and only
  "not run" a <skipped>: warn, unsupported and known pass, with the verdict, the run's
  seed, the findings and their replay files as properties and in <system-out>, so CI
  counts them as run; the suite's properties count the checks of each verdict, as
  results.json's "counts" and the summary's last line do.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from properties.harness.findings import Baseline, Finding, Verdict, step_text, worst
from properties.harness.html import write_html
from properties.harness.profiles import describe_effective
from properties.harness.recording import (
    CAPABILITIES_PROPERTY,
    CHECK_PROPERTY,
    EXAMPLES_PROPERTY,
    FINDING_PROPERTY,
    HYPOTHESIS_PROPERTY,
)

NOT_RUN = "not run"
ERROR = "ERROR"


@dataclass
class CheckResult:
    code: str
    title: str
    rfc: str
    world: str | None
    steps: int = 0
    examples: int = 0
    ran: int = 0
    skipped: list[str] = field(default_factory=list)
    findings: dict[tuple[str, Verdict], dict[str, Any]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if not self.ran:
            return NOT_RUN
        return worst(Verdict(body["verdict"]) for body in self.findings.values()).value

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "verdict": self.verdict,
            "rfc": self.rfc,
            "world": self.world,
            "steps": self.steps,
            "examples": self.examples,
            "not_run_reason": "; ".join(self.skipped) if not self.ran else None,
            "findings": list(self.findings.values()),
        }


class ResultsCollector:
    """A pytest plugin gathering the results from the reports (see the module rules)."""

    def __init__(self, baselines: Mapping[str, Baseline]) -> None:
        self.baselines = baselines
        self.checks: dict[tuple[str, str | None], CheckResult] = {}
        self.capabilities: dict[str, dict[str, bool | None]] = {}
        self.hypothesis: dict[str, dict[str, Any]] = {}  # each distinct profile the tests had

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == HYPOTHESIS_PROPERTY and isinstance(value, dict):
                self.hypothesis.setdefault(json.dumps(value, sort_keys=True), value)
        body = check_of(report)
        if body is None:
            return
        key = (body["code"], body["world"])
        result = self.checks.setdefault(
            key, CheckResult(body["code"], body["title"], body["rfc"], body["world"])
        )
        result.steps += body["steps"]
        result.examples += _examples(report)
        if _not_run(report):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            result.skipped.append(str(reason).removeprefix("Skipped: "))
            return
        result.ran += 1
        for finding in findings_of(report):
            result.findings.setdefault((finding["code"], Verdict(finding["verdict"])), finding)
        for name, shown in report.user_properties:
            if name == CAPABILITIES_PROPERTY and isinstance(shown, dict):
                self.capabilities[shown["world"]] = shown["capabilities"]

    def results(self) -> list[CheckResult]:
        return [self.checks[key] for key in sorted(self.checks, key=lambda k: (k[1] or "", k[0]))]

    def baseline_unseen(self) -> list[dict[str, str]]:
        shown = {
            (result.world, code)
            for result in self.checks.values()
            for code, verdict in result.findings
            if verdict is Verdict.KNOWN
        }
        worlds = {result.world for result in self.checks.values() if result.ran}
        return [
            {"world": world, "code": code, "reason": reason}
            for world, baseline in sorted(self.baselines.items())
            if world in worlds
            for code, reason in sorted(baseline.known.items())
            if (world, code) not in shown
        ]

    def summary_lines(self) -> list[str]:
        lines = [f"  Hypothesis {describe_effective(body)}" for body in self.hypothesis.values()]
        for result in self.results():
            where = f"[{result.world or 'own stack'}, {result.steps} steps]"
            lines.append(f"  {result.verdict:<11} {result.code:<20} {result.title}  {where}")
            if result.verdict == NOT_RUN:
                lines.append(f"      ({'; '.join(dict.fromkeys(result.skipped))})")
            for finding in result.findings.values():
                replay = f"  (replay: {finding['replay']})" if finding.get("replay") else ""
                lines.append(
                    f"      {finding['verdict']:<11} {finding['code']}: {_first_line(finding)}"
                    f"{replay}"
                )
        unseen: dict[str, list[str]] = {}
        for entry in self.baseline_unseen():
            unseen.setdefault(entry["world"], []).append(entry["code"])
        for world, codes in unseen.items():
            lines.append(
                f"  known findings of {world} not seen in this run ({len(codes)}): "
                + ", ".join(codes)
            )
        counted = ", ".join(f"{count} {verdict}" for verdict, count in self.counts().items())
        lines.append(f"  {len(self.checks)} checks: {counted}")
        return lines

    def counts(self) -> dict[str, int]:
        """How many checks ended with each verdict, every verdict named (fail first)."""
        verdicts = [v.value for v in sorted(Verdict, key=lambda v: -v.rank)] + [NOT_RUN]
        found = [result.verdict for result in self.checks.values()]
        return {verdict: found.count(verdict) for verdict in verdicts}

    def write(self, directory: Path, target: Mapping[str, Any], seed: str | None) -> None:
        """results.json and junit.xml in `directory`; `seed` is the run's (None: the
        profile is derandomized)."""
        directory.mkdir(parents=True, exist_ok=True)
        checks = [result.to_json() for result in self.results()]
        body: dict[str, Any] = {
            "target": dict(target),
            "seed": seed,
            "counts": self.counts(),
            "worlds": sorted({result.world for result in self.results() if result.world}),
            "capabilities": self.capabilities,
            "hypothesis": list(self.hypothesis.values()),
            "checks": checks,
            "baseline_unseen": self.baseline_unseen(),
        }
        if len(self.capabilities) == 1:
            body["capabilities"] = next(iter(self.capabilities.values()))
            body["capabilities_by_world"] = self.capabilities
        (directory / "results.json").write_text(json.dumps(body, indent=2) + "\n")
        write_html(directory, body, checks)
        _junit(self.results(), self.counts(), seed).write(
            directory / "junit.xml", encoding="utf-8", xml_declaration=True
        )


def check_of(report: pytest.TestReport) -> dict[str, Any] | None:
    """The check a test's report is of (code, title, rfc, world, steps), None if none."""
    body = next((v for n, v in report.user_properties if n == CHECK_PROPERTY), None)
    return body if isinstance(body, dict) else None


def findings_of(report: pytest.TestReport) -> list[dict[str, Any]]:
    """The findings a test's report carries; a failure without a FAIL finding (a crash of
    the suite, a timeout) is a FAIL of the pseudo-code ERROR with the report's last line."""
    found: list[dict[str, Any]] = [
        value
        for name, value in report.user_properties
        if name == FINDING_PROPERTY and isinstance(value, dict)
    ]
    if report.failed and not any(f["verdict"] == Verdict.FAIL.value for f in found):
        first = (report.longreprtext or "failed").strip().splitlines()
        message = first[-1] if first else "failed"
        error = Finding(ERROR, Verdict.FAIL, message[:500]).to_json()
        error.update(title="the check itself failed (not a finding about the server)", rfc="")
        found.append(error)
    return found


def verdict_of(report: pytest.TestReport) -> str:
    """One test's verdict: "not run" when skipped, else its worst finding's."""
    if _not_run(report):
        return NOT_RUN
    return worst(Verdict(finding["verdict"]) for finding in findings_of(report)).value


def _not_run(report: pytest.TestReport) -> bool:
    return report.skipped and not hasattr(report, "wasxfail")


def _examples(report: pytest.TestReport) -> int:
    return sum(
        v for n, v in report.user_properties if n == EXAMPLES_PROPERTY and isinstance(v, int)
    )


def _first_line(finding: Mapping[str, Any]) -> str:
    message: str = finding["message"]
    return message.splitlines()[0] if message else ""


def _junit(
    results: list[CheckResult], verdicts: Mapping[str, int], seed: str | None
) -> ET.ElementTree[ET.Element]:
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name="nfsprop", errors="0")
    kinds = ET.SubElement(suite, "properties")
    for verdict, count in verdicts.items():
        ET.SubElement(kinds, "property", name=verdict, value=str(count))
    seed_text = "none (derandomized profile)" if seed is None else seed
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for result in results:
        counts["tests"] += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"nfsprop.{result.world or 'own-stack'}",
            name=f"{result.code} {result.title}",
        )
        properties = ET.SubElement(case, "properties")
        for name, value in (("verdict", result.verdict), ("rfc", result.rfc), ("seed", seed_text)):
            ET.SubElement(properties, "property", name=name, value=value)
        ET.SubElement(properties, "property", name="steps", value=str(result.steps))
        shown: dict[str, str] = {}  # each finding's text -> its verdict
        for finding in result.findings.values():
            line = f"{finding['code']} {finding['verdict']} {_first_line(finding)}"
            ET.SubElement(properties, "property", name="finding", value=line)
            if finding.get("replay"):
                ET.SubElement(properties, "property", name="replay", value=finding["replay"])
            steps = "".join(
                f"\n    {step_text(step)}" for step in finding.get("counterexample", [])
            )
            shown[f"{line}{steps}"] = finding["verdict"]
        if result.verdict == Verdict.FAIL.value:
            counts["failures"] += 1
            failed = [text for text, verdict in shown.items() if verdict == Verdict.FAIL.value]
            failure = ET.SubElement(case, "failure", message=failed[0].split("\n", 1)[0])
            failure.text = "\n\n".join(failed)
        elif result.verdict == NOT_RUN:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message="; ".join(result.skipped))
        if shown:
            ET.SubElement(case, "system-out").text = "\n\n".join(shown)
    for name, count in counts.items():
        suite.set(name, str(count))
    return ET.ElementTree(suites)
