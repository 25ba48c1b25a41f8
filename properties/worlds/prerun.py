"""The pre-run check of a `--target` server: what the suite must know of somebody else's
server before any test runs, found once per run by the controller (pytest's, `nfsprop
check`'s, `nfsprop replay`'s: registry.choose_worlds with `prerun`).

Rules:
- In order: both ports accept TCP (options.check_reachable); MNT of the export over TCP
  to the MOUNT port answers MNT3_OK (a refusal is named by its status name, with the fix:
  MNT_FIXES); the feature probe (properties/worlds/probe.py: it makes and removes a
  scratch directory, and its NULL call over UDP to the NFS port says whether UDP is
  served); with --restart-cmd the command is run once and both ports must answer NULL
  again within its bounded wait (properties/worlds/external.py).
- Every failure is a WorldError of one line, `--target URL: what happened; the fix`.
  Every call is bounded: MNT by CALL_TIMEOUT seconds, the rest by the target's own bound.
- The check runs once per process for the same options (`nfsprop check` checks, then
  runs pytest in its own process, whose controller asks again): a passed check is kept.
- `describe()` gives the header lines (pytest's report header, `nfsprop check`'s first
  lines): what the check found, two lines: transports and the optional features (by
  probe.FEATURES's titles), then what the server says of itself and the user's options.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from properties.worlds.external import ExternalServer, RestartError, make_external_target
from properties.worlds.options import TargetUrl, WorldError, WorldOptions, check_reachable
from properties.worlds.probe import FEATURES, Features, ProbeError, probe
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Capabilities
from reference.rpc.errors import RpcError
from reference.xdr import XdrError
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client, mountstat3

T = TypeVar("T")

CALL_TIMEOUT = 20.0
# What to do about a refused MNT, by its status; any other refusal: GENERAL_MNT_FIX.
MNT_FIXES = {
    mountstat3.MNT3ERR_ACCES: "export it to {client} / this host",
    mountstat3.MNT3ERR_NOENT: "no such export; check the path in the URL",
    mountstat3.MNT3ERR_NOTDIR: "the export is not a directory; check the path in the URL",
}
GENERAL_MNT_FIX = "check the export's options on the server"
# The check needs no capabilities: it only calls, and restarts through ExternalServer.
CHECKING = Capabilities(
    crashes=False,
    drc=False,
    drc_off=False,
    network_faults=False,
    partitions=False,
    clock_jumps=False,
)


@dataclass(frozen=True)
class TargetCheck:
    """What the pre-run check found of the --target server."""

    url: TargetUrl
    features: Features  # probed; features.udp: NULL over UDP to the NFS port answered
    restart_checked: bool  # --restart-cmd ran once and the server came back


_PASSED: dict[WorldOptions, TargetCheck] = {}


def check_target(options: WorldOptions) -> TargetCheck:
    """The pre-run check of `options.target` (see the module rules)."""
    known = _PASSED.get(options)
    if known is None:
        known = _PASSED[options] = _check(options)
    return known


def _check(options: WorldOptions) -> TargetCheck:
    url = options.target
    assert url is not None, "the pre-run check needs a --target"
    check_reachable(url)
    try:
        target = make_external_target(url, options.restart_cmd, CHECKING)
    except RpcError as error:
        raise WorldError(f"--target {url}: {_line(error)}; is the server up?") from None
    try:
        _mount(target, url)
        features = _probe(target, url)
        if options.restart_cmd is not None:
            try:
                target.crash_and_restart()
            except RestartError as error:
                raise WorldError(f"--target {url}: {error}") from None
        return TargetCheck(url, features, options.restart_cmd is not None)
    finally:
        target.close()


def _mount(target: SocketTarget[ExternalServer], url: TargetUrl) -> None:
    mount = MOUNT_V3_Client(target.mount_caller)
    where = f"MNT {url.export.decode(errors='replace')!r} on {url.host}:{url.mount_port}"
    reply = _bounded(target, mount.MOUNTPROC3_MNT(target.export), where)
    if reply.fhs_status != MNT3_OK:
        fix = MNT_FIXES.get(reply.fhs_status, GENERAL_MNT_FIX)
        client = _client_address(url)
        raise WorldError(
            f"--target {url}: {where} answered {reply.fhs_status.name}: {fix.format(client=client)}"
        )


def _probe(target: SocketTarget[ExternalServer], url: TargetUrl) -> Features:
    try:
        return probe(target, url.host, url.port, url.mount_port)
    except (ProbeError, RpcError, XdrError, TimeoutError) as error:
        raise WorldError(
            f"--target {url}: the feature probe failed: {_line(error)}; the export must be "
            "writable by the suite (AUTH_SYS uid 0)"
        ) from None


def _bounded(target: SocketTarget[ExternalServer], call: Coroutine[Any, Any, T], where: str) -> T:
    """`call` on `target`, within CALL_TIMEOUT seconds; any failure as a WorldError."""
    try:
        return target.run(asyncio.wait_for(call, CALL_TIMEOUT))
    except TimeoutError:
        raise WorldError(
            f"--target {target.server.url}: no answer to {where} within {CALL_TIMEOUT:g} s; "
            "is it an NFSv3 server, and mountport= its MOUNT port?"
        ) from None
    except (RpcError, XdrError) as error:
        raise WorldError(
            f"--target {target.server.url}: {where}: {_line(error)}; "
            "is it an NFSv3 server, and mountport= its MOUNT port?"
        ) from None


def _client_address(url: TargetUrl) -> str:
    """This host's address as the server sees it (the route's source address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((url.host, url.port))
            address: str = probe.getsockname()[0]
        except OSError:
            return "this host's address"
    return address


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe(options: WorldOptions) -> list[str]:
    """The header lines of the pre-run check's findings; none without a checked target."""
    checked = options.checked
    if checked is None:
        return []
    url, features = checked.url, checked.features
    mount = "on the NFS port" if url.mount_port == url.port else f"port {url.mount_port}"
    optional = [
        f"{feature.title} {_yes(getattr(features, feature.name))}"
        for feature in FEATURES
        if feature.name != "udp"
    ]
    said = [
        f"time granularity {_duration(features.time_delta_ns)}",
        f"name_max {_unknown(features.name_max)}",
        f"smallest READDIR count {_unknown(features.smallest_readdir_count)}",
        "--restart-cmd checked" if checked.restart_checked else "no --restart-cmd",
    ]
    return [
        f"nfsprop: target {url}: TCP yes, UDP {_yes(features.udp)}, MOUNT {mount}, "
        + ", ".join(optional),
        "nfsprop: target " + ", ".join(said),
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _unknown(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _duration(nanoseconds: int | None) -> str:
    if nanoseconds is None:
        return "unknown"
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if nanoseconds >= size and nanoseconds % size == 0:
            return f"{nanoseconds // size} {unit}"
    return f"{nanoseconds} ns"
