"""The failure block: what a server author reads when a check fails.

Rules:
- It is built from a test's report alone (its check and its FAIL findings, as
  properties/harness/recording.py puts them in the report), so it reads the same
  in-process, under xdist and in the HTML report.
- Per FAIL finding: the check's code, world and title; the rule broken and where it comes
  from (its RFC sections, and the user's own word when the rule holds the server to it,
  e.g. `--target-drc yes`); what happened (the finding's first line, then its detail,
  such as the fields in which two replies differ); the shrunk steps as a table (call,
  what the rule allows, what came back, where the step says); and how to reproduce it:
  `nfsprop replay FILE` and the `nfsprop check` line, both of which work from an
  installed copy.
- `nfsprop check` shows it in place of pytest's report of the test, unless pytest runs
  verbose (`-- -v`); a failure without a FAIL finding (the suite itself broke) keeps
  pytest's report, which is what finding that bug needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from properties.harness.findings import STEP_COLUMNS, Verdict

MAX_CALL = 70  # characters of a call in the steps table


def failure_blocks(
    check: Mapping[str, Any],
    found: list[dict[str, Any]],
    claims: Mapping[str, str],
    rerun: str | None,
) -> list[str]:
    """The block of every FAIL finding of one test (`claims`: the user's word, by claim)."""
    lines: list[str] = []
    for finding in found:
        if finding["verdict"] == Verdict.FAIL.value:
            lines += block(check, finding, claims, rerun)
    return lines


def block(
    check: Mapping[str, Any],
    finding: Mapping[str, Any],
    claims: Mapping[str, str],
    rerun: str | None,
) -> list[str]:
    where = check.get("world") or "own stack"
    lines = [f"FAIL {check['code']} in {where}: {check['title']}"]
    lines.append(f"  rule:     {finding['code']}: {finding.get('title', '')}".rstrip())
    source = finding.get("rfc") or check.get("rfc", "")
    claim = claims.get(finding.get("claim") or "")
    if claim:
        source = f"{source}; and your word: {claim}"
    lines.append(f"  source:   {source}")
    what, *detail = str(finding["message"]).splitlines() or [""]
    lines.append(f"  what:     {what}")
    lines += [f"            {line.strip()}" for line in detail if line.strip()]
    steps = list(finding.get("counterexample") or [])
    if steps:
        lines.append(f"  steps (shrunk to {len(steps)}):")
        lines += [f"    {row}" for row in steps_table(steps)]
    lines.append("  reproduce:")
    if finding.get("replay"):
        lines.append(f"    nfsprop replay {finding['replay']}")
    if rerun:
        lines.append(f"    {rerun}")
    return lines


def steps_table(steps: list[str]) -> list[str]:
    rows = [("#", "call", "allowed", "came back")]
    for number, step in enumerate(steps, 1):
        call, *outcome = step.split(STEP_COLUMNS)
        allowed, got = outcome if len(outcome) == 2 else ("", "")
        if len(call) > MAX_CALL:
            call = call[: MAX_CALL - 3] + "..."
        rows.append((str(number), call, allowed, got))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + f"  {row[3]}"
        for row in rows
    ]
