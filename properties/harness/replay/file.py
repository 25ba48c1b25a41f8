"""Replay files: every failing example leaves one under `.nfsprop/failures/`, and
`nfsprop replay FILE` re-runs it.

Rules:
- A replay file is JSON (FORMAT, VERSION): the property, the kind of run (a family of
  properties/families.py), the world, the target URL (the target world), the settings
  (Hypothesis profile and seed, the target's options, and under the kind's name its
  family's config, which builds the same run again), the operations, the fault decisions
  as recorded by faults.sim.RecordingFaults, the failure message, a human-readable step
  log, and for simulated runs the trace (faults.sim.trace JSON). A run on real sockets
  also leaves its RPC messages beside it, as `<name>.pcap` (properties/harness/pcap.py).
- Operations by kind: "counter", the counter's increments; "machine" (the NFSv3 server
  machine, properties/nfs3/machine.py) and "afs" (properties/afs/machine.py), the recorded
  steps of properties/harness/steps.py ({function, args, draws}); "client", the program of
  properties/nfs_client/scenario.py, its steps in the steps' JSON of values.
- One file per failure: `<run>-<property>-<world>-<code>.json`, where run is the run's
  start (UTC, `YYYYMMDD-HHMMSS`, chosen once per run: the xdist controller hands it to
  its workers) and code the finding's code (or the exception's type). While Hypothesis
  shrinks, each smaller failing example overwrites the file, and it runs the minimal one
  last, so the file left is the shrunk one; another failure of the same test, and every
  later run, get their own files. `listing()` reads every file of a directory for
  `nfsprop replay --list`. The directory is $NFSPROP_FAILURES_DIR, or `.nfsprop/failures`
  under the current directory. `replay_on_failure()` writes the file when its block
  raises and adds the seed and the replay command to the failure as a note; families
  use it through Family.saving_failures (properties/harness/replay/family.py).
- Replaying needs no Hypothesis example generation: see properties/harness/replay/run.py.
- A missing or malformed file is a ReplayFileError, one line naming the problem and the
  fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from faults.sim.faults import Choice
from properties.harness import seeds
from properties.harness.findings import FindingError
from properties.harness.pcap import write_pcap
from properties.harness.seeds import RunSeed
from properties.harness.steps import RecordedStep, StepFormatError
from properties.worlds.registry import WORLDS
from reference.rpc.aio_client import WireMessage

FORMAT = "nfsprop-replay"
VERSION = 4  # 4: names in steps as {"text": ...}; 3: every family's config under its kind
READABLE = (3, 4)  # a version 3 file reads the same (its bytes are all {"bytes": hex})
DEFAULT_DIRECTORY = Path(".nfsprop") / "failures"
MAX_FAILURE_TEXT = 4000


class ReplayFileError(ValueError):
    """A replay file that cannot be read; the message names the problem and the fix."""


@dataclass(frozen=True)
class ReplayFile:
    property: str  # a pytest node id, or a scenario name
    kind: str  # a family of properties/families.py
    world: str
    failure: str
    settings: dict[str, Any] = field(default_factory=dict)
    operations: list[Any] = field(default_factory=list)
    faults: list[Choice] = field(default_factory=list)
    target: str | None = None
    trace: str | None = None
    log: list[str] = field(default_factory=list)  # the steps, as the failure message shows them
    # on real sockets, the run's RPC messages: written beside the file as a pcap, not in it
    wire: list[WireMessage] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> str:
        body = dataclasses.asdict(dataclasses.replace(self, wire=None))
        del body["wire"]
        body["faults"] = [[choice.label, choice.index] for choice in self.faults]
        return json.dumps({"format": FORMAT, "version": VERSION, **body}, indent=1) + "\n"


@dataclass(frozen=True)
class RunContext:
    """Where a failing property ran: what every replay file records besides its kind's own."""

    property: str  # a pytest node id, or a scenario name
    world: str = "sim"
    seed: str | None = None
    target: str | None = None  # the target world's URL
    target_drc: bool = True
    restart_cmd: str | None = None
    uid: int = 0
    gid: int = 0
    scratch_dir: str | None = None

    def settings(self, **kind_settings: Any) -> dict[str, Any]:
        common: dict[str, Any] = {"profile": settings.get_current_profile_name(), "seed": self.seed}
        if self.target is not None:
            common |= {
                "target_drc": self.target_drc,
                "restart_cmd": self.restart_cmd,
                "uid": self.uid,
                "gid": self.gid,
                "scratch_dir": self.scratch_dir,
            }
        return common | kind_settings


