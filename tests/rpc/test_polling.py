"""The polling selector: what it returns is what epoll returns; it starts polling after
STREAK waits in a row that ended within the window, and stops after a window that found
nothing."""

from __future__ import annotations

import asyncio
import selectors
import socket
from collections.abc import Iterator

import pytest

from reference.rpc.polling import MAX_POLL_US, STREAK, Polling, PollingSelector

WINDOW = 0.01  # long enough that a socket already readable is found well within it


@pytest.fixture
def watched() -> Iterator[tuple[PollingSelector, socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    selector = PollingSelector(WINDOW)
    selector.register(ours, selectors.EVENT_READ)
    with ours, theirs, selector:
        yield selector, ours, theirs


def quick_waits(
    selector: PollingSelector, theirs: socket.socket, ours: socket.socket, n: int
) -> None:
    """`n` waits that each find a call already there."""
    for _ in range(n):
        theirs.send(b"call")
        ready = selector.select(None)
        assert [(key.fileobj, events) for key, events in ready] == [(ours, selectors.EVENT_READ)]
        ours.recv(16)


def test_a_streak_of_quick_waits_starts_polling(
    watched: tuple[PollingSelector, socket.socket, socket.socket],
) -> None:
    selector, ours, theirs = watched
    assert not selector.polling
    quick_waits(selector, theirs, ours, STREAK - 1)
    assert not selector.polling
    quick_waits(selector, theirs, ours, 1)
    assert selector.polling


def test_a_slow_wait_breaks_the_streak(
    watched: tuple[PollingSelector, socket.socket, socket.socket],
) -> None:
    selector, ours, theirs = watched
    quick_waits(selector, theirs, ours, STREAK - 1)
    assert selector.select(2 * WINDOW) == []
    quick_waits(selector, theirs, ours, STREAK - 1)
    assert not selector.polling


def test_a_window_that_finds_nothing_stops_polling(
    watched: tuple[PollingSelector, socket.socket, socket.socket],
) -> None:
    selector, ours, theirs = watched
    quick_waits(selector, theirs, ours, STREAK)
    assert selector.polling
    assert selector.select(2 * WINDOW) == []
    assert not selector.polling


def test_a_poll_returns_what_is_ready(
    watched: tuple[PollingSelector, socket.socket, socket.socket],
) -> None:
    selector, ours, theirs = watched
    quick_waits(selector, theirs, ours, STREAK)
    theirs.send(b"call")
    assert [key.fileobj for key, _ in selector.select(1.0)] == [ours]
    assert selector.polling
    assert [key.fileobj for key, _ in selector.select(0)] == [ours]


def test_a_zero_window_never_polls() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs, PollingSelector(0) as selector:
        selector.register(ours, selectors.EVENT_READ)
        quick_waits(selector, theirs, ours, 2 * STREAK)
        assert not selector.polling


@pytest.mark.parametrize("window_us", [-1, MAX_POLL_US + 1])
def test_a_window_out_of_range(window_us: int) -> None:
    with pytest.raises(ValueError, match="polling window"):
        Polling(window_us)


def test_the_loop_serves_a_connection() -> None:
    async def echo_once() -> bytes:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readexactly(4))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"ping")
            answered = await asyncio.wait_for(reader.readexactly(4), 5)
            writer.close()
            return answered

    with asyncio.Runner(loop_factory=Polling().new_event_loop) as runner:
        assert runner.run(echo_once()) == b"ping"
