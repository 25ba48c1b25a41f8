"""What requests carry beyond their target: SETATTR's ctime guard and times (RFC 1813
§3.3.2), COMMIT's range (§3.3.21) and WRITE's DATA_SYNC (§3.3.7).

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
- SETATTR's times: a file's mtime, atime or both are set SET_TO_CLIENT_TIME to a time
  before the server's clock; GETATTR must then show each as sent, at the granularity
  FSINFO's time_delta claims (a server that did not say is held to a second). Then the
  same fields are set SET_TO_SERVER_TIME: each must be no earlier than the ctime the
  first SETATTR left (the server's clock had reached it). Else SETATTR-TIMES; a SETATTR
  refused is SETATTR-REFUSED (the scenario needs it), and a server the probe found
  setting no times (sets_times) is UNSUPPORTED there.
- A change's times: a file is made, then a directory beside it, then a witness file,
  written last (its ctime is the latest the server has shown, and that write touched
  nothing the change touches); then the file is written, cut to size 0, renamed within
  the export's root or renamed into the new directory. The post-op
  attributes of what changed (the file; both directories of a RENAME, whose entries
  changed) must show an mtime and a ctime no earlier than that latest ctime
  (CHANGE-TIME). A call the scenario needs that is refused is its "-REFUSED" rule.
- A listing after an UNSTABLE write: a file is made, `length` bytes are written UNSTABLE
  at `offset` (not committed), and READDIRPLUS lists its directory; the file's entry, if
  it carries attributes, must show the size and the mtime and ctime WRITE's wcc_data
  showed after it (nothing changed the file since): READDIRPLUS attributes are the
  object's attributes now, uncommitted data included (SIZE, ATTR-STEADY).
- COMMIT of a range: an empty file gets `before` bytes UNSTABLE at offset 0 and, `gap`
  bytes further, `length` bytes UNSTABLE; COMMIT asks for that second range only
  (offset, count). If every WRITE and the COMMIT answered one write verifier (the server
  did not restart in between), the range is durable: after the world crashes and
  restarts the server, READ of it must give those bytes (DURABLE). A server may commit
  more than was asked; what lies outside the range is not checked. A handle that no
  longer works after the restart is HANDLES-SURVIVE-RESTART.
- WRITE with DATA_SYNC to an empty file, at some offset: the answer must commit at least
  DATA_SYNC (WRITE-COMMITTED), and what it acknowledged must survive a crash as a COMMIT's
  range does (DURABLE): DATA_SYNC keeps the data and what is needed to read it back (the
  size), if not every attribute. A short write is not followed further.
- Each scenario runs on a fresh target of the world's factory (no faults), closed after
  it. Calls go through handles.call (a step each); a FAIL is a finding (raised unless the
  world's baseline knows it), as in handles.py.
"""

from __future__ import annotations

from typing import Literal

from properties.harness import findings
from properties.nfs3 import rules
from properties.nfs3.handles import (
    call,
    create_file,
    fresh_target,
    make_directory,
    mount,
    setup_failed,
)
from properties.nfs3.model.verdict import status_name
from properties.nfs3.optional import OPTIONAL
from properties.nfs3.times import nanoseconds, shown
from properties.nfs3.wire import (
    COMMIT,
    GETATTR,
    READ,
    READDIRPLUS,
    RENAME,
    SETATTR,
    WRITE,
    sattr,
)
from properties.worlds.target import Target, TargetFactory
from reference.rpc.errors import RpcError
from reference.xdr.gen.nfs3 import (
    DATA_SYNC,
    NFS3_OK,
    NFS3ERR_NOT_SYNC,
    UNSTABLE,
    COMMIT3args,
    GETATTR3args,
    READ3args,
    READDIRPLUS3args,
    RENAME3args,
    SETATTR3args,
    WRITE3args,
    diropargs3,
    fattr3,
    nfs_fh3,
    nfstime3,
    sattrguard3,
    set_atime,
    set_mtime,
    time_how,
)


