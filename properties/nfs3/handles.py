"""Handle scenarios: a removed file's inode reused, handles forged from valid ones, and a
non-directory's handle where a directory's belongs.

Rules:
- Staleness: a file is written, its handle kept, and the file removed (or replaced by a
  RENAME over it); then new files are created and written until one gets the old fileid
  (the inode reused) or REUSE_ATTEMPTS creates have failed to. The old handle must then
  answer GETATTR and READ with NFS3ERR_STALE; before reuse it may still answer as the
  removed file (nlink 0, its old data), which is a WARN. Answering with the new file's
  attributes or data is always a FAIL.
- Forged handles: a valid handle with one bit flipped, one byte set to any value, a
  span of another object's handle spliced in at any position (what an attacker holding
  valid handles crafts: another object's fields with this one's tag), cut short,
  extended, or replaced by random bytes (never longer than NFS3_FHSIZE, never equal to
  either handle) must get NFS3ERR_BADHANDLE or NFS3ERR_STALE from GETATTR, READ and
  LOOKUP, never NFS3_OK. One that reaches another object is a FAIL anywhere (its own rule,
  FORGED-OTHER-OBJECT, so a baseline that knows FORGED-HANDLE for a server's other
  answers to damaged handles does not cover it); one taken as
  the undamaged handle (the server ignores some of its bits) is a FAIL in strict mode
  (`strict`: our own server, whose handles carry a MAC) and a WARN elsewhere.
- Another server's handles: the export root's or a file's handle of another instance of
  the reference server (a simulated one on its own volume, with its own secret; it made a
  file where the target makes one too, so inode numbers coincide) must get
  NFS3ERR_BADHANDLE or NFS3ERR_STALE from GETATTR, READ and LOOKUP on the target: they
  name nothing there, so any NFS3_OK reaches an object they were never a handle of, a
  FAIL anywhere (FORGED-OTHER-OBJECT; another error is FORGED-HANDLE).
- Another export's handles (the simulation only: it needs the server's secret): the
  handle a second export of the same server would give its object of the same inode
  number and generation (the server's secret, another volume id) names nothing in this
  export and must be refused the same way: a server that checks a handle's MAC but not
  its export would take it for its own object.
- Not a directory: LOOKUP, READDIR, CREATE, MKDIR, REMOVE and RMDIR given a regular
  file's or a symbolic link's handle as the directory, and RMDIR of its name, must answer
  NFS3ERR_NOTDIR (every one of them lists it). The symlink points at a directory holding
  the names used, so a server that follows it (acting in that directory) shows it.
- Every call goes through `call()` (`target.run(...)`, counted as a step); a scenario
  returns what it saw. A FAIL is a finding (properties/harness/findings.py: raised
  unless the world's baseline knows it, then the scenario ends there); a WARN is
  recorded. A call the scenario is built from that does not succeed is a ModelMismatch
  under that operation's "-REFUSED" rule: the scenario cannot go on, whatever the
  baseline says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, NoReturn, TypeVar

from hypothesis import strategies as st

from faults.sim import NoFaults
from properties.harness import findings
from properties.nfs3 import rules
from properties.nfs3.model import ModelMismatch
from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import (
    CREATE,
    GETATTR,
    LOOKUP,
    MKDIR,
    READ,
    READDIR,
    REMOVE,
    RENAME,
    RMDIR,
    SYMLINK,
    WRITE,
    sattr,
)
from properties.worlds.sim import SimTarget
from properties.worlds.target import SimulatedOnly, Target, TargetFactory
from reference.nfs.handles import HandleCodec
from reference.rpc.errors import RpcDenied
from reference.rpc.stubs import Procedure
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    FILE_SYNC,
    GUARDED,
    NFS3_FHSIZE,
    NFS3_OK,
    NFS3ERR_BADHANDLE,
    NFS3ERR_NOTDIR,
    NFS3ERR_STALE,
    CREATE3args,
    GETATTR3args,
    LOOKUP3args,
    MKDIR3args,
    READ3args,
    READDIR3args,
    REMOVE3args,
    RENAME3args,
    RMDIR3args,
    SYMLINK3args,
    WRITE3args,
    createhow3,
    diropargs3,
    nfs_fh3,
    nfsstat3,
    symlinkdata3,
)

A = TypeVar("A")
R = TypeVar("R")

REUSE_ATTEMPTS = 64
REFUSED = frozenset((NFS3ERR_BADHANDLE, NFS3ERR_STALE))
OLD_DATA = b"old file data: must never be read through another file's handle"
NEW_DATA = b"NEW FILE DATA, different from the old"


@dataclass(frozen=True)
class File:
    handle: nfs_fh3
    fileid: int


@contextmanager
def fresh_target(make_target: TargetFactory) -> Iterator[Target]:
    """A new target of `make_target` without faults, closed after the scenario."""
    target = make_target(NoFaults())
    findings.current().trail.clear()  # a new example: its FAILs show its own calls
    try:
        yield target
    finally:
        target.close()


def call(target: Target, procedure: Procedure[A, R], args: A) -> R:
    """One NFSv3 call, counted as a step against the target."""
    findings.current().step(procedure.name.removeprefix("NFSPROC3_"))
    return target.run(target.caller.call(procedure, args))


def mount(target: Target) -> nfs_fh3:
    findings.current().step("MNT")
    reply = target.run(MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export))
    if reply.fhs_status != MNT3_OK or reply.mountinfo is None:
        raise ModelMismatch(rules.MNT, f"MNT {target.export!r} answered {reply.fhs_status.name}")
    return nfs_fh3(reply.mountinfo.fhandle)


def create_file(target: Target, directory: nfs_fh3, name: bytes, data: bytes) -> File:
    """A new file holding `data` (FILE_SYNC), with its handle and fileid."""
    where = diropargs3(directory, name)
    mode = 0o644 if target.features.stores_mode else None  # some servers refuse modes
    created = call(target, CREATE, CREATE3args(where, createhow3(GUARDED, sattr(mode))))
    if created.status != NFS3_OK or created.resok is None:
        setup_failed("CREATE", f"CREATE {name!r} answered {status_name(created.status)}")
    handle = created.resok.obj.handle
    if handle is None:
        looked_up = call(target, LOOKUP, LOOKUP3args(where))
        if looked_up.resok is None:
            setup_failed("LOOKUP", f"LOOKUP {name!r} answered {status_name(looked_up.status)}")
        handle = looked_up.resok.object
    write = WRITE3args(handle, 0, len(data), FILE_SYNC, data)
    written = call(target, WRITE, write)
    if written.status != NFS3_OK:
        setup_failed("WRITE", f"WRITE to {name!r} answered {status_name(written.status)}")
    attributes = call(target, GETATTR, GETATTR3args(handle))
    if attributes.resok is None:
        setup_failed("GETATTR", f"GETATTR of {name!r} answered {status_name(attributes.status)}")
    return File(handle, attributes.resok.obj_attributes.fileid)


def make_directory(target: Target, directory: nfs_fh3, name: bytes) -> nfs_fh3:
    """A new directory's handle."""
    made = call(target, MKDIR, MKDIR3args(diropargs3(directory, name), sattr()))
    if made.resok is None:
        setup_failed("MKDIR", f"MKDIR {name!r} answered {status_name(made.status)}")
    return made.resok.obj.handle or _looked_up(target, directory, name)