def run_context(request: pytest.FixtureRequest, world: str = "sim") -> RunContext:
    """The RunContext of the running pytest test, from the suite's command-line options."""
    from properties.harness.plugin import world_options

    options = world_options(request.config)
    url = str(options.target) if world == "target" and options.target is not None else None
    return RunContext(
        request.node.nodeid,
        world,
        seeds.current().value,
        url,
        options.target_drc,
        options.restart_cmd,
        options.uid,
        options.gid,
        None if options.scratch_dir is None else os.fsdecode(options.scratch_dir),
    )


def failures_dir() -> Path:
    return Path(os.environ.get("NFSPROP_FAILURES_DIR", DEFAULT_DIRECTORY))


_run_stamp: list[str] = []


def run_stamp() -> str:
    """This run's start, as replay file names carry it (chosen on first use)."""
    if not _run_stamp:
        set_run_stamp(time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
    return _run_stamp[0]


def set_run_stamp(stamp: str) -> None:
    _run_stamp[:] = [stamp]


def file_name(property_id: str, world: str, code: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", property_id.rsplit("/", 1)[-1]).strip("_")
    return f"{run_stamp()}-{slug}-{world}-{code}.json"


def failure_code(error: BaseException) -> str:
    """The code a failure's file is named by: its finding's, or its exception type; for
    several failures at once (Hypothesis's group of distinct bugs), theirs joined."""
    if isinstance(error, BaseExceptionGroup):
        return "+".join(sorted({failure_code(inner) for inner in error.exceptions}))
    return error.rule.code if isinstance(error, FindingError) else type(error).__name__


def _findings_in(error: BaseException) -> Iterator[FindingError]:
    if isinstance(error, FindingError):
        yield error
    elif isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _findings_in(inner)


def save(replay: ReplayFile, code: str, directory: Path | None = None) -> Path:
    where = failures_dir() if directory is None else directory
    where.mkdir(parents=True, exist_ok=True)
    path = where / file_name(replay.property, replay.world, code)
    path.write_text(replay.to_json())
    if replay.wire:
        write_pcap(path.with_suffix(".pcap"), replay.wire)
    return path


@dataclass(frozen=True)
class Listed:
    path: Path
    replay: ReplayFile | None  # None: the file does not load
    problem: str = ""


def listing(directory: Path) -> list[Listed]:
    """Every replay file in `directory`, oldest first (names start with the run)."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append(Listed(path, load(path)))
        except ReplayFileError as error:
            found.append(Listed(path, None, str(error)))
    return found


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
        path = save(replay, failure_code(error), directory)
        error.add_note(report(path, replay.settings.get("seed")))
        for finding in _findings_in(error):  # of a group: the one file of its last run
            finding.replay = str(path)
        raise


def failure_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_FAILURE_TEXT]


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
    if body.get("version") not in READABLE:
        raise ReplayFileError(
            f"{path}: replay format version {body.get('version')!r}; this nfsprop reads "
            f"versions {', '.join(map(str, READABLE))}: replay it with the nfsprop that wrote it"
        )
    from properties.families import FAMILIES, family

    kind = _field(body, "kind", str, path)
    if kind not in FAMILIES:
        raise ReplayFileError(f"{path}: unknown kind {kind!r}; expected one of {tuple(FAMILIES)}")
    runs = family(kind)
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
    world = _checked_world(path, kind, runs.any_world, _field(body, "world", str, path), target)
    settings = _field(body, "settings", dict, path)
    if not isinstance(settings.get(kind), dict):
        raise ReplayFileError(
            f"{path}: settings lack {kind!r}, which a {kind} run needs; "
            "replay a file the suite wrote"
        )
    operations = _field(body, "operations", list, path)
    if runs.recorded_steps:
        for number, step in enumerate(operations, 1):
            try:
                RecordedStep.from_json(step)
            except StepFormatError as error:
                raise ReplayFileError(f"{path}: operation {number}: {error}") from None
    log = body.get("log", [])
    if not isinstance(log, list) or not all(isinstance(line, str) for line in log):
        raise ReplayFileError(f"{path}: field 'log' is not a list of strings")
    return ReplayFile(
        property=_field(body, "property", str, path),
        kind=kind,
        world=world,
        failure=_field(body, "failure", str, path),
        settings=settings,
        operations=operations,
        faults=faults,
        target=target,
        trace=trace,
        log=log,
    )


def _checked_world(path: Path, kind: str, any_world: bool, world: str, target: str | None) -> str:
    if world not in WORLDS:
        raise ReplayFileError(f"{path}: unknown world {world!r}; expected one of {tuple(WORLDS)}")
    if not any_world and not WORLDS[world].simulated:
        raise ReplayFileError(f"{path}: a {kind} run happens in the sim world, not {world!r}")
    if world == "target" and target is None:
        raise ReplayFileError(f"{path}: a target-world run without its 'target' URL")
    return world
