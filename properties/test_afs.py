"""AFS callbacks, in the simulation world with virtual time, three clients, one server,
dropped, duplicated, delayed and reordered messages, server restarts and passing time:
no client holding a promise that nothing excused serves a version older than the last
completed store; the last closer wins; a stale copy behind a lost break (or a restart)
is served only until its promise expires; and after a client has noticed a server
restart it trusts no cached file before revalidating it. Each property finds its planted
bug (a server that forgets to break callbacks, a server that keeps the first writer's
contents, a client that trusts expired promises, a client that ignores the epoch) and
shrinks it to a few steps.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from properties.afs_checks import (
    AfsViolation,
    CallbackSafetyViolation,
    EpochViolation,
    ExpiryViolation,
    LastWriterViolation,
)
from properties.afs_machine import AfsMachineConfig, afs_machine_class
from reference.afs.callbacks import ClientMutants
from reference.afs.server import ServerMutants

STEPS = settings(stateful_step_count=25)
HUNT = settings(STEPS, database=None, derandomize=True, max_examples=300)


def test_callbacks_hold_through_faults_restarts_and_time() -> None:
    config = AfsMachineConfig()
    run_state_machine_as_test(afs_machine_class(config), settings=STEPS)
    assert config.logs and any(config.logs)


def hunt(config: AfsMachineConfig, violation: type[AfsViolation]) -> list[str]:
    """Run the machine until it fails with `violation`; the shrunk counterexample's steps."""
    with pytest.raises(violation):
        run_state_machine_as_test(afs_machine_class(config), settings=HUNT)
    return config.logs[-1]  # Hypothesis replays the minimal failing example last


def test_a_server_that_forgets_to_break_callbacks_is_found() -> None:
    # read a, another client writes a, read a again from the unbroken copy
    shrunk = hunt(
        AfsMachineConfig(server_mutants=ServerMutants(forget_breaks=True)), CallbackSafetyViolation
    )
    assert len(shrunk) <= 3, shrunk


def test_a_server_that_keeps_the_first_writer_is_found() -> None:
    # open a, another client writes a, the first writes its open a and closes
    shrunk = hunt(
        AfsMachineConfig(server_mutants=ServerMutants(first_writer_wins=True)), LastWriterViolation
    )
    assert len(shrunk) <= 3, shrunk


def test_a_client_that_trusts_expired_promises_is_found() -> None:
    # read a, restart (or a lost break), another client writes a, 11 s pass, read a
    shrunk = hunt(
        AfsMachineConfig(client_mutants=ClientMutants(trust_expired=True)), ExpiryViolation
    )
    assert len(shrunk) <= 5, shrunk


def test_a_client_that_ignores_the_epoch_is_found() -> None:
    # read a, restart, read b (the new epoch), read a from the unrevalidated copy
    shrunk = hunt(AfsMachineConfig(client_mutants=ClientMutants(ignore_epoch=True)), EpochViolation)
    assert len(shrunk) <= 4, shrunk
