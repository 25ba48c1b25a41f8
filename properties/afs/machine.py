"""The AFS state machine: clients opening, writing and closing whole files on one server
through a faulty simulated network, with server restarts, lost callbacks and passing time.

Rules:
- One machine drives one AfsWorld (properties.afs.world) whose faults come from the
  run's fault source (`data.fault_source()`: the example's data, or a replay's recorded
  decisions) through StepFaults: each step draws whether it has network faults at all.
  Steps run one at a time, each to completion; the server's breaks and the network's
  delayed and duplicated messages go on in the background.
- Clients c1..c3; files a and b exist from the start. Every write stores contents no
  other write uses, so contents name their store.
- Rules: `open` opens a path and keeps it open (closing, unwritten, what the client had
  open). `write` of the path the client holds open writes new contents to that open file
  and closes it (a store based on the version it opened); of any other path it opens,
  writes and closes at once. `between` is an interlude: 11 s or 1 s pass, the server
  restarts, or every client stops hearing callbacks until it next calls the server. No
  rule has a precondition, so deleting a step never changes what a later step's choices
  mean, which keeps shrinking effective.
- Every open is a read the checker judges (properties.afs.checks); after every step the
  checker also judges the server's contents (last writer wins). A violation carries the
  steps so far and the end of the simulation's sequence chart.
- The config is an input (frozen, JSON in replay files); what the runs leave goes to an
  AfsRunLog: `logs` keeps the steps of every run (Hypothesis replays the minimal failing
  example last, so `logs[-1]` is the shrunk counterexample) and `excused` collects the
  stale reads the properties allowed (behind a lost break or a restart), across runs.
- Every step is also recorded as data (properties/harness/steps.py), with the run's fault
  decisions and its world; the run log keeps the latest run's record (`latest`), so
  `run_afs_machine` can leave a replay file of the last (shrunk) run that `nfsprop
  replay` runs again without Hypothesis (the AFS family, registered in
  properties/families.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Self

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from faults.sim import FaultRates, FaultSource
from properties.afs.checks import AfsChecker, AfsViolation
from properties.afs.world import AfsWorld, make_afs_world
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome, drive, recorded_faults
from properties.harness.steps import Codec, Draws, RecordedMachine, RunLog, recorded
from reference.afs.callbacks import ClientMutants
from reference.afs.client import AfsOpenFile
from reference.afs.server import ServerMutants

CLIENTS = ("c1", "c2", "c3")
INITIAL = {b"a": b"a0", b"b": b"b0"}
CLIENT = st.sampled_from(CLIENTS)
PATH = st.sampled_from(sorted(INITIAL))
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.05, delay=0.1, reorder=0.05, max_delay=0.05)
CHART_LINES = 60


@dataclass(frozen=True, slots=True)
class Interlude:
    """What happens between client operations: time passes, or the server restarts."""

    seconds: float = 0.0
    restart: bool = False
    deafen: bool = False


# The longest wait first: shrinking moves toward it, so one wait replaces many short ones.
INTERLUDE = st.sampled_from(
    (Interlude(11.0), Interlude(1.0), Interlude(restart=True), Interlude(deafen=True))
)


class StepFaults:
    """A FaultSource switched per step: each step first draws whether it has faults at
    all (shrinking toward none); in a step without faults no decision draws anything,
    so a shrunk counterexample keeps only the faults it needs, step by step."""

    def __init__(self, inner: FaultSource, data: Draws) -> None:
        self.inner = inner
        self.data = data
        self.on = False

    def begin_step(self) -> str:
        """Decide this step's faults; a suffix for the step's log line."""
        self.on = self.data.draw(st.booleans(), label="faults in this step")
        return " (faults on)" if self.on else ""

    def choose(self, label: str, weights: Sequence[float]) -> int:
        return self.inner.choose(label, weights) if self.on else 0


@dataclass(frozen=True)
class AfsMachineConfig:
    rates: FaultRates = FAULTY_NETWORK
    server_mutants: ServerMutants = field(default_factory=ServerMutants)
    client_mutants: ClientMutants = field(default_factory=ClientMutants)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError or KeyError if `body` does not describe one."""
        return cls(
            FaultRates(**body["rates"]),
            ServerMutants(**body["server_mutants"]),
            ClientMutants(**body["client_mutants"]),
        )


@dataclass
class AfsRunLog(RunLog):
    excused: list[str] = field(default_factory=list)  # the stale reads allowed, every run


