"""The run's seed (properties/harness/seeds.py) against the installed Hypothesis: a run prints its
seed, the same seed draws the same examples (decorated and nested tests, under xdist too),
the example database stays on, and a failed test prints a command that fails it again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from properties import cli
from properties.harness import seeds

# Each test writes what it drew to $DRAWN (one line per example), so two runs can be compared.
PROBE = """
import os
from hypothesis import given, strategies as st

def _log(name, value):
    with open(os.environ["DRAWN"], "a") as out:
        out.write(f"{name} {value}\\n")

@given(st.integers())
def test_decorated(n):
    _log("decorated", n)

def test_nested():
    @given(st.binary())
    def inner(b):
        _log("nested", b.hex())
    inner()

def test_fails_on_big_numbers():
    @given(st.integers())
    def inner(n):
        _log("failing", n)
        assert n < 1000
    inner()
"""


PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")


def run_probe(
    tmp_path: Path, name: str, *options: str, select: str = "not fails"
) -> tuple[str, list[str]]:
    """Run the probe file with pytest; (its output, the sorted lines it drew)."""
    drawn = tmp_path / f"{name}.drawn"
    (tmp_path / "test_probe.py").write_text(PROBE)
    # CI=true: Hypothesis then loads its own derandomized `ci` profile as the default, which
    # the project's `dev` profile must not inherit (as CI machines set it, every run checks it).
    environment = {
        **os.environ,
        "CI": "true",
        "DRAWN": str(drawn),
        "NFSPROP_EXAMPLES_DIR": str(tmp_path / "db"),
    }
    environment.pop("NFSPROP_PROFILE", None)
    done = subprocess.run(
        [*PYTEST, "test_probe.py", "-k", select, "--world", "sim", *options],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = sorted(drawn.read_text().splitlines()) if drawn.exists() else []
    return done.stdout + done.stderr, lines


def printed_seed(output: str) -> str:
    found = re.search(
        r"nfsprop: worlds sim; seed (\d+) \(repeat with --hypothesis-seed=\1\)", output
    )
    assert found is not None, output
    return found.group(1)


def test_a_run_prints_its_seed_and_that_seed_draws_the_same_examples(tmp_path: Path) -> None:
    output, first = run_probe(tmp_path, "first", "--hypothesis-profile=dev")
    seed = printed_seed(output)
    _, again = run_probe(tmp_path, "again", "--hypothesis-profile=dev", f"--hypothesis-seed={seed}")
    _, other = run_probe(tmp_path, "other", "--hypothesis-profile=dev", "--hypothesis-seed=7")
    assert {line.split()[0] for line in first} == {"decorated", "nested"}
    assert again == first
    assert other != first


def test_xdist_workers_draw_what_one_process_draws(tmp_path: Path) -> None:
    seed = ["--hypothesis-profile=dev", "--hypothesis-seed=12345"]
    _, alone = run_probe(tmp_path, "alone", *seed)
    _, spread = run_probe(tmp_path, "spread", *seed, "-n", "2")
    assert spread == alone


def test_a_seeded_run_keeps_the_example_database(tmp_path: Path) -> None:
    run_probe(
        tmp_path, "failing", "--hypothesis-profile=dev", "--hypothesis-seed=3", select="fails"
    )
    assert any((tmp_path / "db").rglob("*")), "the failure was not saved in the database"


def test_a_failed_test_prints_a_command_that_fails_it_again(tmp_path: Path) -> None:
    output, _ = run_probe(tmp_path, "failed", "--hypothesis-profile=dev", select="fails")
    seed = printed_seed(output)
    command = re.search(r"^python3 -m pytest (.*)$", output, re.MULTILINE)
    assert command is not None, output
    assert f"--hypothesis-seed={seed}" in command.group(1)
    assert "--world sim" in command.group(1)
    (tmp_path / "db").rename(tmp_path / "db-of-the-first-run")  # no database help
    again = subprocess.run(
        [sys.executable, "-m", "pytest", *command.group(1).split()],
        cwd=tmp_path,
        env={**os.environ, "DRAWN": str(tmp_path / "again.drawn")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 1, again.stdout
    assert "assert n < 1000" in again.stdout


def test_a_derandomized_profile_has_no_seed_to_print(tmp_path: Path) -> None:
    output, first = run_probe(tmp_path, "first", "--hypothesis-profile=ci")
    _, again = run_probe(tmp_path, "again", "--hypothesis-profile=ci")
    assert "seed none: profile 'ci' is derandomized" in output
    assert again == first


def test_check_refuses_a_seed_under_a_derandomized_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["check", "--profile", "ci", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--seed does nothing under --profile ci, which is derandomized" in err


def test_check_says_to_repeat_with_its_own_seed_flag() -> None:
    assert seeds.RunSeed("42").describe("--seed") == "42 (repeat with --seed=42)"
