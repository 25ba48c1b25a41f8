"""AFS callbacks: no unexcused stale read, last closer wins, restarts revalidate.

In the simulation world with virtual time, three clients, one server, dropped,
duplicated, delayed and reordered messages, server restarts, lost callback breaks and
passing time: no client holding a promise that nothing excused serves a version older
than the last completed store; the last closer wins; a stale copy behind a lost break (or
a restart) is served only until its promise expires; and once a client has seen a reply
from a restarted server it trusts no cached file before revalidating it. Each property
finds its planted bug (a server that forgets to break callbacks, a server that keeps the
first writer's contents, a client that trusts expired promises, a client that ignores the
epoch) and shrinks it to the shortest counterexample.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

from properties.afs.checks import (
    AfsViolation,
    CallbackSafetyViolation,
    EpochViolation,
    ExpiryViolation,
    LastWriterViolation,
)
from properties.afs.machine import AfsMachineConfig, AfsRunLog, run_afs_machine
from properties.harness import findings
from properties.harness.findings import check
from properties.harness.profiles import SLOW_OK
from properties.harness.replay.file import run_context
from reference.afs.callbacks import ClientMutants
from reference.afs.server import ServerMutants

STEPS = settings(stateful_step_count=25)
# Fixed runs: derandomized, no example database, no explain phase (it traces every line).
FIXED = settings(database=None, derandomize=True, suppress_health_check=SLOW_OK, deadline=None)
HUNT = settings(
    FIXED, stateful_step_count=20, max_examples=1000, phases=(Phase.generate, Phase.shrink)
)
COVER = settings(FIXED, stateful_step_count=40, max_examples=300, phases=(Phase.generate,))


@check(
    "AFS-CALLBACKS", "callbacks hold through faults, restarts, lost breaks and time", "RFC 5531 §8"
)
def test_callbacks_hold_through_faults_restarts_lost_breaks_and_time(
    request: pytest.FixtureRequest,
) -> None:
    log = AfsRunLog()
    run_afs_machine(AfsMachineConfig(), STEPS, run_context(request), log=log)
    assert any(log.logs), "the machine ran no steps"


@check(
    "AFS-STALE-READS",
    "stale reads behind lost breaks and restarts happen and are allowed",
    "RFC 5531 §8",
)
def test_stale_reads_behind_lost_breaks_and_restarts_happen_and_are_allowed(
    request: pytest.FixtureRequest,
) -> None:
    """The allowances are not vacuous: such stale reads occur, and pass every check."""
    log = AfsRunLog()
    run_afs_machine(AfsMachineConfig(), COVER, run_context(request), log=log)
    assert any(reason.endswith("its break was lost") for reason in log.excused)
    assert any("the server restarted" in reason for reason in log.excused)


def hunt(config: AfsMachineConfig, violation: type[AfsViolation]) -> list[str]:
    """Run the machine until it fails with `violation`; the shrunk counterexample's steps."""
    log = AfsRunLog()
    with pytest.raises(violation):
        run_afs_machine(config, HUNT, log=log)
    findings.current().found_shrunk("", log.logs[-1])
    return log.logs[-1]  # Hypothesis replays the minimal failing example last


@check(
    "AFS-MUTANT-NO-BREAK",
    "a server that forgets to break callbacks is found",
    "RFC 5531 §8",
    planted="ServerMutants(forget_breaks=True)",
)
def test_a_server_that_forgets_to_break_callbacks_is_found() -> None:
    config = AfsMachineConfig(server_mutants=ServerMutants(forget_breaks=True))
    shrunk = hunt(config, CallbackSafetyViolation)
    # X opens a; Y writes a (no break); X opens a again and trusts its old copy.
    assert len(shrunk) == 3, shrunk
    assert [step.split()[1] for step in shrunk] == ["opens", "writes", "opens"], shrunk


@check(
    "AFS-MUTANT-FIRST-WRITER",
    "a server that keeps the first writer is found",
    "RFC 5531 §8",
    planted="ServerMutants(first_writer_wins=True)",
)
def test_a_server_that_keeps_the_first_writer_is_found() -> None:
    config = AfsMachineConfig(server_mutants=ServerMutants(first_writer_wins=True))
    shrunk = hunt(config, LastWriterViolation)
    # X opens a; Y writes a; X writes its open a and closes last, but Y's contents stay.
    assert len(shrunk) == 3, shrunk
    assert "to its open" in shrunk[-1], shrunk


@check(
    "AFS-MUTANT-EXPIRED",
    "a client that trusts expired promises is found",
    "RFC 5531 §8",
    planted="ClientMutants(trust_expired=True)",
)
def test_a_client_that_trusts_expired_promises_is_found() -> None:
    config = AfsMachineConfig(client_mutants=ClientMutants(trust_expired=True))
    shrunk = hunt(config, ExpiryViolation)
    # X opens a; 11 s pass (the promise expires, so the server breaks nothing); Y writes
    # a; X opens a and trusts the expired promise.
    assert len(shrunk) == 4, shrunk
    assert "11 s pass" in shrunk, shrunk


@check(
    "AFS-MUTANT-EPOCH",
    "a client that ignores the epoch is found",
    "RFC 5531 §8",
    planted="ClientMutants(ignore_epoch=True)",
)
def test_a_client_that_ignores_the_epoch_is_found() -> None:
    config = AfsMachineConfig(client_mutants=ClientMutants(ignore_epoch=True))
    shrunk = hunt(config, EpochViolation)
    # X opens a; the server restarts; X opens b (a reply of the new epoch); X opens a
    # and trusts the copy from the old epoch.
    assert len(shrunk) == 4, shrunk
    assert shrunk[1] == "the server restarts", shrunk
