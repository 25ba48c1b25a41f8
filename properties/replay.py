"""Replay files: every failing example leaves one under `.nfsprop/failures/`, and
`nfsprop replay FILE` re-runs it.

Rules:
- A replay file is JSON (FORMAT, VERSION): the property, the kind of run, the world, the
  target URL (socket worlds), the settings (Hypothesis profile and seed, cache on or off,
  fault rates), the operations (the counter's increments, or a state machine's steps
  log), the fault decisions as recorded by faults.sim.RecordingFaults, the failure
  message, and for simulated runs the trace (faults.sim.trace JSON).
- One file per property and world, `<property>-<world>.json`, overwritten by each failing
  run: Hypothesis runs the minimal failing example last, so the file left is the shrunk
  one. The directory is $NFSPROP_FAILURES_DIR, or `.nfsprop/failures` under the current
  directory. `replay_on_failure()` writes the file when its block raises and adds the
  seed and the replay command to the failure as a note (pytest prints notes).
- Replaying a "counter" run needs no Hypothesis: the increments run again in the
  simulation world with ReplayFaults over the recorded decisions, and the new trace is
  compared with the saved one byte for byte. A "machine" run (a Hypothesis state
  machine) is re-run by pytest on its node id, in its world and target, with its profile
  and seed; the Hypothesis example database gives it the failing example first.
- A missing or malformed file is a ReplayFileError, one line naming the problem and the
  fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from faults.sim import FaultRates, FaultSource, RecordingFaults
from faults.sim.faults import Choice
from properties import seeds
from properties.seeds import RunSeed

FORMAT = "nfsprop-replay"
VERSION = 1
DEFAULT_DIRECTORY = Path(".nfsprop") / "failures"
KINDS = ("counter", "machine")
MAX_FAILURE_TEXT = 4000


class ReplayFileError(ValueError):
    """A replay file that cannot be read; the message names the problem and the fix."""


@dataclass(frozen=True)
class ReplayFile:
    property: str  # a pytest node id, or a scenario name
    kind: str  # one of KINDS
    world: str
    failure: str
    settings: dict[str, Any] = field(default_factory=dict)
    operations: list[Any] = field(default_factory=list)
    faults: list[Choice] = field(default_factory=list)
    target: str | None = None
    trace: str | None = None

    def to_json(self) -> str:
        body = dataclasses.asdict(self)
        body["faults"] = [[choice.label, choice.index] for choice in self.faults]
        return json.dumps({"format": FORMAT, "version": VERSION, **body}, indent=1) + "\n"


def failures_dir() -> Path:
    return Path(os.environ.get("NFSPROP_FAILURES_DIR", DEFAULT_DIRECTORY))


def file_name(property_id: str, world: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", property_id.rsplit("/", 1)[-1]).strip("_")
    return f"{slug}-{world}.json"


def save(replay: ReplayFile, directory: Path | None = None) -> Path:
    where = failures_dir() if directory is None else directory
    where.mkdir(parents=True, exist_ok=True)
    path = where / file_name(replay.property, replay.world)
    path.write_text(replay.to_json())
    return path


def replay_command(path: Path) -> str:
    return f"nfsprop replay {path}"


def report(path: Path, seed: str | None) -> str:
    seed_text = RunSeed(seed).describe()
    return f"seed: {seed_text}\nreplay file: {path}\nreplay with: {replay_command(path)}"


@contextmanager
def replay_on_failure(
    describe: Callable[[BaseException], ReplayFile], directory: Path | None = None
) -> Iterator[None]:
    """Save `describe(error)` when the block raises, and add the replay command to `error`."""
    try:
        yield
    except Exception as error:
        replay = describe(error)
        path = save(replay, directory)
        error.add_note(report(path, replay.settings.get("seed")))
        raise


def rates_settings(rates: FaultRates) -> dict[str, float]:
    return dataclasses.asdict(rates)


def recording(recordings: list[RecordingFaults], source: FaultSource) -> RecordingFaults:
    """`source`, recorded; the recording is appended to `recordings` (one per example)."""
    recorder = RecordingFaults(source)
    recordings.append(recorder)
    return recorder


def failure_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_FAILURE_TEXT]


def machine_replay(
    request: pytest.FixtureRequest,
    world: str,
    logs: Sequence[list[str]],
    recordings: Sequence[RecordingFaults],
    error: BaseException,
) -> ReplayFile:
    """The replay file of a failed state-machine property: its last (shrunk) run."""
    from properties.plugin import world_options

    options = world_options(request.config)
    target = str(options.target) if world == "target" and options.target is not None else None
    return ReplayFile(
        property=request.node.nodeid,
        kind="machine",
        world=world,
        failure=failure_text(error),
        settings={
            "profile": settings.get_current_profile_name(),
            "seed": seeds.current().value,
            "target_drc": options.target_drc,
            "restart_cmd": options.restart_cmd,
        },
        operations=list(logs[-1]) if logs else [],
        faults=list(recordings[-1].records) if recordings else [],
        target=target,
    )


def _field(body: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    value = body.get(name)
    if not isinstance(value, kind):
        raise ReplayFileError(
            f"{path}: field {name!r} is missing or not a {kind.__name__}; "
            "replay a file written by the suite (under .nfsprop/failures/)"
        )
    return value


def load(path: Path) -> ReplayFile:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ReplayFileError(
            f"{path}: no such replay file; give a file from .nfsprop/failures/"
        ) from None
    except OSError as error:
        raise ReplayFileError(
            f"{path}: cannot read it ({error.strerror}); check the path"
        ) from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReplayFileError(
            f"{path}: not JSON ({error.msg} at line {error.lineno}); "
            "give a replay file the suite wrote"
        ) from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ReplayFileError(f'{path}: not an nfsprop replay file (no "format": "{FORMAT}")')
    if body.get("version") != VERSION:
        raise ReplayFileError(
            f"{path}: replay format version {body.get('version')!r}; this nfsprop reads "
            f"version {VERSION}: replay it with the nfsprop that wrote it"
        )
    kind = _field(body, "kind", str, path)
    if kind not in KINDS:
        raise ReplayFileError(f"{path}: unknown kind {kind!r}; expected one of {KINDS}")
    faults = []
    for entry in _field(body, "faults", list, path):
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], int)
        ):
            raise ReplayFileError(f"{path}: a fault decision is not [label, index]: {entry!r}")
        faults.append(Choice(entry[0], entry[1]))
    target = body.get("target")
    trace = body.get("trace")
    if target is not None and not isinstance(target, str):
        raise ReplayFileError(f"{path}: field 'target' is not a string")
    if trace is not None and not isinstance(trace, str):
        raise ReplayFileError(f"{path}: field 'trace' is not a string")
    return ReplayFile(
        property=_field(body, "property", str, path),
        kind=kind,
        world=_field(body, "world", str, path),
        failure=_field(body, "failure", str, path),
        settings=_field(body, "settings", dict, path),
        operations=_field(body, "operations", list, path),
        faults=faults,
        target=target,
        trace=trace,
    )
