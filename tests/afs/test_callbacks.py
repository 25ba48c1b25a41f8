"""When the client trusts a copy: unbroken, unexpired, of the known epoch; and the mutants."""

from __future__ import annotations

from reference.afs.callbacks import CallbackState, ClientMutants


def promised(state: CallbackState, path: bytes = b"f", now: float = 0.0, epoch: int = 1) -> bool:
    state.observe_epoch(epoch)
    return state.promise(state.ticket(path, now), epoch, 10)


def test_a_promise_is_trusted_until_it_expires_counted_from_the_call() -> None:
    state = CallbackState()
    assert promised(state, now=2.0)
    assert state.trusted(b"f", 11.999)
    assert not state.trusted(b"f", 12.0)
    assert not state.trusted(b"other", 3.0)


def test_a_break_drops_the_promise() -> None:
    state = CallbackState()
    promised(state)
    state.break_callback(b"f")
    assert not state.trusted(b"f", 1.0)
    assert state.breaks == 1


def test_a_break_that_overtook_the_reply_keeps_its_promise_from_being_trusted() -> None:
    state = CallbackState()
    state.observe_epoch(1)
    ticket = state.ticket(b"f", 0.0)
    state.break_callback(b"f")  # arrives while the fetch is in flight
    assert not state.promise(ticket, 1, 10)
    assert not state.trusted(b"f", 1.0)


def test_a_break_of_another_path_does_not_matter() -> None:
    state = CallbackState()
    state.observe_epoch(1)
    ticket = state.ticket(b"f", 0.0)
    state.break_callback(b"g")
    assert state.promise(ticket, 1, 10)


def test_a_new_epoch_distrusts_every_copy_at_once() -> None:
    state = CallbackState()
    promised(state, b"f")
    promised(state, b"g")
    state.observe_epoch(2)
    assert not state.trusted(b"f", 1.0)
    assert not state.trusted(b"g", 1.0)
    assert promised(state, b"f", epoch=2)
    assert state.trusted(b"f", 1.0)


def test_a_late_reply_of_an_older_epoch_earns_no_trust() -> None:
    state = CallbackState()
    state.observe_epoch(2)
    assert not state.promise(state.ticket(b"f", 0.0), 1, 10)
    assert state.epoch == 2
    state.observe_epoch(1)
    assert state.epoch == 2  # the known epoch never goes back


def test_no_promise_is_recorded_for_zero_seconds() -> None:
    state = CallbackState()
    state.observe_epoch(1)
    assert not state.promise(state.ticket(b"f", 0.0), 1, 0)


def test_the_ignore_epoch_mutant_trusts_copies_from_before_a_restart() -> None:
    state = CallbackState(ClientMutants(ignore_epoch=True))
    promised(state)
    state.observe_epoch(2)
    assert state.trusted(b"f", 1.0)


def test_the_trust_expired_mutant_trusts_forever() -> None:
    state = CallbackState(ClientMutants(trust_expired=True))
    promised(state)
    assert state.trusted(b"f", 1e9)
    state.break_callback(b"f")
    assert not state.trusted(b"f", 1.0)  # it still honours breaks
