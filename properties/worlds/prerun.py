"""The pre-run check of a `--target` server: what the suite must know of somebody else's
server before any test runs, found once per run by the controller (pytest's, `nfsprop
check`'s, `nfsprop replay`'s: registry.choose_worlds with `prerun`).

Rules:
- In order, each step only after the one before passed:
  1. both ports accept TCP (options.check_reachable);
  2. MNT of the export over TCP to the MOUNT port answers MNT3_OK; a refusal is named by
     its status name, with the fix (MNT_FIXES). With --scratch-dir the MNT makes the
     scratch directory if it is missing, and that directory is the root of everything
     after (properties/worlds/scratch.py);
  3. the feature probe (properties/worlds/probe.py: it makes and removes a scratch
     directory; its NULL call over UDP to the NFS port says whether UDP is served);
  4. with `--target-drc auto`, the duplicate request cache probe: a MKDIR in the scratch
     directory DRC_DIR sent twice with one XID on one connection (SocketTarget.send_raw:
     UDP where served, else TCP); the first reply again (NFS3_OK) is a cache,
     NFS3ERR_EXIST none, anything else a WorldError asking for yes or no; DRC_DIR is
     removed;
  5. with --restart-cmd, the command is run once, and both ports must answer NULL again
     within its bounded wait (properties/worlds/external.py); a file made before it is
     GETATTRed by its old handle after it, and the answer (NFS3_OK: handles survive;
     NFS3ERR_STALE, BADHANDLE, ...) goes into the header and the target world's
     Capabilities (handles_survive_restart); the file is removed.
- Every call carries the options' AUTH_SYS credential (--uid/--gid).
- Every failure is a WorldError of one line, `--target URL: what happened; the fix`.
  Every call is bounded: the check's own by CALL_TIMEOUT seconds, the probe's by the
  target's bound, raw calls by send_raw's.
- The check runs once per process for the same options (`nfsprop check` checks, then
  runs pytest in its own process, whose controller asks again): a passed check is kept.
  It is saved (JSON, worlds/lock.py's `shared_file(url, CHECK_FILE)`) for xdist's
  workers, which do not check but `load_check()` what their controller found (the
  probed cache answer and handles across a restart, for their Capabilities). A record
  of the server's death (properties/worlds/dead.py) left by an earlier run is cleared.
- `describe()` gives the header lines (pytest's report header, `nfsprop check`'s first
  lines), two: the transports and the optional features (by probe.FEATURES's titles);
  then what the server says of itself, the cache, the identity calls carry, where the
  suite works, and what a restart does to handles.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import MKDIR, RawReplyError, decode_reply, sattr
from properties.worlds import dead
from properties.worlds.external import ExternalServer, RestartError, make_external_target
from properties.worlds.lock import shared_file
from properties.worlds.options import (
    TargetUrl,
    WorldError,
    WorldOptions,
    check_reachable,
    parse_target_url,
)
from properties.worlds.probe import FEATURES, Features, ProbeError, probe
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Capabilities, ExportUnusable
from reference.rpc.auth import encode_credential
from reference.rpc.errors import RpcDenied, RpcError
from reference.rpc.message import MalformedMessage, encode_call
from reference.rpc.stubs import AuthSys
from reference.xdr import XdrError
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client, mountstat3
from reference.xdr.gen.nfs3 import NFS3_OK, NFS_PROGRAM, NFS_V3, NFS_V3_Client

T = TypeVar("T")

CALL_TIMEOUT = 20.0
CHECK_FILE = "check.json"  # the check saved for the run's other processes (worlds/lock.py)
DRC_DIR = b".nfsprop-drc"  # the cache probe's scratch directory in the export
DRC_NAME = b"twice"  # what the cache probe makes twice in it
AUTO_FIX = "give --target-drc yes or no instead of auto"
RESTART_FILE = b".nfsprop-restart"  # made before the restart, its handle tried after it
SURVIVED = "survived"
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
    handles_survive_restart=None,
)


@dataclass(frozen=True)
class TargetCheck:
    """What the pre-run check found of the --target server."""

    url: TargetUrl
    features: Features  # probed; features.udp: NULL over UDP to the NFS port answered
    drc: bool | None  # the duplicate request cache probe's answer; None: not probed
    # with --restart-cmd (run once; the server came back): what GETATTR of a handle made
    # before the restart answered after it (SURVIVED, or a status name); None: no command
    handle_after_restart: str | None

    @property
    def handles_survive_restart(self) -> bool | None:
        return None if self.handle_after_restart is None else self.handle_after_restart == SURVIVED

    def to_json(self) -> str:
        body = dataclasses.asdict(self)
        body["url"] = str(self.url)
        return json.dumps(body)

    @classmethod
    def from_json(cls, text: str) -> TargetCheck:
        body = json.loads(text)
        features = body["features"]
        features["answers"] = tuple(tuple(pair) for pair in features["answers"])
        return cls(
            parse_target_url(body["url"]),
            Features(**features),
            body["drc"],
            body["handle_after_restart"],
        )


_PASSED: dict[tuple[WorldOptions, bool], TargetCheck] = {}


def check_target(options: WorldOptions, probe_drc: bool) -> TargetCheck:
    """The pre-run check of `options.target` (see the module rules), its duplicate request
    cache probed if `probe_drc`; saved for the run's other processes (load_check)."""
    known = _PASSED.get((options, probe_drc))
    if known is None:
        known = _PASSED[(options, probe_drc)] = _check(options, probe_drc)
    path = shared_file(str(known.url), CHECK_FILE)
    temporary = path.with_suffix(f".{os.getpid()}")
    temporary.write_text(known.to_json())
    temporary.replace(path)
    dead.clear(str(known.url))  # an earlier run's record of its death: it answers now
    return known


