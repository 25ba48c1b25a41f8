"""The port mapper state machine: SET, UNSET, GETPORT and DUMP of a few programs, every
reply judged against the model (properties/portmap/model.py).

Rules:
- One machine drives one PortmapEndpoint (properties/portmap/world.py), made by the
  machine's endpoint factory from the run's fault source (`data.fault_source()` when the
  config has fault rates, else NoFaults): a simulated port mapper (`sim_endpoints`), or
  the port mapper of a socket world's server (`socket_endpoints`), which gets no network
  faults and none of the config's planted bugs (those are the simulation's).
- Steps draw a program (an index into the endpoint's `programs`, the example's own
  transient numbers), a version (VERSIONS), a protocol (TCP or UDP) and a port from a few,
  so keys and ports collide. UNSET draws a protocol and a port too: RFC 1833 says they are
  ignored, and a server that reads them must be found. Step lines name programs P0, P1.
- Judging: GETPORT must answer the model's port; DUMP, restricted to the example's
  programs, must list the model's mappings each exactly once (order is free). SET and
  UNSET change the model once, however often the call ran (a second run changes nothing
  more); the answer must be the model's when the client took the first execution's reply,
  FALSE (the model's `again()`) when it took a later one's, and either when that is not
  known (Answered). A FALSE allowed only because a later execution answered is noted in
  the run log's `excused`.
- A wrong answer is a FAIL of the operation's rule (properties/portmap/rules.py) with the
  steps so far and, for the failing one, what was allowed and what came back; a world
  whose baseline knows the rule records it KNOWN and the run's later steps do nothing.
- The config is an input (frozen, JSON in replay files); each run's step log goes to a
  PortmapRunLog (`logs[-1]` is the shrunk counterexample's). Steps are recorded
  (properties/harness/steps.py), so a failure leaves a replay file of the family PORTMAP
  (kind "portmap", registered in properties/families.py) that replays in its world.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from faults.sim import FaultRates, FaultSource, NoFaults
from properties.harness import findings
from properties.harness.findings import STEP_COLUMNS, Rule
from properties.harness.replay.family import Family, run_recorded_machine
from properties.harness.replay.file import ReplayFile, RunContext
from properties.harness.replay.run import ReplayOutcome, drive, recorded_faults
from properties.harness.steps import Draws, RecordedMachine, RunLog, StepEnded, recorded
from properties.portmap import rules
from properties.portmap.model import Entry, Key, PortmapModel
from properties.portmap.world import (
    PROGRAMS,
    VERSIONS,
    Answered,
    PortmapEndpoint,
    Reply,
    SimPortmap,
    SocketPortmap,
)
from properties.worlds.registry import WORLDS
from properties.worlds.target import TargetFactory
from reference.rpc.portmap import NO_PORTMAP_BUGS, PortmapBugs
from reference.xdr.gen.portmap import IPPROTO_TCP, IPPROTO_UDP, mapping


class EndpointFactory(Protocol):
    def __call__(self, faults: FaultSource) -> PortmapEndpoint: ...


PROTOCOLS = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp"}
PROGRAM = st.integers(0, PROGRAMS - 1)
VERSION = st.sampled_from(VERSIONS)
PROTOCOL = st.sampled_from(sorted(PROTOCOLS))
PORT = st.sampled_from((700, 701, 702))


@dataclass(frozen=True)
class PortmapConfig:
    """A machine's settings; `drc`, `rates` and `bugs` are the simulated port mapper's."""

    drc: bool = False  # the port mapper's duplicate request cache (rpcbind keeps none)
    rates: FaultRates | None = None  # None: no network faults
    bugs: PortmapBugs = NO_PORTMAP_BUGS

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """The config `to_json()` gave; TypeError or KeyError if `body` does not describe one."""
        if not isinstance(body["drc"], bool):
            raise TypeError("drc must be true or false")
        rates = body["rates"]
        return cls(
            body["drc"],
            None if rates is None else FaultRates(**rates),
            PortmapBugs(**body["bugs"]),
        )


@dataclass
class PortmapRunLog(RunLog):
    excused: list[str] = field(default_factory=list)  # FALSEs a later execution answered


def sim_endpoints(config: PortmapConfig) -> EndpointFactory:
    return lambda faults: SimPortmap(faults, config.rates, config.drc, config.bugs)


def socket_endpoints(make_target: TargetFactory) -> EndpointFactory:
    return lambda faults: SocketPortmap(make_target(NoFaults()))


def world_endpoints(
    world: str, make_target: TargetFactory, config: PortmapConfig
) -> EndpointFactory:
    """The endpoints of `world`: the simulated port mapper, or its server's."""
    return sim_endpoints(config) if WORLDS[world].simulated else socket_endpoints(make_target)


