"""The server's callback promises: grants, expiry, breaks, and grants that cross a break."""

from __future__ import annotations

import pytest

from reference.afs.promises import CallbackPromises

A = ("a", 7001)
B = ("b", 7001)
C = ("c", 7001)


def test_a_promise_is_live_until_it_expires() -> None:
    promises = CallbackPromises(10.0)
    promise = promises.grant(A, b"f", now=1.0)
    assert promise.expires_at == 11.0
    assert promises.live(b"f", now=10.999) == [promise]
    assert promises.live(b"f", now=11.0) == []


def test_a_new_grant_replaces_the_clients_old_promise() -> None:
    promises = CallbackPromises(10.0)
    first = promises.grant(A, b"f", now=0.0)
    second = promises.grant(A, b"f", now=5.0)
    assert second.serial > first.serial
    assert promises.live(b"f", now=12.0) == [second]


def test_a_writer_breaks_only_the_other_clients_promises_and_each_once() -> None:
    promises = CallbackPromises(10.0)
    promises.grant(A, b"f", now=0.0)
    b = promises.grant(B, b"f", now=0.0)
    c = promises.grant(C, b"f", now=0.0)
    promises.grant(B, b"g", now=0.0)
    assert promises.start_breaks(b"f", A, now=1.0) == [b, c]
    assert promises.start_breaks(b"f", A, now=1.0) == []  # already being broken
    assert promises.others(b"f", A, now=1.0) == [b, c]  # live until their breaks end


def test_a_finished_break_removes_its_promise() -> None:
    promises = CallbackPromises(10.0)
    b = promises.grant(B, b"f", now=0.0)
    promises.start_breaks(b"f", A, now=1.0)
    assert promises.finish_break(b)
    assert promises.others(b"f", A, now=1.0) == []


def test_a_grant_that_crossed_the_break_survives_it_and_is_broken_again() -> None:
    promises = CallbackPromises(10.0)
    old = promises.grant(B, b"f", now=0.0)
    assert promises.start_breaks(b"f", A, now=1.0) == [old]
    new = promises.grant(B, b"f", now=1.5)  # B fetched again while its break was in flight
    assert not promises.finish_break(old)
    assert promises.others(b"f", A, now=2.0) == [new]
    assert promises.start_breaks(b"f", A, now=2.0) == [new]


def test_an_expired_promise_needs_no_break() -> None:
    promises = CallbackPromises(10.0)
    promises.grant(B, b"f", now=0.0)
    assert promises.start_breaks(b"f", A, now=10.0) == []


def test_the_duration_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CallbackPromises(0.0)
