"""Caching NFS clients: close-to-open, bounded staleness, convergence, durability.

Caching NFS clients keep their promises while drops, duplicates, delays, reorders and
server crashes go on: a file opened after another client's close() returned holds that
close's data (close-to-open); every value a client returns was the server's within
acregmax (acdirmax for listings) of the call (bounded staleness; with noac, during the
call); once faults stop and the caches expire, every client agrees with the server
(convergence); and what close() acknowledged survives a later crash (durability). Each
property catches the planted client bug of its kind (and `nocto` loses close-to-open),
with Hypothesis shrinking the counterexample to a handful of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from faults.sim import HypothesisFaults, Kind, RecordingFaults, SeededFaults
from properties.harness import findings
from properties.harness.findings import check
from properties.harness.replay.file import run_context
from properties.nfs_client.scenario import (
    ClientPropertyViolation,
    ClientRun,
    ClientSetup,
    CloseToOpenViolation,
    ConvergenceViolation,
    Crash,
    DurabilityViolation,
    ReadFile,
    Remove,
    Sleep,
    StalenessViolation,
    Step,
    WriteAt,
    WriteFile,
    check_and_record,
    check_bounded_staleness,
    check_close_to_open,
    check_convergence,
    check_durability,
    programs,
    run_program,
)
from properties.nfs_client.world import SIM_MOUNT
from reference.client import ClientBugs

FAULT_KINDS = {Kind.DROP, Kind.DUPLICATE, Kind.DELAY, Kind.REORDER}
Check = Callable[[ClientRun], None]


def check_programs(
    request: pytest.FixtureRequest, setup: ClientSetup, strategy: st.SearchStrategy[list[Step]]
) -> None:
    """Run and check programs drawn from `strategy` under `setup`; a failure leaves a replay
    file (properties/harness/replay/file.py) of the shrunk example."""
    context = run_context(request)

    @given(st.data(), strategy)
    def check(data: st.DataObject, program: list[Step]) -> None:
        recorder = RecordingFaults(HypothesisFaults(data))
        check_and_record(setup, setup.run(program, recorder), recorder, context)

    check()


@check("CLIENT-CTO", "close-to-open: an open sees every close before it", "RFC 1813 §4.11")
def test_close_to_open(request: pytest.FixtureRequest) -> None:
    setup = ClientSetup(("close-to-open",), clients=3, finish=False)
    check_programs(request, setup, programs(clients=3, crashes=True))


@check("CLIENT-STALENESS", "cached attributes are never older than actimeo", "RFC 1813 §4.11")
def test_bounded_staleness(request: pytest.FixtureRequest) -> None:
    setup = ClientSetup(("bounded-staleness",), clients=3, finish=False)
    check_programs(request, setup, programs(clients=3, crashes=True))


@check("CLIENT-NOAC", "with noac every value was the server's during the call", "RFC 1813 §4.11")
def test_with_noac_every_value_was_the_servers_during_the_call(
    request: pytest.FixtureRequest,
) -> None:
    setup = ClientSetup(("bounded-staleness", "close-to-open"), finish=False, noac=True)
    assert replace(SIM_MOUNT, noac=True).staleness_bound == 0
    check_programs(request, setup, programs(clients=2, crashes=True))


@check("CLIENT-CONVERGENCE", "the clients' caches converge", "RFC 1813 §4.11")
def test_convergence(request: pytest.FixtureRequest) -> None:
    setup = ClientSetup(("convergence",), clients=3)
    check_programs(request, setup, programs(clients=3, crashes=True))


@check("CLIENT-DURABILITY", "what a client closed survives a server crash", "RFC 1813 §4.8")
def test_durability_seen_from_the_client(request: pytest.FixtureRequest) -> None:
    setup = ClientSetup(("durability",), clients=3)
    check_programs(request, setup, programs(clients=3, crashes=True))


# -- each property catches its planted bug --------------------------------------------------


def find_counterexample(
    check: Check,
    violation: type[ClientPropertyViolation],
    bugs: ClientBugs | None = None,
    crashes: bool = False,
    cto: bool = True,
) -> ClientRun:
    """Search (faults on) until `check` fails; the shrunk run Hypothesis replays last."""
    runs: list[ClientRun] = []
    finish = check in (check_convergence, check_durability)

    @settings(
        database=None,
        derandomize=True,
        max_examples=1000,
        phases=[Phase.generate, Phase.shrink],  # the explain phase would trace every run
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data(), programs(clients=2, files=1, crashes=crashes))
    def search(data: st.DataObject, program: list[Step]) -> None:
        run = run_program(program, HypothesisFaults(data), bugs, finish=finish, cto=cto)
        runs.append(run)
        check(run)

    with pytest.raises(violation):
        search()
    shrunk = runs[-1]
    faults = [f"message fault: {kind}" for kind in message_faults(shrunk)]
    findings.current().found_shrunk("", [str(step) for step in shrunk.program] + faults)
    return shrunk


def kinds(run: ClientRun) -> list[type]:
    return [type(step) for step in run.program]


def message_faults(run: ClientRun) -> list[str]:
    return [event.kind for event in run.world.world.trace.events if event.kind in FAULT_KINDS]


@check(
    "CLIENT-MUTANT-CTO",
    "a client that never revalidates breaks close-to-open",
    "RFC 1813 §4.11",
    planted="ClientBugs(never_revalidate=True)",
)
def test_a_client_that_never_revalidates_breaks_close_to_open() -> None:
    shrunk = find_counterexample(
        check_close_to_open, CloseToOpenViolation, ClientBugs(never_revalidate=True)
    )
    # One client caches its own write, the other changes the file, the first reopens it
    # and reads its old copy.
    assert len(shrunk.program) == 3, shrunk.program
    assert kinds(shrunk)[0] is WriteFile and kinds(shrunk)[-1] is ReadFile
    assert message_faults(shrunk) == []


@check(
    "CLIENT-MUTANT-STALENESS",
    "a client that never revalidates breaks bounded staleness",
    "RFC 1813 §4.11",
    planted="ClientBugs(never_revalidate=True)",
)
def test_a_client_that_never_revalidates_breaks_bounded_staleness() -> None:
    shrunk = find_counterexample(
        check_bounded_staleness, StalenessViolation, ClientBugs(never_revalidate=True)
    )
    # A change, more than acregmax of waiting, and a read of the old cached copy.
    assert len(shrunk.program) <= 4, shrunk.program
    assert any(isinstance(step, Sleep) and step.seconds > 60 for step in shrunk.program)


@check(
    "CLIENT-MUTANT-CONVERGE",
    "a client that never revalidates does not converge",
    "RFC 1813 §4.11",
    planted="ClientBugs(never_revalidate=True)",
)
def test_a_client_that_never_revalidates_does_not_converge() -> None:
    shrunk = find_counterexample(
        check_convergence, ConvergenceViolation, ClientBugs(never_revalidate=True)
    )
    assert len(shrunk.program) == 2, shrunk.program
    assert message_faults(shrunk) == []


@check(
    "CLIENT-MUTANT-VERIFIER",
    "a client that ignores the write verifier loses closed data",
    "RFC 1813 §3.3.7",
    planted="ClientBugs(ignore_verifier=True)",
)
def test_a_client_that_ignores_the_write_verifier_loses_closed_data() -> None:
    shrunk = find_counterexample(
        check_durability, DurabilityViolation, ClientBugs(ignore_verifier=True), crashes=True
    )
    # The server crashes between the WRITE and the COMMIT of one close(): the COMMIT
    # answers a new verifier, the buggy client does not resend, the data is gone.
    assert len(shrunk.program) <= 3, shrunk.program
    assert Crash in kinds(shrunk)
    assert shrunk.world.crashes == 2  # the planted one and the final one


@check(
    "CLIENT-MUTANT-WCC",
    "a client that trusts every wcc reply does not converge",
    "RFC 1813 §2.5",
    planted="ClientBugs(trust_wcc=True)",
)
def test_a_client_that_trusts_every_wcc_reply_does_not_converge() -> None:
    shrunk = find_counterexample(
        check_convergence, ConvergenceViolation, ClientBugs(trust_wcc=True)
    )
    # c0 caches its write, c1 replaces the file, c0 patches its stale pages.
    assert kinds(shrunk) == [WriteFile, WriteFile, WriteAt], shrunk.program


@check(
    "CLIENT-MUTANT-FLUSH",
    "a client that does not flush on close breaks close-to-open",
    "RFC 1813 §4.11",
    planted="ClientBugs(skip_flush_on_close=True)",
)
def test_a_client_that_does_not_flush_on_close_breaks_close_to_open() -> None:
    shrunk = find_counterexample(
        check_close_to_open, CloseToOpenViolation, ClientBugs(skip_flush_on_close=True)
    )
    assert kinds(shrunk) == [WriteFile, ReadFile], shrunk.program


@check("CLIENT-NOCTO", "nocto gives up close-to-open", "RFC 1813 §4.11")
def test_nocto_gives_up_close_to_open() -> None:
    shrunk = find_counterexample(check_close_to_open, CloseToOpenViolation, cto=False)
    assert len(shrunk.program) <= 3, shrunk.program
    assert not any(isinstance(step, Remove) for step in shrunk.program)


@check(
    "CLIENT-SIM-DETERMINISM", "the same seed gives the same trace byte for byte", "RFC 1813 §4.11"
)
def test_the_same_seed_gives_the_same_trace_byte_for_byte() -> None:
    program: list[Step] = [
        WriteFile(0, "a", 4100),
        Crash(2),
        WriteAt(1, "a", 2, 9),
        ReadFile(0, "a"),
        Sleep(3.5),
        Remove(1, "a"),
    ]
    first = run_program(program, SeededFaults(2049)).world.world.trace.to_json()
    again = run_program(program, SeededFaults(2049)).world.world.trace.to_json()
    other = run_program(program, SeededFaults(2050)).world.world.trace.to_json()
    assert first == again
    assert first != other