def another_time(time: nfstime3) -> nfstime3:
    """A time a second away from `time`: different at any granularity a server keeps."""
    return nfstime3(time.seconds - 1 if time.seconds else 1, time.nseconds)


def guarded_setattr(
    make_target: TargetFactory, length: int, size: int | None, mode: int | None, in_sync: bool
) -> None:
    """Make a file of `length` bytes and SETATTR its `size` and `mode` under a guard in
    sync or out of sync with its ctime (see the module rules)."""
    with fresh_target(make_target) as target:
        _guarded_setattr(target, length, size, mode, in_sync)


def _guarded_setattr(
    target: Target, length: int, size: int | None, mode: int | None, in_sync: bool
) -> None:
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
        return
    wanted_status = NFS3_OK if in_sync else NFS3ERR_NOT_SYNC
    if status != wanted_status:
        recorder.fail(
            rules.GUARD, f"{what} answered {status_name(status)}, not {status_name(wanted_status)}"
        )
    applies = in_sync and status == NFS3_OK
    size_now = size if applies and size is not None else before.size
    mode_now = mode if applies and mode is not None else before.mode & 0o7777
    after = _attributes(target, handle)
    if (after.size, after.mode & 0o7777) != (size_now, mode_now):
        recorder.fail(
            rules.GUARD,
            f"{what} answered {status_name(status)}, and then GETATTR showed size {after.size} "
            f"mode {after.mode & 0o7777:o}, not size {size_now} mode {mode_now:o}",
        )


def _attributes(target: Target, handle: nfs_fh3) -> fattr3:
    reply = call(target, GETATTR, GETATTR3args(handle))
    if reply.resok is None:
        setup_failed("GETATTR", f"GETATTR of the file answered {status_name(reply.status)}")
    return reply.resok.obj_attributes


TimedChange = Literal["write", "truncate", "rename", "rename across"]


def changed_times(make_target: TargetFactory, change: TimedChange) -> None:
    """Make `change` after a later change elsewhere (see the module rules)."""
    with fresh_target(make_target) as target:
        root = mount(target)
        file = create_file(target, root, b"changed", b"c")
        later = make_directory(target, root, b"later")
        witness = create_file(target, root, b"witness", b"w")  # written last: the latest
        latest = nanoseconds(_attributes(target, witness.handle).ctime)
        changed: list[tuple[str, fattr3 | None]]
        if change == "write":
            written = call(target, WRITE, WRITE3args(file.handle, 0, 1, UNSTABLE, b"w"))
            if written.resok is None:
                setup_failed("WRITE", f"WRITE answered {status_name(written.status)}")
            changed = [("file", written.resok.file_wcc.after.attributes)]
        elif change == "truncate":
            args = SETATTR3args(file.handle, sattr(size=0), sattrguard3(False))
            truncated = call(target, SETATTR, args)
            if truncated.resok is None:
                setup_failed("SETATTR", f"SETATTR size 0 answered {status_name(truncated.status)}")
            changed = [("file", truncated.resok.obj_wcc.after.attributes)]
        else:
            destination = later if change == "rename across" else root
            where = (diropargs3(root, b"changed"), diropargs3(destination, b"new name"))
            renamed = call(target, RENAME, RENAME3args(*where))
            if renamed.resok is None:
                setup_failed("RENAME", f"RENAME answered {status_name(renamed.status)}")
            changed = [
                ("from directory", renamed.resok.fromdir_wcc.after.attributes),
                ("to directory", renamed.resok.todir_wcc.after.attributes),
            ]
        for name, after in changed:
            late = [
                f"{time} {shown(nanoseconds(getattr(after, time)))}"
                for time in ("mtime", "ctime")
                if after is not None and nanoseconds(getattr(after, time)) < latest
            ]
            if late:
                findings.current().fail(
                    rules.CHANGE_TIME,
                    f"{change.upper()} changed the {name} and left its {' and '.join(late)}, "
                    f"earlier than the ctime {shown(latest)} the server showed before",
                )