def make_symlink(target: Target, directory: nfs_fh3, name: bytes, link_target: bytes) -> nfs_fh3:
    """A new symbolic link's handle."""
    where = diropargs3(directory, name)
    made = call(target, SYMLINK, SYMLINK3args(where, symlinkdata3(sattr(), link_target)))
    if made.status != NFS3_OK:
        setup_failed("SYMLINK", f"SYMLINK {name!r} answered {status_name(made.status)}")
    return _looked_up(target, directory, name)


def _looked_up(target: Target, directory: nfs_fh3, name: bytes) -> nfs_fh3:
    looked_up = call(target, LOOKUP, LOOKUP3args(diropargs3(directory, name)))
    if looked_up.resok is None:
        setup_failed("LOOKUP", f"LOOKUP {name!r} answered {status_name(looked_up.status)}")
    return looked_up.resok.object


def setup_failed(operation: str, message: str) -> NoReturn:
    raise ModelMismatch(rules.refused(operation), f"{message} (a step the scenario needs)")


# -- staleness --

Removal = Literal["remove", "rename over"]


@dataclass
class StalenessRun:
    reused: bool  # a new file got the removed file's fileid
    creates: int  # files created after the removal
    getattr_status: int
    read_status: int
    warnings: list[str]


def reuse_inode(target: Target, extra_files: int, removal: Removal) -> StalenessRun:
    root = mount(target)
    for number in range(extra_files):
        create_file(target, root, b"extra%d" % number, b"x" * number)
    old = create_file(target, root, b"old", OLD_DATA)
    _unlink(target, root, removal)
    creates = 0
    reused = False
    while creates < REUSE_ATTEMPTS and not reused:
        new = create_file(target, root, b"new%d" % creates, NEW_DATA)
        creates += 1
        reused = new.fileid == old.fileid
    seen: list[str] = []
    recorder = findings.current()
    getattr_reply = call(target, GETATTR, GETATTR3args(old.handle))
    if getattr_reply.status == NFS3_OK:
        assert getattr_reply.resok is not None
        answered = getattr_reply.resok.obj_attributes
        if reused or answered.fileid != old.fileid or answered.nlink != 0:
            recorder.fail(
                rules.STALE_REUSED,
                f"GETATTR of the removed file's handle answered NFS3_OK with "
                f"fileid {answered.fileid}, nlink {answered.nlink} (old fileid {old.fileid}, "
                f"inode reused: {reused})",
            )
        else:
            seen.append("the removed file's handle still answers GETATTR (inode not reused)")
    elif getattr_reply.status != NFS3ERR_STALE:
        recorder.fail(
            rules.STALE,
            f"GETATTR of the removed file's handle answered "
            f"{status_name(getattr_reply.status)}, not NFS3ERR_STALE",
        )
    read = READ3args(old.handle, 0, len(OLD_DATA) + len(NEW_DATA))
    read_reply = call(target, READ, read)
    if read_reply.status == NFS3_OK:
        assert read_reply.resok is not None
        if reused or read_reply.resok.data != OLD_DATA:
            recorder.fail(
                rules.STALE_REUSED,
                f"READ of the removed file's handle answered "
                f"{read_reply.resok.data!r} (inode reused: {reused})",
            )
        else:
            seen.append("the removed file's handle still reads its old data (inode not reused)")
    elif read_reply.status != NFS3ERR_STALE:
        recorder.fail(
            rules.STALE,
            f"READ of the removed file's handle answered "
            f"{status_name(read_reply.status)}, not NFS3ERR_STALE",
        )
    for line in seen:
        recorder.warn(rules.STALE, line)
    return StalenessRun(reused, creates, getattr_reply.status, read_reply.status, seen)


