"""`nfsprop proxy`: one fault proxy as a program, until SIGINT or SIGTERM.

Rules:
- Arguments are checked before anything listens; every problem a user can fix (a bad
  HOST:PORT, a host that does not resolve, a probability outside [0, 1], probabilities
  adding up to more than 1, a negative delay, a port in use or not allowed) raises
  ProxyError with one line naming the problem and the fix. The command prints it and
  exits 2; no traceback.
- Faults: --drop, --dup and --reorder are per-message probabilities. --delay MS is the
  longest delay (eight equal buckets up to it, as in the simulation world); with it, every
  message that is not dropped, duplicated or reordered is delayed, unless --delay-rate
  gives the share to delay. Without --delay, duplicates and reorders use 10 ms. Decisions
  come from SeededFaults(seed); without --seed a random seed is chosen, and printed, so
  the run's decisions can be asked for again.
- The target is not contacted at start-up: it may come up later (a TCP client is reset
  while it cannot be reached; UDP datagrams are lost).
- Once listening, one line goes to `announce`: where the proxy listens, what it forwards
  to, and the seed; when it stops, a second: the fault totals (messages forwarded,
  dropped, duplicated, delayed, reordered; copies lost). With a trace path, the trace
  (the simulation world's JSON format) is written when the proxy stops; it grows with
  every message, so long runs without --trace keep no record at all.
"""

from __future__ import annotations

import asyncio
import errno
import math
import random
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from faults.proxy.base import LOOPBACK, ProxyBase
from faults.proxy.core import FORWARDED
from faults.proxy.tcp import TcpProxy
from faults.proxy.udp import UdpProxy
from faults.sim.faults import SeededFaults
from faults.sim.message_faults import FaultRates
from faults.sim.trace import Kind, Trace
from reference.rpc.stubs import Address

DEFAULT_MAX_DELAY_MS = 10.0


class ProxyError(Exception):
    """A problem with the arguments or the environment that the user can fix (one line)."""


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    listen: Address
    target: Address
    transport: str  # "udp" or "tcp"
    rates: FaultRates
    seed: int
    trace_path: Path | None = None


@dataclass(frozen=True, slots=True)
class ProxyFlags:
    """The command's flags as typed (strings): everything is checked by options_from_flags."""

    listen: str
    to: str
    transport: str
    drop: str = "0"
    dup: str = "0"
    reorder: str = "0"
    delay: str = "0"
    delay_rate: str | None = None
    seed: str | None = None
    trace: str | None = None


def options_from_flags(flags: ProxyFlags) -> ProxyOptions:
    """Checked options, or ProxyError naming the first bad flag and its fix."""
    if flags.transport not in ("udp", "tcp"):
        raise ProxyError(f"unknown transport {flags.transport!r}: pass --udp or --tcp")
    rates = build_rates(
        parse_number(flags.drop, "--drop"),
        parse_number(flags.dup, "--dup"),
        parse_number(flags.reorder, "--reorder"),
        parse_number(flags.delay, "--delay"),
        None if flags.delay_rate is None else parse_number(flags.delay_rate, "--delay-rate"),
    )
    return ProxyOptions(
        listen=parse_listen(flags.listen),
        target=parse_target(flags.to),
        transport=flags.transport,
        rates=rates,
        seed=random_seed() if flags.seed is None else parse_seed(flags.seed),
        trace_path=None if flags.trace is None else check_trace_path(Path(flags.trace)),
    )