def run_portmap_machine(
    config: PortmapConfig,
    make_endpoint: EndpointFactory,
    configured: settings,
    context: RunContext | None = None,
    directory: Path | None = None,
    log: PortmapRunLog | None = None,
) -> None:
    """Run the machine; with `context`, a failure leaves a replay file (run_recorded_machine)."""
    log = PortmapRunLog() if log is None else log
    machine = portmap_machine_class(config, make_endpoint, log)
    run_recorded_machine(machine, configured, PORTMAP, config, log, context, directory)


def portmap_machine_class(
    config: PortmapConfig, make_endpoint: EndpointFactory, log: PortmapRunLog | None = None
) -> type[PortmapMachine]:
    """A machine class bound to `config` and `make_endpoint`, logging to `log`."""

    class ConfiguredPortmapMachine(PortmapMachine):  # a class statement: Hypothesis
        pass  # derandomizes by the machine class's source, so this keeps its examples

    ConfiguredPortmapMachine.config = config
    ConfiguredPortmapMachine.make_endpoint = staticmethod(make_endpoint)
    ConfiguredPortmapMachine.run_log = PortmapRunLog() if log is None else log
    return ConfiguredPortmapMachine


class PortmapMachine(RecordedMachine):
    config: ClassVar[PortmapConfig]
    make_endpoint: ClassVar[EndpointFactory]
    run_log: ClassVar[PortmapRunLog]

    def __init__(self) -> None:
        super().__init__()
        self.run_log.latest = self.record
        self.log: list[str] = []
        self.run_log.logs.append(self.log)
        self.model = PortmapModel()
        self._endpoint: PortmapEndpoint | None = None

    @property
    def endpoint(self) -> PortmapEndpoint:
        assert self._endpoint is not None, "the start step has not run"
        return self._endpoint

    @initialize(data=st.data())
    @recorded
    def start(self, data: Draws) -> None:
        faults = NoFaults() if self.config.rates is None else data.fault_source()
        self._endpoint = endpoint = self.make_endpoint(faults)
        self.record.world = endpoint.sim
        self.record.wire = endpoint.wire

    @rule(program=PROGRAM, version=VERSION, protocol=PROTOCOL, port=PORT)
    @recorded
    def set_mapping(self, program: int, version: int, protocol: int, port: int) -> None:
        call = f"SET {_key_text((program, version, protocol))} port {port}"
        reply = self.endpoint.call(
            lambda stub: stub.PMAPPROC_SET(self._mapping(program, version, protocol, port))
        )
        first = self.model.set((program, version, protocol), port)
        self._judge_changing(rules.SET, call, first, reply)

    @rule(program=PROGRAM, version=VERSION, protocol=PROTOCOL, port=PORT)
    @recorded
    def unset_mapping(self, program: int, version: int, protocol: int, port: int) -> None:
        call = f"UNSET {_key_text((program, version, protocol))} port {port}"
        reply = self.endpoint.call(
            lambda stub: stub.PMAPPROC_UNSET(self._mapping(program, version, protocol, port))
        )
        first = self.model.unset(program, version)
        self._judge_changing(rules.UNSET, call, first, reply)

    @rule(program=PROGRAM, version=VERSION, protocol=PROTOCOL)
    @recorded
    def getport(self, program: int, version: int, protocol: int) -> None:
        key = (program, version, protocol)
        call = f"GETPORT {_key_text(key)}"
        reply = self.endpoint.call(
            lambda stub: stub.PMAPPROC_GETPORT(self._mapping(program, version, protocol, 0))
        )
        self._judge(rules.GETPORT, call, [self.model.getport(key)], reply.value)

    @rule()
    @recorded
    def dump(self) -> None:
        programs = self.endpoint.programs
        reply = self.endpoint.call(lambda stub: stub.PMAPPROC_DUMP())
        listed = sorted(
            (programs.index(entry.map.prog), entry.map.vers, entry.map.prot, entry.map.port)
            for entry in reply.value
            if entry.map.prog in programs
        )
        twice = [entry for entry, count in Counter(listed).items() if count > 1]
        call = "DUMP" + (f" (listed twice: {_entries_text(twice)})" if twice else "")
        self._judge(rules.DUMP, call, [self.model.dump()], listed)

    def teardown(self) -> None:
        if self._endpoint is not None:
            self._endpoint.close()

    def _mapping(self, program: int, version: int, protocol: int, port: int) -> mapping:
        return mapping(self.endpoint.programs[program], version, protocol, port)

    def _judge_changing(self, rule: Rule, call: str, first: bool, reply: Reply[bool]) -> None:
        """SET or UNSET: the model changed once; the answer depends on which execution's
        reply the client took (see the module rules)."""
        allowed = {
            Answered.FIRST: [first],
            Answered.LATER: [PortmapModel.again()],
            Answered.EITHER: sorted({first, PortmapModel.again()}, reverse=True),
        }[reply.answered]
        if reply.answered is not Answered.FIRST:
            call += f" (answered by {reply.answered.value})"
        if reply.answered is Answered.LATER and reply.value != first:
            self.run_log.excused.append(call)
        self._judge(rule, call, allowed, reply.value)

    def _judge(self, rule: Rule, call: str, allowed: list[Any], got: Any) -> None:
        if got in allowed:
            self.log.append(f"{call}: {_value_text(got)}")
            return
        shown = " or ".join(_value_text(value) for value in allowed)
        step = STEP_COLUMNS.join([call, shown, _value_text(got)])
        message = f"{call} answered {_value_text(got)}; the model allows {shown}"
        findings.current().fail(rule, message, [*self.log, step])
        raise StepEnded(rest_of_run=True)  # KNOWN: the model no longer follows the server


def _key_text(key: Key) -> str:
    program, version, protocol = key
    return f"P{program} v{version} {PROTOCOLS.get(protocol, str(protocol))}"


def _entries_text(entries: list[Entry]) -> str:
    return "[" + ", ".join(f"{_key_text(entry[:3])} port {entry[3]}" for entry in entries) + "]"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, list):
        return _entries_text(value)
    return str(value)


def replay_portmap(replay: ReplayFile, config: PortmapConfig) -> ReplayOutcome:
    """A fresh machine driven through the recorded steps: in the simulation with the
    recorded fault decisions, on real sockets against a fresh server of the recorded world."""
    if WORLDS[replay.world].simulated:
        machine = portmap_machine_class(config, sim_endpoints(config))()
        return drive(replay, machine, recorded_faults(replay))
    from properties.worlds.replay import recorded_flags, world_targets

    with world_targets(recorded_flags(replay), True) as make_target:
        machine = portmap_machine_class(config, socket_endpoints(make_target))()
        return drive(replay, machine, NoFaults())


PORTMAP = Family("portmap", PortmapConfig, replay_portmap, any_world=True, recorded_steps=True)
