"""The suite from an installed copy, run from a directory outside the checkout, behaves as
from the checkout: the same profile gives the tests the same Hypothesis settings, the
package data (baselines, .x specs) is installed, a derandomized profile leaves no
example database behind, and a server author's run against a server with a planted bug
shows progress, the failure block, the HTML report and the pcap."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.live_target import live_server
from tests.cli.test_checks import CHECK_TIMEOUT, REPO_ROOT

PACKAGES = ("reference", "faults", "properties")
SELECT = "arbitrary_bytes"  # one quick check of our own stack (XDR-GARBAGE)
PIP_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`pip install --target` of a copy of the checkout (a copy: setuptools builds in the
    source tree), without network and without the dependencies (already installed)."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    installed = subprocess.run(
        [*pip, "--target", str(root / "site"), str(source)],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    yield root / "site"


def in_site(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_installed_copy_is_the_one_imported(site: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-c", "import properties; print(properties.__file__)"],
        cwd=tmp_path,
        env=in_site(site),
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.startswith(str(site))


def test_the_package_data_is_installed(site: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    data = [name for name in tracked if not name.endswith(".py")]
    assert "properties/baselines/ganesha.toml" in data
    assert [name for name in data if not (site / name).is_file()] == []


def check_from(where: Path, env: dict[str, str], command: list[str], report: Path) -> None:
    selected = ["--world", "sim", "-k", SELECT, "--workers", "2", "--report", str(report)]
    ran = subprocess.run(
        [*command, "check", *selected, *PROFILE_FLAGS[report.name]],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


PROFILE_FLAGS = {
    "ci": ["--profile", "ci"],
    "dev": ["--profile", "dev", "--seed", "7"],
}
EXPECTED = {
    "ci": {"profile": "ci", "max_examples": 100, "derandomize": True, "database": None},
    "dev": {"profile": "dev", "max_examples": 50, "derandomize": False},
}


@pytest.mark.parametrize("profile", sorted(PROFILE_FLAGS))
def test_a_profile_means_the_same_from_the_checkout_and_an_installed_copy(
    profile: str, site: Path, tmp_path: Path
) -> None:
    """Three ways a user runs it: an installed copy from their own directory, the checkout
    from its root, and the checkout's (editable) install from their own directory, where
    pytest loads the checkout's root conftest.py only during collection."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    module = [sys.executable, "-m", "properties.cli"]
    runs = {
        "installed": (outside, in_site(site), [str(site / "bin" / "nfsprop")]),
        "checkout": (REPO_ROOT, dict(os.environ), module),
        "checkout, from elsewhere": (outside, dict(os.environ), module),
    }
    seen = {}
    for name, (where, env, command) in runs.items():
        report = tmp_path / name / profile
        check_from(where, env, command, report)
        seen[name] = json.loads((report / "results.json").read_text())["hypothesis"]
    [settings] = seen["checkout"]
    assert settings.items() >= EXPECTED[profile].items()
    assert seen == {name: [settings] for name in runs}
    if profile == "ci":
        assert not (outside / ".hypothesis").exists()


def test_a_server_authors_run_from_an_installed_copy(site: Path, tmp_path: Path) -> None:
    """`nfsprop check --target URL --report out` against `nfsprop serve --no-drc` (the
    planted bug: no duplicate request cache, while --target-drc says yes)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with live_server(tmp_path, drc=False, separate_mount=False) as server:
        words = ["--world", "target", "--target", server.url, "--report", "out"]
        words += ["-k", "retransmissions_with_the_cache"]
        ran = subprocess.run(
            [str(site / "bin" / "nfsprop"), "check", *words],
            cwd=outside,
            env=in_site(site),
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
        )
    out = ran.stdout
    assert ran.returncode == 1, out + ran.stderr
    assert "nfsprop: start  RETRANSMIT in target\n" in out
    assert "FAIL RETRANSMIT in target: " in out and "  rule:     AT-MOST-ONCE: " in out
    assert "Falsifying" not in out and "reproduce_failure" not in out
    [pcap] = (outside / ".nfsprop" / "failures").glob("*-target-AT-MOST-ONCE.pcap")
    assert f"    nfsprop replay {pcap.with_suffix('.json').relative_to(outside)}" in out
    assert (outside / "out" / "index.html").is_file()
    assert (outside / "out" / "files" / pcap.name).is_file()
