"""A property family as replay files know it: its kind, its config as JSON, how it replays,
and the one way every family saves a failure.

Rules:
- A Family[C] names the `kind` its replay files carry, the class C of its config (a frozen
  dataclass with `to_json()` and `from_json()`; the JSON sits in the file's settings
  under the kind's name), the function that replays a file of its kind with that config,
  whether its runs may happen outside the simulation world (`any_world`), and whether its
  operations are recorded state-machine steps (properties/harness/steps.py).
- `from_json` raises TypeError, ValueError or KeyError for JSON that does not describe a
  config; the replay turns that into a ReplayFileError.
- Saving a failure is the same for every family: `saving_failures(context, config,
  evidence)` is a block that, when it raises, writes the replay file `failure_file()`
  builds from the run's context, the config and the Evidence the run left (operations,
  fault decisions, trace, step log), and adds the replay command to the error.
- A recorded state machine (properties/harness/steps.py) runs through
  `run_recorded_machine`; its Evidence is its RunLog's latest run (`steps_evidence`).
- The families themselves are registered in properties/families.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from faults.sim.faults import Choice
from properties.harness.replay.file import ReplayFile, RunContext, failure_text, replay_on_failure
from properties.harness.steps import RunLog, RunRecord
from reference.rpc.aio_client import WireMessage

if TYPE_CHECKING:
    from properties.harness.replay.run import ReplayOutcome


class JsonConfig(Protocol):
    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self: ...


C = TypeVar("C", bound=JsonConfig)


@dataclass(frozen=True)
class Evidence:
    """What a failed run leaves for its replay file."""

    operations: list[Any]  # the kind's operations, as JSON
    faults: list[Choice]  # every fault decision, as recorded
    trace: str | None = None  # the simulation's trace (faults.sim.trace JSON)
    log: list[str] = field(default_factory=list)  # the steps, as the failure shows them
    wire: list[WireMessage] | None = None  # on real sockets: the run's RPC messages (pcap)


@dataclass(frozen=True)
class Family(Generic[C]):
    kind: str
    config: type[C]
    replay: Callable[[ReplayFile, C], ReplayOutcome]
    any_world: bool = False  # False: its runs happen in the simulation only
    recorded_steps: bool = False  # its operations are recorded state-machine steps

    def failure_file(
        self, context: RunContext, config: C, evidence: Evidence, error: BaseException
    ) -> ReplayFile:
        return ReplayFile(
            property=context.property,
            kind=self.kind,
            world=context.world,
            failure=failure_text(error),
            settings=context.settings(**{self.kind: config.to_json()}),
            operations=evidence.operations,
            faults=evidence.faults,
            target=context.target,
            trace=evidence.trace,
            log=evidence.log,
            wire=evidence.wire,
        )

    @contextmanager
    def saving_failures(
        self,
        context: RunContext,
        config: C,
        evidence: Callable[[], Evidence],
        directory: Path | None = None,
    ) -> Iterator[None]:
        """Save the replay file of the run when the block raises (see the module rules)."""

        def describe(error: BaseException) -> ReplayFile:
            return self.failure_file(context, config, evidence(), error)

        with replay_on_failure(describe, directory):
            yield


def steps_evidence(log: RunLog) -> Evidence:
    """The Evidence of a recorded machine's latest run."""
    record = log.latest or RunRecord()
    return Evidence(
        operations=[step.to_json() for step in record.steps],
        faults=record.fault_decisions,
        trace=None if record.world is None else record.world.trace.to_json(),
        log=list(log.logs[-1]) if log.logs else [],
        wire=None if record.wire is None else list(record.wire),
    )


def run_recorded_machine(
    machine: type[RuleBasedStateMachine],
    configured: settings,
    family: Family[C],
    config: C,
    log: RunLog,
    context: RunContext | None = None,
    directory: Path | None = None,
) -> None:
    """Run `machine` (built from `config`, logging to `log`) under `configured`; with
    `context`, a failure leaves a replay file (in `directory`, default failures_dir()) of
    the last run: the shrunk one."""
    if context is None:
        run_state_machine_as_test(machine, settings=configured)
        return
    with family.saving_failures(context, config, lambda: steps_evidence(log), directory):
        run_state_machine_as_test(machine, settings=configured)
