"""The cache-convergence scenario: programs of file operations run by several caching NFS
clients against one reference server, and the checks of what the clients saw.

Rules:
- A program is a list of steps run one after another (each finishes before the next
  starts; hard mounts retry through every fault). Steps name a client by index and a file
  of FILES in the export's root. Contents are made from the step's index, so every write
  is recognisable in a counterexample.
- A run is a pure function of its program, its FaultSource and the planted bugs, so a
  failing run replays from the recorded choices.
- The model is what the clients' completed steps imply, in order: WriteFile replaces a
  file, WriteAt patches an existing one (ENOENT when there is none), Remove removes.
- Observations keep the virtual times a step started and ended and what it returned
  (bytes, a listing, or None for ENOENT) or its errno. The checks:
  close-to-open  a ReadFile (open, read, close) returns the model's content: the data of
                 every close() that returned before the open;
  staleness      every value returned was the server's at some instant of
                 [start - bound, end], bound = acregmax for files, acdirmax for listings;
  convergence    after the program, with faults off and the clock past every cache
                 timeout, each client's held files, listing, sizes and reopened files
                 equal the server's;
  durability     after one more crash of the server, every file holds the model's
                 content: what close() acknowledged survived.
- A ClientSetup names everything else a run depends on (clients, mount options, planted
  bugs, fault rates) and the checks it must pass; `check_and_record` leaves a replay file
  when they fail: the setup, the program (the steps' JSON of properties/harness/steps.py), the
  recorded fault decisions and the trace, which `nfsprop replay` runs again without
  Hypothesis.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from hypothesis import strategies as st

from faults.sim import FaultRates, FaultSource, RecordingFaults
from properties.harness.replay.family import Evidence, Family
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import (
    SETTINGS_ERRORS,
    ReplayOutcome,
    recorded_faults,
    run_and_check,
    settings_error,
)
from properties.harness.steps import Codec
from properties.nfs_client.world import SIM_MOUNT, ClientWorld
from reference.client import ClientBugs, MountOptions, NfsClient, OpenFile

FILES = ("a", "b")
READ_ALL = 1 << 20
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.05, max_delay=0.02)

Value = bytes | tuple[str, ...] | None


# -- steps --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteFile:
    """open(O_WRONLY | O_CREAT | O_TRUNC), write `length` bytes, close."""

    client: int
    name: str
    length: int


@dataclass(frozen=True, slots=True)
class WriteAt:
    """open(O_WRONLY) an existing file, write `length` bytes at `offset`, close."""

    client: int
    name: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class ReadFile:
    """open, read everything, close: what close-to-open promises."""

    client: int
    name: str


@dataclass(frozen=True, slots=True)
class ReadHeld:
    """Read everything through a file the client keeps open (opened on first use): what
    the attribute cache promises."""

    client: int
    name: str


@dataclass(frozen=True, slots=True)
class ListDir:
    client: int


@dataclass(frozen=True, slots=True)
class Remove:
    client: int
    name: str


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Crash:
    """Crash and restart the server right after its `after`-th next changing call."""

    after: int


ClientStep = WriteFile | WriteAt | ReadFile | ReadHeld | ListDir | Remove
Step = ClientStep | Sleep | Crash


def content(index: int, length: int) -> bytes:
    """The bytes step `index` writes: recognisable, different for every step."""
    unit = b"<%d>" % index
    return (unit * (length // len(unit) + 1))[:length]


def steps(clients: int = 2, files: int = 2, crashes: bool = False) -> st.SearchStrategy[Step]:
    """One step; writes are drawn more often than the rest (weights by repetition)."""
    client = st.integers(0, clients - 1)
    name = st.sampled_from(FILES[:files])
    write_file = st.builds(WriteFile, client, name, st.sampled_from([5, 300, 4100]))
    write_at = st.builds(
        WriteAt, client, name, st.sampled_from([0, 2, 4094]), st.sampled_from([3, 9])
    )
    choices: list[st.SearchStrategy[Step]] = [
        write_file,
        write_file,
        write_file,
        write_at,
        write_at,
        st.builds(ReadFile, client, name),
        st.builds(ReadHeld, client, name),
        st.builds(Sleep, st.sampled_from([0.5, 3.5, 31.0, 61.0])),
        st.builds(ListDir, client),
        st.builds(Remove, client, name),
    ]
    if crashes:
        choices.append(st.builds(Crash, st.integers(0, 4)))
    return st.one_of(choices)


def programs(
    clients: int = 2, files: int = 2, crashes: bool = False, max_size: int = 14
) -> st.SearchStrategy[list[Step]]:
    return st.lists(steps(clients, files, crashes), min_size=1, max_size=max_size)


# -- running ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    index: int
    step: Step
    start: float
    end: float
    value: Value = None
    error: int | None = None  # errno, when the step failed otherwise than ENOENT
    expected: bytes | None = None  # the model's content of the file before the step


@dataclass(frozen=True, slots=True)
class FinalView:
    """What one client sees at the end (faults off, caches expired)."""

    client: int
    held: dict[str, Value]  # name -> read through the held file (None: ESTALE)
    held_server: dict[str, bytes | None]  # name -> the server's content of that file
    listing: tuple[str, ...]
    sizes: dict[str, int | None]
    reopened: dict[str, bytes | None]


@dataclass
class ClientRun:
    world: ClientWorld
    program: list[Step]
    options: MountOptions
    observations: list[Observation] = field(default_factory=list)
    model: dict[str, bytes | None] = field(default_factory=lambda: dict.fromkeys(FILES))
    held: dict[tuple[int, str], OpenFile] = field(default_factory=dict)
    final: list[FinalView] = field(default_factory=list)
    final_server: dict[str, bytes | None] = field(default_factory=dict)
    final_names: tuple[str, ...] = ()
    durable: dict[str, bytes | None] = field(default_factory=dict)

    def chart(self, last: int = 400) -> str:
        return self.world.world.trace.sequence_chart(last)


def run_program(
    program: list[Step],
    faults: FaultSource,
    bugs: ClientBugs | None = None,
    clients: int = 2,
    rates: FaultRates = FAULTY_NETWORK,
    finish: bool = True,
    cto: bool = True,
    noac: bool = False,
) -> ClientRun:
    """Run the program; with `finish`, then the end-of-run views and the final crash."""
    options = replace(SIM_MOUNT, cto=cto, noac=noac, bugs=bugs or ClientBugs())
    world = ClientWorld(faults, [options] * clients, rates, watch=FILES)
    run = ClientRun(world, program, options)
    for index, step in enumerate(program):
        _run_step(run, index, step)
    if finish:
        _finish(run)
    return run


def _run_step(run: ClientRun, index: int, step: Step) -> None:
    world = run.world
    if isinstance(step, Sleep):
        world.advance(step.seconds)
        return
    if isinstance(step, Crash):
        world.crash_after(step.after)
        return
    start = world.now
    expected = None if isinstance(step, ListDir) else run.model[step.name]
    value: Value = None
    error: int | None = None
    try:
        value = world.run(step.client, _operation(run, index, step))
    except FileNotFoundError:
        value = None
    except OSError as failure:
        error = failure.errno
    _update_model(run, index, step, error)
    run.observations.append(Observation(index, step, start, world.now, value, error, expected))


async def _operation(run: ClientRun, index: int, step: ClientStep) -> Value:
    client = run.world.client(step.client)
    if isinstance(step, WriteFile):
        file = await client.open(step.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        await client.write(file, content(index, step.length))
        await client.close(file)
        return None
    if isinstance(step, WriteAt):
        file = await client.open(step.name, os.O_WRONLY)
        await client.write(file, content(index, step.length), step.offset)
        await client.close(file)
        return None
    if isinstance(step, ReadFile):
        return await _read_file(client, step.name)
    if isinstance(step, ReadHeld):
        return await _read_held(run, client, step.client, step.name)
    if isinstance(step, ListDir):
        return tuple(sorted(await client.listdir("/")))
    await client.remove(step.name)
    return None


async def _read_file(client: NfsClient, name: str) -> bytes:
    file = await client.open(name)
    try:
        return await client.read(file, READ_ALL, 0)
    finally:
        await client.close(file)


async def _read_held(run: ClientRun, client: NfsClient, index: int, name: str) -> bytes:
    file = run.held.get((index, name))
    if file is None:
        file = run.held[(index, name)] = await client.open(name)
    try:
        return await client.read(file, READ_ALL, 0)
    except OSError as failure:
        if failure.errno == errno.ESTALE:  # the file is gone: open the name again next time
            del run.held[(index, name)]
        raise


def _update_model(run: ClientRun, index: int, step: ClientStep, error: int | None) -> None:
    if isinstance(step, WriteFile) and error is None:
        run.model[step.name] = content(index, step.length)
    elif isinstance(step, WriteAt) and error is None:
        old = run.model[step.name]
        if old is not None:
            patched = bytearray(old.ljust(step.offset, b"\0"))
            patched[step.offset : step.offset + step.length] = content(index, step.length)
            run.model[step.name] = bytes(patched)
    elif isinstance(step, Remove):
        run.model[step.name] = None  # a resent REMOVE may answer ENOENT: it is gone anyway


def _finish(run: ClientRun) -> None:
    world = run.world
    world.disarm()
    world.calm()
    world.advance(run.options.staleness_bound + 1.0)
    state = world.server_state()
    run.final_server = dict(state.files)
    run.final_names = state.names
    for index in range(len(world.nodes)):
        run.final.append(world.run(index, _final_view(run, index)))
    world.crash_server()
    run.durable = dict(world.server_state().files)


async def _final_view(run: ClientRun, index: int) -> FinalView:
    client = run.world.client(index)
    held: dict[str, Value] = {}
    held_server: dict[str, bytes | None] = {}
    for (owner, name), file in sorted(run.held.items()):
        if owner != index:
            continue
        held_server[name] = run.world.content_of_handle(file.handle)
        try:
            held[name] = await client.read(file, READ_ALL, 0)
        except OSError:
            held[name] = None
    sizes: dict[str, int | None] = {}
    reopened: dict[str, bytes | None] = {}
    for name in FILES:
        try:
            sizes[name] = (await client.stat(name)).size
        except FileNotFoundError:
            sizes[name] = None
        try:
            reopened[name] = await _read_file(client, name)
        except FileNotFoundError:
            reopened[name] = None
    listing = tuple(sorted(await client.listdir("/")))
    return FinalView(index, held, held_server, listing, sizes, reopened)


# -- checks -------------------------------------------------------------------------------


class ClientPropertyViolation(AssertionError):
    """A client saw something its consistency promise rules out."""


class CloseToOpenViolation(ClientPropertyViolation):
    pass


class StalenessViolation(ClientPropertyViolation):
    pass


class ConvergenceViolation(ClientPropertyViolation):
    pass


class DurabilityViolation(ClientPropertyViolation):
    pass


def describe(run: ClientRun) -> str:
    """The program, what each step returned, and the run's message sequence chart."""
    lines = [f"program ({len(run.program)} steps):"]
    lines += [f"  {index}: {step}" for index, step in enumerate(run.program)]
    lines.append("observations:")
    lines += [
        f"  {o.index}: t={o.start:.3f}..{o.end:.3f} value={o.value!r} errno={o.error}"
        for o in run.observations
    ]
    lines += ["sequence chart:", run.chart()]
    return "\n".join(lines)