LISTING_COUNT = 32768  # READDIRPLUS maxcount: the export holds one file


def unstable_listing(make_target: TargetFactory, offset: int, length: int) -> None:
    """List a file's directory after an UNSTABLE write to it (see the module rules)."""
    with fresh_target(make_target) as target:
        root = mount(target)
        file = create_file(target, root, b"unstable", b"")
        args = WRITE3args(file.handle, offset, length, UNSTABLE, _pattern(offset, length))
        written = call(target, WRITE, args)
        after = None if written.resok is None else written.resok.file_wcc.after.attributes
        if after is None:
            setup_failed("WRITE", f"WRITE UNSTABLE answered {status_name(written.status)}")
        listing = READDIRPLUS3args(root, 0, bytes(8), LISTING_COUNT, LISTING_COUNT)
        listed = call(target, READDIRPLUS, listing)
        if listed.resok is None:
            setup_failed("READDIRPLUS", f"READDIRPLUS answered {status_name(listed.status)}")
        for entry in listed.resok.reply.entries:
            shown_there = entry.name_attributes.attributes
            if entry.name != b"unstable" or shown_there is None:
                continue
            said = f"READDIRPLUS after WRITE UNSTABLE [{offset}, +{length}) (not committed)"
            if shown_there.size != after.size:
                findings.current().fail(
                    rules.SIZE,
                    f"{said}: the entry shows size {shown_there.size}, WRITE showed {after.size}",
                )
            times = [(getattr(shown_there, t), getattr(after, t), t) for t in ("mtime", "ctime")]
            for listed_time, written_time, name in times:
                if listed_time != written_time:
                    findings.current().fail(
                        rules.ATTR_STEADY,
                        f"{said}: the entry shows {name} {shown(nanoseconds(listed_time))}, "
                        f"WRITE showed {shown(nanoseconds(written_time))}, and nothing changed "
                        "the file since",
                    )


TimeFields = Literal["mtime", "atime", "both"]


def set_times(make_target: TargetFactory, seconds: int, nseconds: int, fields: TimeFields) -> None:
    """Set a file's `fields` to a client's time, then to the server's (see the module rules)."""
    with fresh_target(make_target) as target:
        if not target.features.sets_times:
            findings.current().unsupported(OPTIONAL["sets_times"], "SETATTR of times refused")
            return
        handle = create_file(target, mount(target), b"timed", b"t").handle
        grain = target.features.time_delta_ns or 1_000_000_000
        sent = nfstime3(seconds, nseconds)
        _set_times(target, handle, fields, time_how.SET_TO_CLIENT_TIME, sent)
        after = _attributes(target, handle)
        recorder = findings.current()
        for name in _names(fields):
            got = nanoseconds(getattr(after, name))
            if abs(got - nanoseconds(sent)) >= grain:
                recorder.fail(
                    rules.TIMES_SET,
                    f"SETATTR {name} SET_TO_CLIENT_TIME {shown(nanoseconds(sent))}, then GETATTR "
                    f"showed {shown(got)} (time_delta: {grain} ns)",
                )
                return
        mark = nanoseconds(after.ctime)
        _set_times(target, handle, fields, time_how.SET_TO_SERVER_TIME)
        later = _attributes(target, handle)
        for name in (*_names(fields), "ctime"):
            got = nanoseconds(getattr(later, name))
            if got < mark:
                recorder.fail(
                    rules.TIMES_SET,
                    f"SETATTR {fields} SET_TO_SERVER_TIME after a change at {shown(mark)}, then "
                    f"GETATTR showed {name} {shown(got)}",
                )
                return


def _names(fields: TimeFields) -> tuple[str, ...]:
    return ("mtime", "atime") if fields == "both" else (fields,)


