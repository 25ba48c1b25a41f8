"""Guarded requests: SETATTR with a ctime guard (RFC 1813 §3.3.2).

Rules:
- A file is made with some bytes (properties/nfs3/handles.py `create_file`) and GETATTR
  gives its ctime. SETATTR then sets a size and/or a mode (a mode only where the server
  stores modes) under a guard:
  - in sync, the ctime GETATTR answered: the change must apply (NFS3_OK, and GETATTR
    after shows it);
  - out of sync, a time a second away from it (different at any granularity a server
    keeps): the answer must be NFS3ERR_NOT_SYNC, and GETATTR after shows nothing changed.
  Anything else is a FAIL of SETATTR-GUARD, and so is an RPC-level answer (GARBAGE_ARGS,
  ...) to the guarded SETATTR: the guard is part of its well-formed arguments.
- Calls go through handles.call (a step each); a FAIL is a finding (raised unless the
  world's baseline knows it), as in handles.py.
"""

from __future__ import annotations

from properties.harness import findings
from properties.nfs3 import rules
from properties.nfs3.handles import _setup_failed, call, create_file, mount
from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import GETATTR, SETATTR, sattr
from properties.worlds.target import Target
from reference.rpc.errors import RpcError
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_NOT_SYNC,
    GETATTR3args,
    SETATTR3args,
    fattr3,
    nfs_fh3,
    nfstime3,
    sattrguard3,
)


def another_time(time: nfstime3) -> nfstime3:
    """A time a second away from `time`: different at any granularity a server keeps."""
    return nfstime3(time.seconds - 1 if time.seconds else 1, time.nseconds)


def guarded_setattr(
    target: Target, length: int, size: int | None, mode: int | None, in_sync: bool
) -> int:
    """Make a file of `length` bytes and SETATTR its `size` and `mode` under a guard in
    sync or out of sync with its ctime (see the module rules); the status SETATTR got."""
    mode = mode if target.features.stores_mode else None
    handle = create_file(target, mount(target), b"guarded", b"g" * length).handle
    before = _attributes(target, handle)
    guard = before.ctime if in_sync else another_time(before.ctime)
    setting = f"SETATTR size={size} mode={None if mode is None else oct(mode)}"
    what = f"{setting} guarded by {guard.seconds}.{guard.nseconds:09} (its ctime: "
    what += f"{before.ctime.seconds}.{before.ctime.nseconds:09})"
    recorder = findings.current()
    try:
        args = SETATTR3args(handle, sattr(mode, size), sattrguard3(True, guard))
        status = call(target, SETATTR, args).status
    except RpcError as answer:
        recorder.fail(rules.GUARD, f"{what} answered {answer}")
        return -1
    after = _attributes(target, handle)
    if in_sync:
        expected = (before.size if size is None else size, before.mode if mode is None else mode)
        if status != NFS3_OK:
            recorder.fail(rules.GUARD, f"{what} answered {status_name(status)}, not NFS3_OK")
    else:
        expected = (before.size, before.mode)
        if status != NFS3ERR_NOT_SYNC:
            recorder.fail(
                rules.GUARD, f"{what} answered {status_name(status)}, not NFS3ERR_NOT_SYNC"
            )
    now = (after.size, after.mode & 0o7777 if mode is not None else after.mode)
    wanted = (expected[0], expected[1] & 0o7777 if mode is not None else expected[1])
    if now != wanted:
        recorder.fail(
            rules.GUARD,
            f"{what} answered {status_name(status)}, and then GETATTR showed size {now[0]} "
            f"mode {now[1]:o}, not size {wanted[0]} mode {wanted[1]:o}",
        )
    return status


def _attributes(target: Target, handle: nfs_fh3) -> fattr3:
    reply = call(target, GETATTR, GETATTR3args(handle))
    if reply.resok is None:
        _setup_failed("GETATTR", f"GETATTR of b'guarded' answered {status_name(reply.status)}")
    return reply.resok.obj_attributes
