"""`nfsprop check`'s summary: one short title line per property module.

Every test module of the suite starts its docstring with a one-line title, then a blank
line, then the property; the summary prints the title only, never the paragraph.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import properties
from properties.harness.check import _title

SUITE = Path(properties.__file__).parent
REPO_ROOT = SUITE.parent
MODULES = sorted(path.relative_to(REPO_ROOT) for path in SUITE.rglob("test_*.py"))
MAX_TITLE = 100  # characters: the summary line also holds the verdict and the counts
CHECK_TIMEOUT = 300.0  # seconds for the inner `nfsprop check`


def test_the_suite_has_its_test_modules() -> None:
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_each_module_starts_with_a_one_line_title(module: Path) -> None:
    doc = importlib.import_module(".".join(module.with_suffix("").parts)).__doc__ or ""
    title = _title(str(module))
    assert "\n" not in title and 0 < len(title) < MAX_TITLE, title
    assert doc.startswith(title + "\n\n"), doc[:200]


def test_a_module_without_a_docstring_is_shown_by_its_name() -> None:
    assert _title("properties/nowhere/test_missing.py") == "properties.nowhere.test_missing"


def test_the_summary_prints_the_titles() -> None:
    selected = [Path("properties/rpc/test_record_marking.py"), Path("properties/xdr/test_xdr.py")]
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "properties.cli",
            "check",
            "--workers",
            "0",
            "--world",
            "sim",
            "-k",
            "test_every_spec_has_named_types or test_oversize_record_is_rejected",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    summary = check.stdout.split("\nnfsprop check — ", 1)[1].splitlines()[1:]  # modules sorted
    assert summary == [f"  pass  {_title(str(module))}  (1 passed)" for module in selected]