def _set_times(
    target: Target, handle: nfs_fh3, fields: TimeFields, how: time_how, when: nfstime3 | None = None
) -> None:
    unset = sattr()
    names = _names(fields)
    setting = unset._replace(
        atime=set_atime(how, when) if "atime" in names else unset.atime,
        mtime=set_mtime(how, when) if "mtime" in names else unset.mtime,
    )
    reply = call(target, SETATTR, SETATTR3args(handle, setting, sattrguard3(False)))
    if reply.status != NFS3_OK:
        setup_failed("SETATTR", f"SETATTR {fields} {how.name} answered {status_name(reply.status)}")


def committed_range(make_target: TargetFactory, before: int, gap: int, length: int) -> None:
    """Write, COMMIT a range and crash (see the module rules); nothing is checked when a
    restart in between changed the write verifier."""
    with fresh_target(make_target) as target:
        _committed_range(target, before, gap, length)


def _committed_range(target: Target, before: int, gap: int, length: int) -> None:
    handle = create_file(target, mount(target), b"committed", b"").handle
    start = before + gap
    data = _pattern(start, length)
    verifiers = set()
    for offset, chunk in ((0, b"f" * before), (start, data)):
        if chunk:
            written = call(target, WRITE, WRITE3args(handle, offset, len(chunk), UNSTABLE, chunk))
            if written.resok is None:
                setup_failed("WRITE", f"WRITE answered {status_name(written.status)}")
            verifiers.add(written.resok.verf)
    committed = call(target, COMMIT, COMMIT3args(handle, start, length))
    if committed.resok is None:
        setup_failed("COMMIT", f"COMMIT answered {status_name(committed.status)}")
    verifiers.add(committed.resok.verf)
    if len(verifiers) == 1:
        what = f"COMMIT of [{start}, +{length}) (after {before} bytes UNSTABLE at 0)"
        _survives_a_crash(target, handle, start, data, what)


def synced_write(make_target: TargetFactory, offset: int, length: int) -> None:
    """WRITE `length` bytes at `offset` of an empty file with DATA_SYNC and crash (see the
    module rules)."""
    with fresh_target(make_target) as target:
        handle = create_file(target, mount(target), b"synced", b"").handle
        data = _pattern(offset, length)
        written = call(target, WRITE, WRITE3args(handle, offset, length, DATA_SYNC, data))
        if written.resok is None:
            setup_failed("WRITE", f"WRITE answered {status_name(written.status)}")
        what = f"WRITE DATA_SYNC of [{offset}, +{length}) answered {written.resok.committed.name}"
        if written.resok.committed < DATA_SYNC:
            findings.current().fail(rules.WRITE_COMMITTED, what)
        elif written.resok.count == length:
            _survives_a_crash(target, handle, offset, data, what)


def _pattern(offset: int, length: int) -> bytes:
    """Bytes that tell where they belong, never a zero (a hole reads zeros)."""
    return bytes(1 + (offset + index) % 251 for index in range(length))


def _survives_a_crash(target: Target, handle: nfs_fh3, start: int, data: bytes, what: str) -> None:
    """Crash and restart the server: READ at `start` must still give `data`."""
    target.crash_and_restart()
    what += ", then a crash"
    read = call(target, READ, READ3args(handle, start, len(data)))
    recorder = findings.current()
    if read.resok is None:
        recorder.fail(rules.HANDLES_SURVIVE, f"{what}: READ answered {status_name(read.status)}")
    elif read.resok.data != data:
        got = read.resok.data
        recorder.fail(
            rules.DURABLE,
            f"{what}: READ gave {len(got)} bytes, {_first_difference(got, data)}",
        )


def _first_difference(got: bytes, wanted: bytes) -> str:
    for index, (byte, expected) in enumerate(zip(got, wanted, strict=False)):
        if byte != expected:
            return f"byte {index} of the range is {byte:#04x}, not {expected:#04x}"
    return f"not the {len(wanted)} committed"