def load_check(url: TargetUrl) -> TargetCheck | None:
    """The pre-run check the run's controller saved for `url`, if any."""
    try:
        return TargetCheck.from_json(shared_file(str(url), CHECK_FILE).read_text())
    except FileNotFoundError:
        return None


def _check(options: WorldOptions, probe_drc: bool) -> TargetCheck:
    url = options.target
    assert url is not None, "the pre-run check needs a --target"
    check_reachable(url)
    try:
        target = make_external_target(
            url, options.restart_cmd, CHECKING, options.credential, options.scratch_dir
        )
    except RpcError as error:
        raise WorldError(f"--target {url}: {_line(error)}; is the server up?") from None
    try:
        root = _mount(target, url)
        target.features = features = _probe(target, url)
        drc = _probe_drc(target, url, root) if probe_drc else None
        after = None if options.restart_cmd is None else _restart(target, url, root)
        return TargetCheck(url, features, drc, after)
    finally:
        target.close()


def _mount(target: SocketTarget[Any], url: TargetUrl) -> nfs3.nfs_fh3:
    """The export's root handle."""
    mount = MOUNT_V3_Client(target.mount_caller)
    where = f"MNT {url.export.decode(errors='replace')!r} on {url.host}:{url.mount_port}"
    reply = _bounded(target, url, mount.MOUNTPROC3_MNT(target.export), where)
    if reply.fhs_status != MNT3_OK or reply.mountinfo is None:
        fix = MNT_FIXES.get(reply.fhs_status, GENERAL_MNT_FIX)
        client = _client_address(url)
        raise WorldError(
            f"--target {url}: {where} answered {reply.fhs_status.name}: {fix.format(client=client)}"
        )
    return nfs3.nfs_fh3(reply.mountinfo.fhandle)


