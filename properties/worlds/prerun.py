"""The pre-run check of a `--target` server: what the suite must know of somebody else's
server before any test runs, found once per run by the controller (pytest's, `nfsprop
check`'s, `nfsprop replay`'s: registry.choose_worlds with `prerun`).

Rules:
- In order: both ports accept TCP (options.check_reachable); MNT of the export over TCP
  to the MOUNT port answers MNT3_OK (a refusal is named by its status name, with the fix:
  MNT_FIXES); a NULL call over UDP to the NFS port says whether UDP is served (bounded by
  UDP_TIMEOUT); with --restart-cmd the command is run once and both ports must answer
  NULL again within its bounded wait (properties/worlds/external.py).
- Every failure is a WorldError of one line, `--target URL: what happened; the fix`.
  Every call is bounded: MNT by CALL_TIMEOUT seconds, the rest by the target's own bound.
- The check runs once per process for the same options (`nfsprop check` checks, then
  runs pytest in its own process, whose controller asks again): a passed check is kept.
- `describe()` gives the header lines (pytest's report header, `nfsprop check`'s first
  lines): what the check found, one line.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from properties.peers.rpcping import null_call
from properties.worlds.external import ExternalServer, RestartError, make_external_target
from properties.worlds.options import TargetUrl, WorldError, WorldOptions, check_reachable
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Capabilities
from reference.rpc.errors import RpcError
from reference.xdr import XdrError
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client, mountstat3
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3

T = TypeVar("T")

CALL_TIMEOUT = 20.0
UDP_TIMEOUT = 1.0
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
    udp: bool  # NULL over UDP to the NFS port answered
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
        udp = null_call(
            (url.host, url.port), NFS_PROGRAM, NFS_V3, transport="udp", timeout=UDP_TIMEOUT
        )
        if options.restart_cmd is not None:
            try:
                target.crash_and_restart()
            except RestartError as error:
                raise WorldError(f"--target {url}: {error}") from None
        return TargetCheck(url, udp, options.restart_cmd is not None)
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
    url = checked.url
    mount = "on the NFS port" if url.mount_port == url.port else f"port {url.mount_port}"
    restart = "--restart-cmd checked" if checked.restart_checked else "no --restart-cmd"
    return [f"nfsprop: target {url}: TCP yes, UDP {_yes(checked.udp)}, MOUNT {mount}, {restart}"]


def _yes(value: bool) -> str:
    return "yes" if value else "no"