def parse_number(text: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ProxyError(f"{flag} {text!r} is not a number: give e.g. {flag} 0.1") from None
    if not math.isfinite(value):
        raise ProxyError(f"{flag} {text!r} is not a finite number: give e.g. {flag} 0.1")
    return value


def parse_seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ProxyError(f"--seed {text!r} is not an integer: give e.g. --seed 42") from None


def parse_port(text: str, flag: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ProxyError(f"bad port {text!r} in {flag}: give a number from 0 to 65535")
    return port


def parse_listen(text: str) -> Address:
    """`PORT` (on 127.0.0.1) or `HOST:PORT`."""
    host, _, port = text.rpartition(":")
    return resolve(host or LOOPBACK, f"--listen {text}"), parse_port(port, f"--listen {text}")


def parse_target(text: str) -> Address:
    """`HOST:PORT`, the host resolved to an IPv4 address now."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise ProxyError(f"bad --to {text!r}: give HOST:PORT, e.g. --to 127.0.0.1:2049")
    port = parse_port(port_text, f"--to {text}")
    if port == 0:
        raise ProxyError(f"bad --to {text!r}: port 0 is not a server's port; give 1 to 65535")
    return resolve(host, f"--to {text}"), port


def resolve(host: str, flag: str) -> str:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ProxyError(
            f"cannot resolve host {host!r} in {flag}: give an IPv4 address or a known host name"
        ) from None
    return str(infos[0][4][0])


def build_rates(
    drop: float, duplicate: float, reorder: float, delay_ms: float, delay_rate: float | None
) -> FaultRates:
    """The fault rates the command's flags ask for (ProxyError naming the flag if bad)."""
    named = {"--drop": drop, "--dup": duplicate, "--reorder": reorder}
    if delay_rate is not None:
        named["--delay-rate"] = delay_rate
    for flag, value in named.items():
        if not 0.0 <= value <= 1.0:
            raise ProxyError(f"{flag} {value} is not a probability: give a number from 0 to 1")
    if delay_ms < 0:
        raise ProxyError(f"--delay {delay_ms} is negative: give milliseconds >= 0")
    faults = drop + duplicate + reorder
    if faults > 1.0:
        raise ProxyError(
            f"--drop + --dup + --reorder add up to {faults:g}: together they must not exceed 1"
        )
    if delay_rate is None:
        delay_rate = 1.0 - faults if delay_ms > 0 else 0.0
    elif faults + delay_rate > 1.0:
        raise ProxyError(
            f"--drop + --dup + --reorder + --delay-rate add up to {faults + delay_rate:g}:"
            " together they must not exceed 1"
        )
    max_delay = (delay_ms if delay_ms > 0 else DEFAULT_MAX_DELAY_MS) / 1000
    return FaultRates(
        drop=drop, duplicate=duplicate, delay=delay_rate, reorder=reorder, max_delay=max_delay
    )


def check_trace_path(path: Path) -> Path:
    """`path` if a trace can be written there at exit (its directory exists)."""
    if not path.parent.is_dir():
        raise ProxyError(
            f"--trace {path}: directory {path.parent} does not exist; create it or pick another"
        )
    if path.is_dir():
        raise ProxyError(f"--trace {path} is a directory: give a file name, e.g. trace.json")
    return path


def random_seed() -> int:
    return random.SystemRandom().getrandbits(32)


def make_proxy(options: ProxyOptions, trace: Trace | None) -> ProxyBase:
    kind = TcpProxy if options.transport == "tcp" else UdpProxy
    return kind(
        options.target,
        listen=options.listen,
        faults=SeededFaults(options.seed),
        rates=options.rates,
        trace=trace,
    )


def run(options: ProxyOptions, announce: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; ProxyError if the proxy cannot listen."""
    asyncio.run(_serve(options, announce))


async def _serve(options: ProxyOptions, announce: Callable[[str], None]) -> None:
    trace = Trace() if options.trace_path is not None else None
    proxy = make_proxy(options, trace)
    try:
        await proxy.start()
    except OSError as error:
        raise ProxyError(_listen_problem(options, error)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    host, port = proxy.address
    target = f"{options.target[0]}:{options.target[1]}"
    announce(
        f"nfsprop proxy: listening on {host}:{port} ({options.transport}), forwarding to "
        f"{target}, seed {options.seed}"
    )
    try:
        await stop.wait()
    finally:
        await proxy.close()
        announce(f"nfsprop proxy: stopped; {fault_totals(proxy.core.totals)}")
        if trace is not None and options.trace_path is not None:
            try:
                options.trace_path.write_text(trace.to_json())
            except OSError as error:
                raise ProxyError(
                    f"cannot write the trace to {options.trace_path}: {error.strerror}"
                ) from None


def fault_totals(totals: Mapping[str, int]) -> str:
    """`12 messages: 9 forwarded, 2 drop, 1 duplicate, 0 delay, 0 reorder; 0 copies lost`."""
    kinds = (FORWARDED, Kind.DROP, Kind.DUPLICATE, Kind.DELAY, Kind.REORDER)
    messages = sum(totals[kind] for kind in kinds)
    counted = ", ".join(f"{totals[kind]} {kind}" for kind in kinds)
    return f"{messages} messages: {counted}; {totals[Kind.LOST]} copies lost"


def _listen_problem(options: ProxyOptions, error: OSError) -> str:
    host, port = options.listen
    where = f"{host}:{port} ({options.transport})"
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} is in use on {where}: pass --listen N with a free port, or "
            "--listen 0 to pick one"
        )
    if error.errno == errno.EACCES:
        return f"not allowed to listen on {where}: use a port above 1023, or run as root"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    return f"cannot listen on {where}: {error.strerror or error}"