def _restart(target: SocketTarget[Any], url: TargetUrl, root: nfs3.nfs_fh3) -> str:
    """Restart the server once with --restart-cmd: what GETATTR of a file's handle made
    before answers after it (SURVIVED, or a status name); the file is removed."""
    nfs = NFS_V3_Client(target.caller)
    where = nfs3.diropargs3(root, RESTART_FILE)
    how = nfs3.createhow3(nfs3.UNCHECKED, obj_attributes=sattr())
    made = _bounded(target, url, nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where, how)), "CREATE")
    handle = made.resok.obj.handle if made.resok is not None else None
    if handle is None:
        raise WorldError(
            f"--target {url}: CREATE {RESTART_FILE!r} before the restart answered "
            f"{status_name(made.status)}; the export must be writable by the suite"
        )
    try:
        target.crash_and_restart()
    except RestartError as error:
        raise WorldError(f"--target {url}: {error}") from None
    try:
        status = target.run(
            asyncio.wait_for(nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(handle)), CALL_TIMEOUT)
        ).status
        after = SURVIVED if status == NFS3_OK else status_name(status)
    except (RpcError, XdrError) as error:
        after = _line(error)
    except TimeoutError:
        raise WorldError(
            f"--target {url}: no answer to GETATTR within {CALL_TIMEOUT:g} s after "
            "--restart-cmd; the command must start the server again"
        ) from None
    fresh = _mount(target, url)  # the old root's handle may be gone with the restart
    remove = nfs3.REMOVE3args(nfs3.diropargs3(fresh, RESTART_FILE))
    removed = _bounded(target, url, nfs.NFSPROC3_REMOVE(remove), "REMOVE")
    if removed.status != NFS3_OK:
        raise WorldError(
            f"--target {url}: REMOVE {RESTART_FILE!r} after the restart answered "
            f"{status_name(removed.status)}; remove it by hand"
        )
    return after


def _probe_drc(target: SocketTarget[ExternalServer], url: TargetUrl, root: nfs3.nfs_fh3) -> bool:
    """Whether a MKDIR sent twice with one XID on one connection (UDP where served, else
    TCP: SocketTarget.send_raw) is answered from a duplicate request cache: the second
    answer NFS3_OK (identical or not) is a cache, NFS3ERR_EXIST none."""
    nfs = NFS_V3_Client(target.caller)
    scratch = _bounded(target, url, _make_directory(nfs, root, DRC_DIR), f"MKDIR {DRC_DIR!r}")
    if scratch is None:
        raise WorldError(f"--target {url}: the cache probe could not make {DRC_DIR!r}; {AUTO_FIX}")
    args = nfs3.MKDIR3args(nfs3.diropargs3(scratch, DRC_NAME), sattr())
    call = encode_call(
        target.next_xid(),
        NFS_PROGRAM,
        NFS_V3,
        MKDIR.number,
        encode_credential(target.credential),
        MKDIR.encode_args(args),
    )
    first = target.run(target.send_raw(call))
    second = target.run(target.send_raw(call))
    removed = _bounded(
        target, url, _remove_tree(nfs, root, DRC_DIR, DRC_NAME), f"RMDIR {DRC_DIR!r}"
    )
    transport = "UDP" if target.features.udp else "TCP"
    try:
        answers = [decode_reply(MKDIR, reply).status for reply in (first, second)]
    except (RawReplyError, MalformedMessage, XdrError) as error:
        raise WorldError(
            f"--target {url}: the cache probe over {transport}: {_line(error)}; {AUTO_FIX}"
        ) from None
    if removed != NFS3_OK:
        raise WorldError(
            f"--target {url}: the cache probe could not remove {DRC_DIR!r}: "
            f"{status_name(removed)}; remove it by hand"
        )
    if answers[0] != NFS3_OK:
        raise WorldError(
            f"--target {url}: the cache probe's MKDIR answered {status_name(answers[0])}; "
            f"{AUTO_FIX}"
        )
    if answers[1] == NFS3_OK:
        return True
    if answers[1] == nfs3.NFS3ERR_EXIST:
        return False
    raise WorldError(
        f"--target {url}: the cache probe's MKDIR, sent again with its XID over {transport}, "
        f"answered {status_name(answers[1])} (neither the first reply nor NFS3ERR_EXIST); "
        f"{AUTO_FIX}"
    )


