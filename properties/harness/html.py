"""The HTML report: `--report DIR` writes DIR/index.html beside results.json, a static page
that needs no server.

Rules:
- index.html: the run (target, worlds, Hypothesis profile, seed), the count of checks by
  verdict, the capabilities probed per world, and one row per check and world (verdict,
  code, title, world, steps, examples, its findings linked to their pages).
- One page per finding, findings/<n>.html: the finding (verdict, code, title, RFC section,
  message); for a FAIL the failure block (properties/harness/failure.py); and, when the
  failure left a replay file, the message sequence chart of the shrunk run as inline SVG
  (properties/harness/chart.py: from the file's simulated trace, or from the pcap file
  beside it), with the replay file and the pcap copied into DIR/files/ and linked.
- Everything is escaped; no scripts, no external resources.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from properties.harness.chart import TraceFileError, chart_of
from properties.harness.failure import block

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
.fail { background: #f8d0cc; } .known { background: #f4e3c1; } .warn { background: #fbf3c4; }
.unsupported { background: #e3e8f0; } .pass { background: #d8f0d8; } .not-run { color: #888; }
"""


def write_html(directory: Path, run: Mapping[str, Any], checks: Sequence[dict[str, Any]]) -> None:
    """index.html and the finding pages, from results.json's body (`run`) and its checks."""
    (directory / "findings").mkdir(parents=True, exist_ok=True)
    rows = []
    number = 0
    for check in checks:
        links = []
        for finding in check["findings"]:
            number += 1
            page = f"findings/{number}.html"
            claims = run["target"].get("claims", {}) if check["world"] == "target" else {}
            (directory / page).write_text(_finding_page(directory, check, finding, claims))
            links.append(
                f'<a href="{page}" class="{finding["verdict"]}">'
                f"{_e(finding['verdict'])} {_e(finding['code'])}</a>"
            )
        rows.append(
            f'<tr class="{check["verdict"].replace(" ", "-")}"><td>{_e(check["verdict"])}</td>'
            f"<td>{_e(check['code'])}</td><td>{_e(check['title'])}</td>"
            f"<td>{_e(check['world'] or 'own stack')}</td><td>{check['steps']}</td>"
            f"<td>{check.get('examples', 0)}</td><td>{'<br>'.join(links)}</td></tr>"
        )
    counts = ", ".join(f"{count} {verdict}" for verdict, count in run.get("counts", {}).items())
    profiles = "; ".join(
        f"{_e(p['profile'])}: {p['max_examples']} examples" for p in run.get("hypothesis", [])
    )
    body = [
        "<h1>nfsprop report</h1>",
        "<table>",
        f"<tr><th>target</th><td>{_e(run['target'].get('url') or 'embedded')}</td></tr>",
        f"<tr><th>worlds</th><td>{_e(run['target'].get('world', ''))}</td></tr>",
        f"<tr><th>Hypothesis</th><td>{profiles}</td></tr>",
        f"<tr><th>seed</th><td>{_e(str(run.get('seed')))}</td></tr>",
        f"<tr><th>checks</th><td>{_e(counts)}</td></tr>",
        "</table>",
        *_capabilities(run.get("capabilities_by_world") or run.get("capabilities") or {}),
        "<h2>Checks</h2>",
        "<table><tr><th>verdict</th><th>code</th><th>title</th><th>world</th><th>steps</th>"
        "<th>examples</th><th>findings</th></tr>",
        *rows,
        "</table>",
    ]
    (directory / "index.html").write_text(_page("nfsprop report", body))


def _capabilities(capabilities: Mapping[str, Any]) -> list[str]:
    if not capabilities:
        return []
    worlds = (
        capabilities
        if all(isinstance(v, dict) for v in capabilities.values())
        else {"target": capabilities}
    )
    lines = ["<h2>Capabilities</h2>", "<table><tr><th>world</th><th>capability</th><th></th></tr>"]
    for world, found in worlds.items():
        for name, value in found.items():
            shown = "not known" if value is None else "yes" if value else "no"
            lines.append(f"<tr><td>{_e(world)}</td><td>{_e(name)}</td><td>{shown}</td></tr>")
    return [*lines, "</table>"]


def _finding_page(
    directory: Path, check: Mapping[str, Any], finding: dict[str, Any], claims: Mapping[str, str]
) -> str:
    body = [
        f'<p><a href="../index.html">all checks</a></p><h1>{_e(finding["verdict"])} '
        f"{_e(finding['code'])} in {_e(check['world'] or 'own stack')}</h1>",
        f"<p>{_e(finding.get('title', ''))} ({_e(finding.get('rfc', ''))})</p>",
    ]
    if finding["verdict"] == "fail":
        body.append(f"<pre>{_e(chr(10).join(block(check, finding, claims, None)))}</pre>")
    else:
        body.append(f"<pre>{_e(finding['message'])}</pre>")
    replay = finding.get("replay")
    if replay:
        body += _evidence(directory, Path(replay))
    return _page(f"{finding['code']} in {check['world']}", body)


def _evidence(directory: Path, replay: Path) -> list[str]:
    files = directory / "files"
    files.mkdir(exist_ok=True)
    lines = []
    for kept in (replay, replay.with_suffix(".pcap")):
        if kept.is_file():
            shutil.copy(kept, files / kept.name)
            lines.append(f'<p><a href="../files/{_e(kept.name)}">{_e(kept.name)}</a></p>')
    try:
        chart = chart_of(replay)
    except TraceFileError as error:
        return [*lines, f"<p>no sequence chart: {_e(str(error))}</p>"]
    return [*lines, "<h2>Message sequence chart of the shrunk run</h2>", chart.svg()]


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
            f"<style>{STYLE}</style></head><body>",
            *body,
            "</body></html>",
        ]
    )


def _e(text: object) -> str:
    return html.escape(str(text))