def check_close_to_open(run: ClientRun) -> None:
    for seen in run.observations:
        if not isinstance(seen.step, ReadFile):
            continue
        if seen.error is not None or seen.value != seen.expected:
            raise CloseToOpenViolation(
                f"step {seen.index} {seen.step}: opened after every earlier close() returned, "
                f"expected {seen.expected!r}, got {seen.value!r} (errno {seen.error})\n"
                + describe(run)
            )


def check_bounded_staleness(run: ClientRun) -> None:
    world, options = run.world, run.options
    file_bound = options.attribute_bounds(False)[1]
    directory_bound = options.attribute_bounds(True)[1]
    for seen in run.observations:
        step = seen.step
        window: list[Value]
        if isinstance(step, ListDir):
            window = list(world.listing.during(seen.start - directory_bound, seen.end))
        elif isinstance(step, ReadFile | ReadHeld):
            if seen.error == errno.ESTALE and isinstance(step, ReadHeld):
                continue  # the held file is gone: an honest answer
            window = list(world.files[step.name].during(seen.start - file_bound, seen.end))
        else:
            continue
        if seen.error is not None or seen.value not in window:
            raise StalenessViolation(
                f"step {seen.index} {step} at t={seen.start:.3f}..{seen.end:.3f} returned "
                f"{seen.value!r} (errno {seen.error}); the server held only {window!r} "
                "in the window\n" + describe(run)
            )


