"""How the replay tests replay: `nfsprop replay FILE` as a user runs it (a subprocess of
this Python, from the repository), edited copies of a replay file, and an in-process
replay checked byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from properties.harness.replay.file import load
from properties.harness.replay.run import replay_file

REPOSITORY = Path(__file__).resolve().parents[2]


def nfsprop_replay(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "properties.cli", "replay", str(path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def edited(saved: Path, directory: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the replay file in `directory`, its JSON body changed in place by `change`."""
    body = json.loads(saved.read_text())
    change(body)
    copy = directory / saved.name
    copy.write_text(json.dumps(body))
    return copy


def assert_replayed_byte_for_byte(saved: Path, message_start: str = "") -> None:
    """Replaying `saved` reproduces its failure (a message starting with `message_start`)
    with the recorded trace, byte for byte."""
    recorded = load(saved)
    _, outcome = replay_file(saved)
    assert outcome.reproduced, outcome.message
    assert outcome.message.startswith(message_start), outcome.message
    assert recorded.trace is not None and outcome.trace is not None
    assert outcome.trace.encode() == recorded.trace.encode()
    assert outcome.trace_identical is True
