"""The AFS state machine: clients reading, opening, writing and closing whole files on one
server through a faulty simulated network, with server restarts and passing time.

Rules:
- One machine drives one AfsWorld (properties.afs_world) whose faults come from the
  example's data. Steps run one at a time, each to completion; the server's breaks and
  the network's delayed and duplicated messages go on in the background.
- Clients c1..c3; files a and b exist from the start. Every write stores contents no
  other write uses, so contents name their store.
- Each client may hold one open file: `open` keeps it open (closing an unwritten one it
  had), `write_close` writes new contents to an open file and closes it (a store).
  `read` and `write` are whole open-read-close and open-write-close operations.
- Every open is a read the checker judges (properties.afs_checks); after every step the
  checker also judges the server's contents (last writer wins). A violation carries the
  steps so far and the end of the simulation's sequence chart.
- The config's `logs` keeps the steps of every run; Hypothesis replays the minimal failing
  example last, so `logs[-1]` is the shrunk counterexample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, NoReturn

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from faults.sim import FaultRates, HypothesisFaults
from properties.afs_checks import AfsChecker, AfsViolation
from properties.afs_world import AfsWorld, make_afs_world
from reference.afs.callbacks import ClientMutants
from reference.afs.client import AfsOpenFile
from reference.afs.server import ServerMutants

CLIENTS = ("c1", "c2", "c3")
INITIAL = {b"a": b"a0", b"b": b"b0"}
CLIENT = st.sampled_from(CLIENTS)
PATH = st.sampled_from(sorted(INITIAL))
WAIT = st.sampled_from((1.0, 4.0, 11.0))
FAULTY_NETWORK = FaultRates(drop=0.1, duplicate=0.05, delay=0.1, reorder=0.05, max_delay=0.05)
CHART_LINES = 60


@dataclass
class AfsMachineConfig:
    rates: FaultRates = FAULTY_NETWORK
    server_mutants: ServerMutants = field(default_factory=ServerMutants)
    client_mutants: ClientMutants = field(default_factory=ClientMutants)
    logs: list[list[str]] = field(default_factory=list)  # the steps of every run, in order


def afs_machine_class(config: AfsMachineConfig) -> type[AfsMachine]:
    """A machine class bound to `config` (run it with run_state_machine_as_test)."""

    class ConfiguredAfsMachine(AfsMachine):
        pass

    ConfiguredAfsMachine.config = config
    return ConfiguredAfsMachine


class AfsMachine(RuleBasedStateMachine):
    config: ClassVar[AfsMachineConfig]

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.config.logs.append(self.log)
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
    def start(self, data: st.DataObject) -> None:
        config = self.config
        self._afs = make_afs_world(
            HypothesisFaults(data),
            config.rates,
            CLIENTS,
            INITIAL,
            config.server_mutants,
            config.client_mutants,
        )
        self._checker = AfsChecker(self._afs)

    @rule(client=CLIENT, path=PATH)
    def read(self, client: str, path: bytes) -> None:
        start = self.checker.begin_read(client, path)
        data = self.afs.run(client, lambda afs: afs.read_file(path))
        self.log.append(f"{client} reads {path.decode()}: {data.decode()}")
        self._judge(lambda: self.checker.check_read(start, data))

    @rule(client=CLIENT, path=PATH)
    def open(self, client: str, path: bytes) -> None:
        before = self.opened.pop(client, None)
        if before is not None:
            self.afs.run(client, lambda afs: before.close())
        start = self.checker.begin_read(client, path)
        opened = self.afs.run(client, lambda afs: afs.open(path))
        self.opened[client] = opened
        self.log.append(f"{client} opens {path.decode()}: {opened.read().decode()}")
        self._judge(lambda: self.checker.check_read(start, opened.read()))

    @precondition(lambda self: bool(self.opened))
    @rule(data=st.data())
    def write_close(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(sorted(self.opened)), label="client")
        opened = self.opened.pop(client)
        contents = self._contents(client)
        opened.write(contents)
        self.afs.run(client, lambda afs: opened.close())
        self.log.append(f"{client} writes {contents.decode()} to its open {opened.path.decode()}")
        self.checker.store_completed(opened.path, contents)

    @rule(client=CLIENT, path=PATH)
    def write(self, client: str, path: bytes) -> None:
        contents = self._contents(client)
        self.afs.run(client, lambda afs: afs.write_file(path, contents))
        self.log.append(f"{client} writes {contents.decode()} to {path.decode()}")
        self.checker.store_completed(path, contents)

    @rule()
    def restart_server(self) -> None:
        self.afs.restart_server()
        self.log.append("the server restarts")

    @rule(seconds=WAIT)
    def wait(self, seconds: float) -> None:
        self.afs.wait(seconds)
        self.log.append(f"{seconds:g} s pass")

    @invariant()
    def last_writer_wins(self) -> None:
        if self._checker is not None:
            self._judge(self.checker.check_last_writer)

    def _contents(self, client: str) -> bytes:
        self.writes += 1
        return f"{client}#{self.writes}".encode()

    def _judge(self, check: Callable[[], None]) -> None:
        try:
            check()
        except AfsViolation as violation:
            self._fail(violation)

    def _fail(self, violation: AfsViolation) -> NoReturn:
        steps = "\n".join(f"  {number}. {step}" for number, step in enumerate(self.log, 1))
        chart = self.afs.world.trace.sequence_chart(last=CHART_LINES)
        raise type(violation)(f"{violation}\nsteps:\n{steps}\ntrace:\n{chart}") from None
