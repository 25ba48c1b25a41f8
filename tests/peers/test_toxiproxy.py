"""Toxiproxy as a real peer, in front of an asyncio echo server on 127.0.0.1: a proxy passes
bytes both ways, a latency toxic shows in the toxic list and goes away, a disabled proxy
refuses connections and drops open ones, an enabled one serves again; API errors and a
missing binary say what is wrong. Toxiproxy API calls block, so coroutines make them in a
thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import requests
import toxiproxy.api

from properties.peers import processes
from properties.peers.processes import PeerNotInstalled
from properties.peers.toxiproxy import ToxiproxyError, ToxiproxyServer, listen_port

IO_TIMEOUT = 10.0
MESSAGE = bytes(range(256)) * 256  # 64 KiB


@pytest.fixture
def toxi(tmp_path: Path) -> Iterator[ToxiproxyServer]:
    with ToxiproxyServer(tmp_path) as server:
        yield server


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def with_echo_server(scenario: Callable[[tuple[str, int]], Awaitable[None]]) -> None:
    """Run `scenario(echo address)` with an echo server listening on 127.0.0.1."""

    async def main() -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        async with server:
            host, port = server.sockets[0].getsockname()[:2]
            await asyncio.wait_for(scenario((host, port)), 60.0)

    asyncio.run(main())


async def round_trip(port: int, message: bytes) -> bytes:
    """Send `message` to 127.0.0.1:`port` and read as many bytes back. (No half-close:
    Toxiproxy ends both directions when the client ends its own.)"""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), IO_TIMEOUT)
    try:
        writer.write(message)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(message)), IO_TIMEOUT)
    finally:
        writer.close()


def test_a_proxy_passes_bytes_both_ways(toxi: ToxiproxyServer) -> None:
    async def scenario(echo: tuple[str, int]) -> None:
        proxy = await asyncio.to_thread(toxi.create_proxy, "echo", 0, echo)
        assert proxy.enabled
        assert await round_trip(listen_port(proxy), MESSAGE) == MESSAGE

    with_echo_server(scenario)


def test_a_latency_toxic_shows_in_the_toxic_list(toxi: ToxiproxyServer) -> None:
    async def scenario(echo: tuple[str, int]) -> None:
        proxy = await asyncio.to_thread(toxi.create_proxy, "slow", 0, echo)
        name = await asyncio.to_thread(
            toxi.add_toxic, proxy, "latency", "upstream", {"latency": 20, "jitter": 5}
        )
        toxics = await asyncio.to_thread(toxi.toxics, proxy)
        assert name == "latency_upstream"
        assert list(toxics) == [name]
        toxic = toxics[name]
        assert (toxic.type, toxic.stream, toxic.toxicity) == ("latency", "upstream", 1)
        assert toxic.attributes == {"latency": 20, "jitter": 5}
        assert await round_trip(listen_port(proxy), MESSAGE) == MESSAGE
        await asyncio.to_thread(toxi.remove_toxic, proxy, name)
        assert await asyncio.to_thread(toxi.toxics, proxy) == {}

    with_echo_server(scenario)


def test_disable_refuses_and_drops_connections_and_enable_restores(
    toxi: ToxiproxyServer,
) -> None:
    async def scenario(echo: tuple[str, int]) -> None:
        proxy = await asyncio.to_thread(toxi.create_proxy, "flaky", 0, echo)
        port = listen_port(proxy)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"before")
        assert await asyncio.wait_for(reader.readexactly(6), IO_TIMEOUT) == b"before"

        await asyncio.to_thread(toxi.disable, proxy)
        assert not proxy.enabled
        try:
            dropped = await asyncio.wait_for(reader.read(), IO_TIMEOUT)
        except ConnectionResetError:
            dropped = b""
        assert dropped == b""
        writer.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), IO_TIMEOUT)

        await asyncio.to_thread(toxi.enable, proxy)
        assert proxy.enabled
        assert await round_trip(port, b"after") == b"after"

    with_echo_server(scenario)


def test_destroy_removes_the_proxy(toxi: ToxiproxyServer) -> None:
    proxy = toxi.create_proxy("gone", 0, ("127.0.0.1", 9))
    assert set(toxi.proxies()) == {"gone"}
    toxi.destroy(proxy)
    assert toxi.proxies() == {}


def test_two_servers_in_one_process_keep_apart(tmp_path: Path) -> None:
    with ToxiproxyServer(tmp_path / "a") as first, ToxiproxyServer(tmp_path / "b") as second:
        first.create_proxy("only-first", 0, ("127.0.0.1", 9))
        second.create_proxy("only-second", 0, ("127.0.0.1", 9))
        assert set(first.proxies()) == {"only-first"}
        assert set(second.proxies()) == {"only-second"}
        assert first.version() == second.version() == "2.12.0"


def test_toxiproxy_python_is_left_as_it_was(toxi: ToxiproxyServer) -> None:
    before = (toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port)
    toxi.proxies()
    assert toxiproxy.api.requests is requests
    assert (toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port) == before


def test_api_errors_name_the_call_and_the_answer(toxi: ToxiproxyServer) -> None:
    proxy = toxi.create_proxy("p", 0, ("127.0.0.1", 9))
    with pytest.raises(ToxiproxyError, match=r"DELETE .*/proxies/p/toxics/nothing answered 404"):
        toxi.remove_toxic(proxy, "nothing")
    with pytest.raises(ToxiproxyError, match="answered 400"):
        toxi.add_toxic(proxy, "no_such_toxic")
    with pytest.raises(ToxiproxyError, match="already exists"):
        toxi.create_proxy("p", 0, ("127.0.0.1", 9))


def test_a_stopped_server_is_an_error_not_a_hang(tmp_path: Path) -> None:
    with ToxiproxyServer(tmp_path, request_timeout=2.0) as server:
        pass
    assert not server.running
    with pytest.raises(ToxiproxyError, match="failed"):
        server.proxies()


def test_missing_toxiproxy_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(processes, "_EXTRA_DIRS", ())
    with pytest.raises(PeerNotInstalled, match=r"Toxiproxy not installed.*bash scripts/bootstrap"):
        ToxiproxyServer(tmp_path).start()
