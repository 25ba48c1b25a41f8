"""A run that Hypothesis cannot repeat: a WARN on real sockets, a failure in the sim."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from properties.harness import findings
from properties.harness.findings import Recorder, Verdict
from properties.nfs3.test_server import repeatable


def run_against_a_server_that_answers_differently_each_time() -> None:
    """Steps whose draws depend on answers that change from one run to the next."""
    answers = itertools.count()

    @settings(database=None, max_examples=50, derandomize=True)
    @given(st.data())
    def steps(data: st.DataObject) -> None:
        if next(answers) % 2:
            data.draw(st.integers(0, 10))
        else:
            data.draw(st.booleans())

    steps()


def test_a_server_that_answers_the_same_steps_differently_is_a_warning_on_real_sockets() -> None:
    with findings.recording(Recorder(world="loopback")) as recorder, repeatable("loopback"):
        run_against_a_server_that_answers_differently_each_time()
    [finding] = recorder.findings.values()
    assert (finding.code, finding.verdict) == ("NOT-REPEATABLE", Verdict.WARN)
    assert finding.message.startswith("loopback: the server answered one example's steps")


def test_a_run_the_simulation_cannot_repeat_fails() -> None:
    sim = findings.recording(Recorder(world="sim"))
    with sim, pytest.raises(FlakyFailure), repeatable("sim"):
        run_against_a_server_that_answers_differently_each_time()


def test_a_failure_seen_once_still_fails_on_real_sockets() -> None:
    runs = itertools.count()

    @settings(database=None, max_examples=5, derandomize=True)
    @given(st.booleans())
    def fails_the_first_time(_: bool) -> None:
        assert next(runs) > 0, "the server broke a rule once"

    loopback = findings.recording(Recorder(world="loopback"))
    with loopback, pytest.raises(FlakyFailure), repeatable("loopback"):
        fails_the_first_time()