def check_convergence(run: ClientRun) -> None:
    for view in run.final:
        problems = []
        for name, value in view.held.items():
            if value != view.held_server[name]:
                problems.append(f"held {name}: {value!r} != server {view.held_server[name]!r}")
        if view.listing != run.final_names:
            problems.append(f"listing {view.listing!r} != server {run.final_names!r}")
        for name in FILES:
            server = run.final_server[name]
            size = None if server is None else len(server)
            if view.sizes[name] != size:
                problems.append(f"size of {name}: {view.sizes[name]} != server {size}")
            if view.reopened[name] != server:
                problems.append(f"reopened {name}: {view.reopened[name]!r} != server {server!r}")
        if problems:
            raise ConvergenceViolation(
                f"client c{view.client} disagrees with the server after the caches expired: "
                + "; ".join(problems)
                + "\n"
                + describe(run)
            )


def check_durability(run: ClientRun) -> None:
    for name in FILES:
        if run.durable[name] != run.model[name]:
            raise DurabilityViolation(
                f"after a crash {name} holds {run.durable[name]!r}, but the completed steps "
                f"closed it with {run.model[name]!r}\n" + describe(run)
            )


# -- replay files -------------------------------------------------------------------------

CHECKS: dict[str, Callable[[ClientRun], None]] = {
    "close-to-open": check_close_to_open,
    "bounded-staleness": check_bounded_staleness,
    "convergence": check_convergence,
    "durability": check_durability,
}
PROGRAM_CODEC = Codec((WriteFile, WriteAt, ReadFile, ReadHeld, ListDir, Remove, Sleep, Crash))