def _unlink(target: Target, root: nfs_fh3, removal: Removal) -> None:
    if removal == "remove":
        reply = call(target, REMOVE, REMOVE3args(diropargs3(root, b"old"))).status
    else:
        create_file(target, root, b"replacement", b"")
        args = RENAME3args(diropargs3(root, b"replacement"), diropargs3(root, b"old"))
        reply = call(target, RENAME, args).status
    if reply != NFS3_OK:
        operation = "REMOVE" if removal == "remove" else "RENAME"
        setup_failed(operation, f"{removal} of the old file answered {status_name(reply)}")


# -- forged handles --


@dataclass(frozen=True)
class Forgery:
    """How a valid handle is damaged."""

    kind: Literal["flip", "byte", "splice", "truncate", "extend", "random"]
    position: int = 0  # flip: the bit; byte, splice: the first byte; truncate: the length
    extra: bytes = b""  # byte: its new value; extend: appended bytes; random: the handle
    span: int = 0  # splice: how many bytes of the other handle

    def apply(self, handle: bytes, other: bytes) -> bytes:
        """`handle` damaged; `other` is another object's handle, what a splice takes in."""
        if self.kind == "flip":
            bit = self.position % (8 * len(handle))
            damaged = bytearray(handle)
            damaged[bit // 8] ^= 0x80 >> (bit % 8)
            return bytes(damaged)
        if self.kind == "byte":
            at = self.position % len(handle)
            return handle[:at] + self.extra + handle[at + 1 :]
        if self.kind == "splice":
            at = self.position % len(handle)
            return (handle[:at] + other[at : at + self.span] + handle[at + self.span :])[
                : len(handle)
            ]
        if self.kind == "truncate":
            return handle[: self.position % len(handle)]
        if self.kind == "extend":
            return (handle + self.extra)[:NFS3_FHSIZE]
        return self.extra


forgeries = st.one_of(
    st.builds(Forgery, st.just("flip"), st.integers(0, 8 * NFS3_FHSIZE - 1)),
    st.builds(
        Forgery, st.just("byte"), st.integers(0, NFS3_FHSIZE - 1), st.binary(min_size=1, max_size=1)
    ),
    st.builds(
        Forgery,
        st.just("splice"),
        st.integers(0, NFS3_FHSIZE - 1),
        span=st.integers(1, NFS3_FHSIZE),
    ),
    st.builds(Forgery, st.just("truncate"), st.integers(0, NFS3_FHSIZE - 1)),
    st.builds(Forgery, st.just("extend"), extra=st.binary(min_size=1, max_size=NFS3_FHSIZE)),
    st.builds(Forgery, st.just("random"), extra=st.binary(max_size=NFS3_FHSIZE)),
)


@dataclass
class ForgeryRun:
    forged: bytes
    statuses: dict[str, nfsstat3]  # procedure -> status


def names_the_same_object(target: Target, original: bytes, forged: bytes) -> bool:
    """Whether two handles get the same fsid and fileid from GETATTR."""
    identities = []
    for handle in (original, forged):
        reply = call(target, GETATTR, GETATTR3args(nfs_fh3(handle)))
        if reply.resok is None:
            return False
        attributes = reply.resok.obj_attributes
        identities.append((attributes.fsid, attributes.fileid))
    return identities[0] == identities[1]


def forged_handle(
    make_target: TargetFactory, forgery: Forgery, of_root: bool, strict: bool = True
) -> None:
    """`forge` on a fresh target of `make_target`."""
    with fresh_target(make_target) as target:
        forge(target, forgery, of_root, strict)


def forge(target: Target, forgery: Forgery, of_root: bool, strict: bool) -> ForgeryRun | None:
    """Damage the root's or a file's handle (a splice takes in the other's) and call with
    it; None if the damage left the handle as it was or made the other one."""
    root = mount(target)
    file = create_file(target, root, b"file", OLD_DATA)
    original, other = (root.data, file.handle.data) if of_root else (file.handle.data, root.data)
    forged = forgery.apply(original, other)
    if forged in (original, other):
        return None
    handle = nfs_fh3(forged)
    try:
        statuses = {
            "GETATTR": call(target, GETATTR, GETATTR3args(handle)).status,
            "READ": call(target, READ, READ3args(handle, 0, 4096)).status,
            "LOOKUP": call(target, LOOKUP, LOOKUP3args(diropargs3(handle, b"file"))).status,
        }
    except RpcDenied as denied:
        findings.current().warn(
            rules.FORGED_RPC,
            f"a damaged handle ({forgery.kind}) was refused at the RPC layer ({denied}), not "
            "with NFS3ERR_BADHANDLE or NFS3ERR_STALE: refused, but a client cannot tell it "
            "from a credential problem",
        )
        return ForgeryRun(forged, {})
    accepted = [procedure for procedure, status in statuses.items() if status not in REFUSED]
    if accepted and names_the_same_object(target, original, forged):
        said = (
            f"a damaged handle {forged.hex()} ({forgery.kind} of {original.hex()}) still names "
            f"the same object ({', '.join(accepted)} answered NFS3_OK): the server ignores "
            "some bits of its handles"
        )
        if strict:
            findings.current().fail(rules.FORGED_SAME, said)
        else:
            findings.current().warn(rules.FORGED_SAME, f"{said}; it never reached another object")
        return ForgeryRun(forged, statuses)
    for procedure, status in statuses.items():
        if status not in REFUSED:
            findings.current().fail(
                rules.FORGED_OTHER if status == NFS3_OK else rules.FORGED,
                f"forged handle {forged.hex()} ({forgery.kind} of the "
                f"{'root' if of_root else 'file'} handle {original.hex()}): {procedure} "
                f"answered {status_name(status)}, not NFS3ERR_BADHANDLE or NFS3ERR_STALE",
            )
            break
    return ForgeryRun(forged, statuses)


ForeignObject = Literal["root", "file"]
OTHER_INSTANCE = 7  # the seed of another reference server (its own volume and secret)
OTHER_VOLUME = 0x5A5A  # what tells another export's volume id from the target's


def foreign_handle(make_target: TargetFactory, which: ForeignObject) -> None:
    """Call a fresh target of `make_target` with a handle another instance of the reference
    server made (see the module rules)."""
    other = SimTarget(NoFaults(), seed=OTHER_INSTANCE)
    try:
        handle = mount(other)
        if which == "file":
            handle = create_file(other, handle, b"file", OLD_DATA).handle
    finally:
        other.close()
    with fresh_target(make_target) as target:
        create_file(target, mount(target), b"file", OLD_DATA)
        _names_nothing(target, handle, f"the {which} handle of another server instance")


def other_export_handle(make_target: TargetFactory, which: ForeignObject) -> None:
    """Call a fresh simulated target with the handle another export of its server would
    give the object it names as its root or a file (see the module rules)."""
    with fresh_target(make_target) as target:
        if not isinstance(target, SimTarget):
            raise SimulatedOnly(f"{target.name}: another export's handles need its secret")
        root = mount(target)
        own = root if which == "root" else create_file(target, root, b"file", OLD_DATA).handle
        store = target.server.store
        named = HandleCodec(store.secret, store.volume_id).decode(own.data)
        other_export = HandleCodec(store.secret, store.volume_id ^ OTHER_VOLUME)
        handle = nfs_fh3(other_export.encode(named.ino, named.generation))
        _names_nothing(target, handle, f"the {which} handle of another export")


def _names_nothing(target: Target, handle: nfs_fh3, what: str) -> None:
    """GETATTR, READ and LOOKUP with `handle`, which names nothing on `target`, must be
    refused with BADHANDLE or STALE; NFS3_OK reached an object (FORGED-OTHER-OBJECT)."""
    statuses = {
        "GETATTR": call(target, GETATTR, GETATTR3args(handle)).status,
        "READ": call(target, READ, READ3args(handle, 0, 4096)).status,
        "LOOKUP": call(target, LOOKUP, LOOKUP3args(diropargs3(handle, b"file"))).status,
    }
    for procedure, status in statuses.items():
        if status not in REFUSED:
            findings.current().fail(
                rules.FORGED_OTHER if status == NFS3_OK else rules.FORGED,
                f"{what} ({handle.data.hex()}): {procedure} answered {status_name(status)}, "
                "not NFS3ERR_BADHANDLE or NFS3ERR_STALE (it names nothing on this server)",
            )


# -- not a directory --

NonDirectory = Literal["file", "symlink"]
# Each directory operation given the non-directory: its handle as the directory, with the
# names the directory the symlink points at holds (a file "x", a directory "y") or a new
# one; and RMDIR of the non-directory's own name (`entry`).
DIRECTORY_CALLS: dict[str, Callable[[Target, nfs_fh3, diropargs3], nfsstat3]] = {
    "LOOKUP": lambda t, h, entry: call(t, LOOKUP, LOOKUP3args(diropargs3(h, b"x"))).status,
    "READDIR": lambda t, h, entry: call(t, READDIR, READDIR3args(h, 0, bytes(8), 4096)).status,
    "CREATE": lambda t, h, entry: (
        call(t, CREATE, CREATE3args(diropargs3(h, b"new"), createhow3(GUARDED, sattr()))).status
    ),
    "MKDIR": lambda t, h, entry: call(t, MKDIR, MKDIR3args(diropargs3(h, b"new"), sattr())).status,
    "REMOVE": lambda t, h, entry: call(t, REMOVE, REMOVE3args(diropargs3(h, b"x"))).status,
    "RMDIR": lambda t, h, entry: call(t, RMDIR, RMDIR3args(diropargs3(h, b"y"))).status,
    "RMDIR-ITS-NAME": lambda t, h, entry: call(t, RMDIR, RMDIR3args(entry)).status,
}


def not_a_directory(target: Target, kind: NonDirectory, operation: str) -> None:
    """`operation` with a `kind`'s handle as its directory must answer NFS3ERR_NOTDIR."""
    root = mount(target)
    directory = make_directory(target, root, b"d")
    create_file(target, directory, b"x", b"")
    make_directory(target, directory, b"y")
    name = b"f" if kind == "file" else b"s"
    if kind == "file":
        handle = create_file(target, root, name, b"").handle
    else:
        handle = make_symlink(target, root, name, b"d")
    status = DIRECTORY_CALLS[operation](target, handle, diropargs3(root, name))
    if status != NFS3ERR_NOTDIR:
        described = "a regular file" if kind == "file" else "a symlink to directory d"
        findings.current().fail(
            rules.NOTDIR,
            f"{operation} in {described}: expected NFS3ERR_NOTDIR, got {status_name(status)}",
        )
