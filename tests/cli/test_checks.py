"""Checks and results: every property is a check with a stable code, and `nfsprop check`
prints one line per check and writes results.json and junit.xml with `--report`."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import properties
from properties import cli
from properties.families import MARKERS
from properties.harness.findings import CHECK_MARKER, CHECKS, RULES, Check

SUITE = Path(properties.__file__).parent
REPO_ROOT = SUITE.parent
MODULES = sorted(path.relative_to(REPO_ROOT) for path in SUITE.rglob("test_*.py"))
MAX_TITLE = 100  # characters: the summary line also holds the verdict, code and steps
CHECK_TIMEOUT = 300.0  # seconds for the inner `nfsprop check`


def nfsprop_check(
    world: str, report: Path, select: str, *more: str, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    command = ["check", "--workers", "0", "--world", world, "--report", str(report), "-k", select]
    return subprocess.run(
        [sys.executable, "-m", "properties.cli", *command, *more],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )


def all_checks() -> dict[str, Check]:
    """CHECKS, with every property module imported (each registers its checks)."""
    for module in MODULES:
        importlib.import_module(".".join(module.with_suffix("").parts))
    return CHECKS


def test_the_suite_has_its_test_modules() -> None:
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_every_property_is_a_check_with_a_code(module: Path) -> None:
    loaded = importlib.import_module(".".join(module.with_suffix("").parts))
    tests = [name for name in vars(loaded) if name.startswith("test_")]
    assert tests, module
    for name in tests:
        marks = getattr(getattr(loaded, name), "pytestmark", [])
        codes = [mark.args[0] for mark in marks if mark.name == CHECK_MARKER]
        assert len(codes) == 1, f"{module}::{name} needs one @check(code, title, rfc)"


def test_codes_and_titles_are_short_and_name_their_section() -> None:
    for registry in (CHECKS, RULES):
        for code, rule in registry.items():
            assert code == code.upper() and " " not in code and len(code) <= 30, code
            assert "\n" not in rule.title and 0 < len(rule.title) < MAX_TITLE, code
            assert rule.rfc.startswith("RFC "), code


def test_check_prints_a_line_per_check_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report"
    check = nfsprop_check(
        "sim", report, "test_every_spec_has_named_types or test_names_holding_a_slash"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert any(line.split()[:2] == ["pass", "XDR-NAMED-TYPES"] for line in lines), check.stdout
    assert any(line.split()[:2] == ["pass", "SLASH-NAMES"] for line in lines), check.stdout
    results = json.loads((report / "results.json").read_text())
    assert results["target"] == {"url": None, "world": "sim", "claims": {}}
    by_code = {entry["code"]: entry for entry in results["checks"]}
    assert set(by_code) == {"XDR-NAMED-TYPES", "SLASH-NAMES"}, by_code
    slash = by_code["SLASH-NAMES"]
    assert slash["verdict"] == "pass" and slash["world"] == "sim" and slash["steps"] == 5
    assert slash["rfc"] == all_checks()["SLASH-NAMES"].rfc and slash["findings"] == []
    suite = ET.parse(report / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "0"
    # every verdict counted, in results.json, JUnit and the summary's last line
    counts = {"fail": 0, "known": 0, "warn": 0, "unsupported": 0, "pass": 2, "not run": 0}
    assert results["counts"] == counts and results["seed"] is None
    kinds = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert kinds == {verdict: str(count) for verdict, count in counts.items()}
    assert "  2 checks: 0 fail, 0 known, 0 warn, 0 unsupported, 2 pass, 0 not run" in lines
    assert [
        p.get("value") for p in suite.findall("testcase/properties/property[@name='seed']")
    ] == ["none (derandomized profile)"] * 2
    assert "  Hypothesis profile 'ci': 100 examples, derandomized, no example database" in lines


def test_check_lists_every_check_with_its_family_and_worlds() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "properties.cli", "check", "--list", "--world", "sim,gonfs"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    header, *rows, total = listed.stdout.splitlines()
    assert header.split() == ["CODE", "FAMILY", "WORLDS", "TITLE"]
    by_code = {row.split()[0]: row.split(None, 3) for row in rows}
    checks = all_checks()
    assert set(by_code) == set(checks) and total == f"{len(checks)} checks"
    assert by_code["MODEL"][1:3] == ["nfs3", "sim,gonfs"]
    assert by_code["XDR-ROUND-TRIP"][1:3] == ["xdr", "own"]  # own stack
    assert by_code["MODEL"][3].endswith(checks["MODEL"].title)


def test_words_after_two_dashes_go_to_pytest(tmp_path: Path) -> None:
    """-m selects a family by its marker, --junitxml writes pytest's own report, and the
    cache (for --lf) is kept in .nfsprop/pytest-cache of the directory the run is in."""
    report = tmp_path / "report"
    junit = tmp_path / "pytest-junit.xml"
    check = nfsprop_check(
        "sim",
        report,
        "arbitrary_bytes or slash",
        "--",
        "-m",
        "xdr",
        f"--junitxml={junit}",
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    results = json.loads((report / "results.json").read_text())
    assert [entry["code"] for entry in results["checks"]] == ["XDR-GARBAGE"]
    assert junit.is_file()
    assert (tmp_path / ".nfsprop" / "pytest-cache" / "v" / "cache" / "nodeids").is_file()


def test_only_check_passes_words_on(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--", "-x"])
    assert stopped.value.code == 2
    assert "only `nfsprop check` passes words after -- on" in capsys.readouterr().err


def test_every_test_package_has_its_family_marker() -> None:
    packages = {module.parts[1] for module in MODULES}
    assert packages == set(MARKERS)


@pytest.mark.parametrize("world", ["gonfs", "ganesha"])
def test_a_foreign_world_reports_its_known_findings_and_leaves_out_our_stack(
    tmp_path: Path, world: str
) -> None:
    """A foreign world alone runs only what touches its server; its shipped baseline makes
    the known findings `known` (the run passes) and results.json carries capabilities."""
    report = tmp_path / "report"
    selected = "test_optional_features_are_probed or test_names_holding_a_slash or xdr"
    check = nfsprop_check(world, report, selected)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "not run (tests this project's own stack" in check.stdout
    assert "properties/xdr/test_xdr.py" in check.stdout
    results = json.loads((report / "results.json").read_text())
    by_code = {entry["code"]: entry for entry in results["checks"]}
    assert set(by_code) == {"PROBE", "SLASH-NAMES"}, by_code
    assert by_code["SLASH-NAMES"]["verdict"] == "known"
    (finding,) = by_code["SLASH-NAMES"]["findings"]
    assert finding["code"] == "NAME-SLASH" and finding["rfc"].startswith("RFC 1813")
    assert results["capabilities"]["exclusive_create"] is (world == "ganesha")