async def _make_directory(
    nfs: NFS_V3_Client, parent: nfs3.nfs_fh3, name: bytes
) -> nfs3.nfs_fh3 | None:
    """A new, empty directory `name` in `parent` (one an earlier run left is emptied)."""
    made = await nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(nfs3.diropargs3(parent, name), sattr()))
    if made.status == nfs3.NFS3ERR_EXIST:
        await _remove_tree(nfs, parent, name, DRC_NAME)
        made = await nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(nfs3.diropargs3(parent, name), sattr()))
    return made.resok.obj.handle if made.resok is not None else None


async def _remove_tree(
    nfs: NFS_V3_Client, parent: nfs3.nfs_fh3, name: bytes, child: bytes
) -> nfs3.nfsstat3:
    """RMDIR `name`/`child` (if there), then `name`: the status of the last."""
    found = await nfs.NFSPROC3_LOOKUP(nfs3.LOOKUP3args(nfs3.diropargs3(parent, name)))
    if found.resok is not None:
        await nfs.NFSPROC3_RMDIR(nfs3.RMDIR3args(nfs3.diropargs3(found.resok.object, child)))
    removed = await nfs.NFSPROC3_RMDIR(nfs3.RMDIR3args(nfs3.diropargs3(parent, name)))
    return removed.status


def _probe(target: SocketTarget[ExternalServer], url: TargetUrl) -> Features:
    try:
        return probe(target, url.host, url.port, url.mount_port)
    except (ProbeError, RpcError, XdrError, TimeoutError) as error:
        raise WorldError(
            f"--target {url}: the feature probe failed: {_line(error)}; the export must be "
            f"writable by the suite ({_identity(target.credential)}; --uid/--gid choose another)"
        ) from None


def _bounded(
    target: SocketTarget[Any], url: TargetUrl, call: Coroutine[Any, Any, T], where: str
) -> T:
    """`call` on `target`, within CALL_TIMEOUT seconds; any failure as a WorldError."""
    try:
        return target.run(asyncio.wait_for(call, CALL_TIMEOUT))
    except TimeoutError:
        raise WorldError(
            f"--target {url}: no answer to {where} within {CALL_TIMEOUT:g} s; "
            "is it an NFSv3 server, and mountport= its MOUNT port?"
        ) from None
    except ExportUnusable as error:
        raise WorldError(
            f"--target {url}: {_line(error)}; the suite must be able to make the scratch "
            f"directory there as {_identity(target.credential)}"
        ) from None
    except RpcDenied as error:
        raise WorldError(
            f"--target {url}: {where}: {_line(error)}; the server refuses "
            f"{_identity(target.credential)}: export it to this host for that identity, "
            "or choose another with --uid/--gid"
        ) from None
    except (RpcError, XdrError) as error:
        raise WorldError(
            f"--target {url}: {where}: {_line(error)}; "
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


def _identity(credential: AuthSys) -> str:
    return f"AUTH_SYS uid {credential.uid} gid {credential.gid}"


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
        f"DRC {_yes(options.target_drc)} ({options.drc_decided})",
        _identity(options.credential),
        _works_in(options.scratch_dir),
        _restart_said(checked.handle_after_restart),
    ]
    return [
        f"nfsprop: target {url}: TCP yes, UDP {_yes(features.udp)}, MOUNT {mount}, "
        + ", ".join(optional),
        "nfsprop: target " + ", ".join(said),
    ]


def _restart_said(after: str | None) -> str:
    if after is None:
        return "no --restart-cmd (handles across a restart not probed)"
    if after == SURVIVED:
        return "--restart-cmd checked, handles survive a restart"
    return f"--restart-cmd checked, handles do NOT survive a restart (GETATTR answered {after})"


def _works_in(scratch_dir: bytes | None) -> str:
    if scratch_dir is None:
        return "works in the whole export (emptied before every example)"
    return f"works in {scratch_dir.decode(errors='replace')!r} of the export (its root)"


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