@dataclass(frozen=True)
class ClientSetup:
    """What a run depends on besides its program and its faults, and the checks (names in
    CHECKS) it must pass: what a replay file keeps."""

    checks: tuple[str, ...]
    clients: int = 2
    bugs: ClientBugs = field(default_factory=ClientBugs)
    rates: FaultRates = FAULTY_NETWORK
    finish: bool = True
    cto: bool = True
    noac: bool = False

    def run(self, program: list[Step], faults: FaultSource) -> ClientRun:
        return run_program(
            program, faults, self.bugs, self.clients, self.rates, self.finish, self.cto, self.noac
        )

    def check(self, run: ClientRun) -> None:
        for name in self.checks:
            CHECKS[name](run)

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["checks"] = list(self.checks)
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The setup `to_json()` gave; TypeError, ValueError or KeyError if `body` does
        not describe one."""
        checks = tuple(body["checks"])
        unknown = [name for name in checks if name not in CHECKS]
        if unknown:
            raise ValueError(f"unknown checks {unknown}; known: {sorted(CHECKS)}")
        flags = [body[name] for name in ("finish", "cto", "noac")]
        clients = body["clients"]
        if not all(isinstance(flag, bool) for flag in flags) or not isinstance(clients, int):
            raise TypeError("clients must be a number, finish, cto and noac true or false")
        finish, cto, noac = flags
        bugs = ClientBugs(**body["bugs"])
        return cls(checks, clients, bugs, FaultRates(**body["rates"]), finish, cto, noac)


def check_and_record(
    setup: ClientSetup,
    run: ClientRun,
    recorder: RecordingFaults,
    context: RunContext,
    directory: Path | None = None,
) -> None:
    """`setup.check(run)`; a failure leaves a replay file (in `directory`, default
    failures_dir()). `recorder` must be the fault source the run was given."""

    def evidence() -> Evidence:
        return Evidence(
            operations=[PROGRAM_CODEC.encode(step) for step in run.program],
            faults=list(recorder.records),
            trace=run.world.world.trace.to_json(),
            log=[f"{index}: {step}" for index, step in enumerate(run.program)],
        )

    with CACHING_CLIENTS.saving_failures(context, setup, evidence, directory):
        setup.check(run)


def decode_program(operations: list[Any]) -> list[Step]:
    """The program a replay file holds; StepFormatError or TypeError if it is not one."""
    program = [PROGRAM_CODEC.decode(operation) for operation in operations]
    for step in program:
        if not isinstance(step, Step):
            raise TypeError(f"not a program step: {step!r}")
    return program


def replay_client(replay: ReplayFile, setup: ClientSetup) -> ReplayOutcome:
    """The recorded program again with the recorded setup (clients, mount options, planted
    bugs, fault rates) and fault decisions, then its checks."""
    try:
        program = decode_program(replay.operations)
    except SETTINGS_ERRORS as error:
        raise settings_error(replay, error) from None
    return run_and_check(
        replay,
        lambda: setup.run(program, recorded_faults(replay)),
        lambda run: run.world.world.trace.to_json(),
        setup.check,
    )


CACHING_CLIENTS = Family("client", ClientSetup, replay_client)