def run_afs_machine(
    config: AfsMachineConfig,
    configured: settings,
    context: RunContext | None = None,
    directory: Path | None = None,
    log: AfsRunLog | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file (run_recorded_machine)."""
    log = AfsRunLog() if log is None else log
    machine = afs_machine_class(config, log)
    run_recorded_machine(machine, configured, AFS, config, log, context, directory)


def afs_machine_class(config: AfsMachineConfig, log: AfsRunLog | None = None) -> type[AfsMachine]:
    """A machine class bound to `config`, logging its runs to `log` (run it with
    run_state_machine_as_test)."""

    class ConfiguredAfsMachine(AfsMachine):  # a class statement: Hypothesis derandomizes
        pass  # by the source of the machine class, so this keeps the examples it draws

    ConfiguredAfsMachine.config = config
    ConfiguredAfsMachine.run_log = AfsRunLog() if log is None else log
    return ConfiguredAfsMachine


class AfsMachine(RecordedMachine):
    config: ClassVar[AfsMachineConfig]
    run_log: ClassVar[AfsRunLog]
    codec = Codec((Interlude,))

    faults: StepFaults

    def __init__(self) -> None:
        super().__init__()
        self.run_log.latest = self.record
        self.log: list[str] = []
        self.run_log.logs.append(self.log)
        self.opened: dict[str, AfsOpenFile] = {}
        self.writes = 0
        self._afs: AfsWorld | None = None
        self._checker: AfsChecker | None = None

    @property
    def afs(self) -> AfsWorld:
        assert self._afs is not None, "the start step has not run"
        return self._afs

    @property
    def checker(self) -> AfsChecker:
        assert self._checker is not None, "the start step has not run"
        return self._checker

    @initialize(data=st.data())
    @recorded
    def start(self, data: Draws) -> None:
        config = self.config
        self.faults = StepFaults(data.fault_source(), data)
        self._afs = make_afs_world(
            self.faults,
            config.rates,
            CLIENTS,
            INITIAL,
            config.server_mutants,
            config.client_mutants,
        )
        self._checker = AfsChecker(self._afs)
        self.record.world = self._afs.world

    @rule(client=CLIENT, path=PATH)
    @recorded
    def open(self, client: str, path: bytes) -> None:
        faults = self.faults.begin_step()
        before = self.opened.pop(client, None)
        if before is not None:
            self.afs.run(client, lambda afs: before.close())
        start = self.checker.begin_read(client, path)
        opened = self.afs.run(client, lambda afs: afs.open(path))
        self.opened[client] = opened
        self.log.append(f"{client} opens {path.decode()}: {opened.read().decode()}{faults}")
        self._judge(lambda: self.checker.check_read(start, opened.read()))

    @rule(client=CLIENT, path=PATH)
    @recorded
    def write(self, client: str, path: bytes) -> None:
        faults = self.faults.begin_step()
        contents = self._contents(client)
        opened = self.opened.pop(client, None)
        if opened is not None and opened.path == path:
            opened.write(contents)
            self.afs.run(client, lambda afs: opened.close())
            self.log.append(
                f"{client} writes {contents.decode()} to its open {path.decode()}{faults}"
            )
        else:
            if opened is not None:
                self.opened[client] = opened
            self.afs.run(client, lambda afs: afs.write_file(path, contents))
            self.log.append(f"{client} writes {contents.decode()} to {path.decode()}{faults}")
        self.checker.store_completed(path, contents)

    @rule(interlude=INTERLUDE)
    @recorded
    def between(self, interlude: Interlude) -> None:
        if interlude.restart:
            self.afs.restart_server()
            self.log.append("the server restarts")
            return
        if interlude.deafen:
            self.afs.deafen()
            self.log.append("breaks to each client are lost until it next calls the server")
            return
        faults = self.faults.begin_step()
        self.afs.wait(interlude.seconds)
        self.log.append(f"{interlude.seconds:g} s pass{faults}")

    @invariant()
    def last_writer_wins(self) -> None:
        if self._checker is not None:
            self._judge(self.checker.check_last_writer)

    def _contents(self, client: str) -> bytes:
        self.writes += 1
        return f"{client}#{self.writes}".encode()

    def teardown(self) -> None:
        if self._checker is not None:
            self.run_log.excused.extend(self._checker.excused)
        if self._afs is not None:
            self._afs.stop()

    def _judge(self, check: Callable[[], None]) -> None:
        try:
            check()
        except AfsViolation as violation:
            self._fail(violation)

    def _fail(self, violation: AfsViolation) -> NoReturn:
        steps = "\n".join(f"  {number}. {step}" for number, step in enumerate(self.log, 1))
        chart = self.afs.world.trace.sequence_chart(last=CHART_LINES)
        raise type(violation)(f"{violation}\nsteps:\n{steps}\ntrace:\n{chart}") from None


def replay_afs(replay: ReplayFile, config: AfsMachineConfig) -> ReplayOutcome:
    """A fresh AFS machine with the recorded mutants and fault rates, driven through the
    recorded steps with the recorded fault decisions."""
    return drive(replay, afs_machine_class(config)(), recorded_faults(replay))


AFS = Family("afs", AfsMachineConfig, replay_afs, recorded_steps=True)
