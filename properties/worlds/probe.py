"""What a server supports of the parts of NFSv3 that RFC 1813 leaves optional, probed once
per server, so that properties generate only what it supports and say what they left out.

Rules:
- `probe(target)` makes a scratch directory (PROBE_DIR) in the export, tries each
  optional feature there once, and removes what it made: the export is left as it was
  (a scratch directory it cannot remove is a ProbeError). Each try is one call whose
  answer decides: NFS3_OK is supported; NFS3ERR_NOTSUPP (or another refusal), or an
  answer at the RPC level (PROC_UNAVAIL, GARBAGE_ARGS, a reply that does not decode) is
  unsupported, and the answer is kept to say why. UDP is a NULL call to the NFS port.
  NFSv2 is a NULL call to NFS version 2 and to MOUNT version 1 (what a v2 client mounts
  by), each bounded; where both answer, MOUNT v1 MNT of the export must give a 32-byte
  handle and NFSv2 GETATTR of it NFS_OK, replies that decode (a server that answers
  every version's NULL and then v3 replies to v2 calls serves no NFSv2). A target with a
  scratch directory has none either: MOUNT v1 cannot be confined to it.
- What a server stores is read back: a mode given at CREATE (a CREATE refused because of
  its mode is tried again without one: modes unsupported), an owner given by SETATTR.
  What it says of itself is taken as said: FSINFO's time_delta, PATHCONF's name_max, and
  the smallest READDIR count (of READDIR_COUNTS) not answered NFS3ERR_TOOSMALL.
- FEATURES is the one list of the optional features: each with the RFC 1813 section
  and the words that make it optional, which properties/nfs3/optional.py reports as
  UNSUPPORTED findings.
- Our own reference server supports everything (REFERENCE, declared for the simulation;
  the socket worlds probe even our own server, which keeps the probe honest).
- Every call goes through the target's callers, so it is bounded like every other call.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from properties.nfs3.model.verdict import status_name
from properties.nfs3.wire import sattr
from properties.peers.rpcping import null_call
from properties.worlds.scratch import ScratchMount
from properties.worlds.target import Target
from reference.rpc.errors import RpcError
from reference.xdr import XdrError
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import (
    MNT3_OK,
    MOUNT_PROGRAM,
    MOUNT_V1,
    MOUNT_V1_Client,
    MOUNT_V3_Client,
)
from reference.xdr.gen.nfs2 import NFS_VERSION, NFS_VERSION_Client, stat
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_TOOSMALL, NFS_PROGRAM, NFS_V3, NFS_V3_Client

PROBE_DIR = b".nfsprop-probe"
PROBE_MODE = 0o640
PROBE_OWNER = (4242, 4343)
PROBE_TIME = 1_000_000_000  # seconds: the mtime SETATTR sets
READDIR_COUNTS = (64, 128, 256, 512, 1024, 4096, 8192)
UDP_TIMEOUT = 1.0


@dataclass(frozen=True)
class Feature:
    name: str  # a Features field
    title: str
    rfc: str  # the section that makes it optional, and its words
    words: str


FEATURES = (
    Feature("udp", "NFS over UDP", "RFC 1813 §1", "NFS is transport-independent"),
    Feature(
        "nfs2",
        "NFSv2 and MOUNT v1",
        "RFC 5531 §9",
        "PROG_MISMATCH: a server answers it for a version it does not serve",
    ),
    Feature(
        "exclusive_create",
        "CREATE EXCLUSIVE",
        "RFC 1813 §3.3.8",
        "NFS3ERR_NOTSUPP is among CREATE's errors",
    ),
    Feature("link", "LINK", "RFC 1813 §3.3.15", "NFS3ERR_NOTSUPP: hard links not supported"),
    Feature(
        "symlink", "SYMLINK", "RFC 1813 §3.3.10", "NFS3ERR_NOTSUPP: symbolic links not supported"
    ),
    Feature("mknod", "MKNOD", "RFC 1813 §3.3.11", "NFS3ERR_NOTSUPP: the type is not supported"),
    Feature(
        "stores_mode",
        "modes stored",
        "RFC 1813 §3.3.2",
        "a server may not support all attributes the client sets",
    ),
    Feature(
        "stores_owner",
        "owners stored",
        "RFC 1813 §3.3.2",
        "a server may not support all attributes the client sets",
    ),
    Feature(
        "sets_times",
        "times set by SETATTR",
        "RFC 1813 §3.3.2",
        "a server may not support all attributes the client sets",
    ),
)


@dataclass(frozen=True)
class Features:
    udp: bool
    nfs2: bool
    exclusive_create: bool
    link: bool
    symlink: bool
    mknod: bool
    stores_mode: bool
    stores_owner: bool
    sets_times: bool
    mount_port_shared: bool  # MOUNT answers on the NFS port
    time_delta_ns: int | None  # FSINFO's time granularity
    name_max: int | None  # PATHCONF's longest name
    smallest_readdir_count: int | None  # of READDIR_COUNTS, the smallest not TOOSMALL
    answers: tuple[tuple[str, str], ...] = ()  # feature name -> what the server answered

    def describe(self) -> str:
        shown = [f"{f.name}={'yes' if getattr(self, f.name) else 'no'}" for f in FEATURES]
        shown.append(f"mount_port_shared={'yes' if self.mount_port_shared else 'no'}")
        for name in ("time_delta_ns", "name_max", "smallest_readdir_count"):
            shown.append(f"{name}={getattr(self, name)}")
        return ", ".join(shown)


REFERENCE = Features(
    udp=True,
    nfs2=True,
    exclusive_create=True,
    link=True,
    symlink=True,
    mknod=True,
    stores_mode=True,
    stores_owner=True,
    sets_times=True,
    mount_port_shared=True,
    time_delta_ns=1,
    name_max=255,
    smallest_readdir_count=READDIR_COUNTS[0],
)


class ProbeError(RuntimeError):
    """The export cannot be probed at all (MNT refused, the scratch directory not made)."""


def probe(target: Target, host: str, port: int, mount_port: int) -> Features:
    """The features of the server at `host`:`port` behind `target` (see the module rules)."""
    udp = null_call((host, port), NFS_PROGRAM, NFS_V3, transport="udp", timeout=UDP_TIMEOUT)
    nfs2 = null_call((host, port), NFS_PROGRAM, NFS_VERSION, timeout=UDP_TIMEOUT)
    mount1 = null_call((host, mount_port), MOUNT_PROGRAM, MOUNT_V1, timeout=UDP_TIMEOUT)
    tried = target.run(_try_features(target))
    answers = dict(tried.answers)
    if not udp:
        answers["udp"] = "no answer to NULL over UDP"
    if not (nfs2 and mount1):
        answers["nfs2"] = f"NULL of NFS v2 {_yes(nfs2)}, of MOUNT v1 {_yes(mount1)}"
    else:
        refused = target.run(_refuses_nfs2(target))
        nfs2 = refused is None
        if refused is not None:
            answers["nfs2"] = refused
    found = tried.supported
    return Features(
        udp=udp,
        nfs2=nfs2 and mount1,
        exclusive_create=found["exclusive_create"],
        link=found["link"],
        symlink=found["symlink"],
        mknod=found["mknod"],
        stores_mode=found["stores_mode"],
        stores_owner=found["stores_owner"],
        sets_times=found["sets_times"],
        mount_port_shared=mount_port == port,
        time_delta_ns=tried.time_delta_ns,
        name_max=tried.name_max,
        smallest_readdir_count=tried.smallest_readdir_count,
        answers=tuple(sorted(answers.items())),
    )


async def _refuses_nfs2(target: Target) -> str | None:
    """What a server that answered NULL of NFS v2 and MOUNT v1 answered when used: None if
    MNT and GETATTR worked."""
    if isinstance(target.mount_caller, ScratchMount):
        return "not inside --scratch-dir: MOUNT v1 would give the export's real root"
    try:
        mounted = await MOUNT_V1_Client(target.mount_caller).MOUNTPROC_MNT(target.export)
        handle = mounted.fhs_fhandle
        if mounted.fhs_status != 0 or handle is None:
            return f"MOUNT v1 MNT {target.export!r} answered status {mounted.fhs_status}"
        got = await NFS_VERSION_Client(target.caller).NFSPROC_GETATTR(handle)
    except (RpcError, XdrError) as error:
        return str(error).splitlines()[0]
    return None if got.status == stat.NFS_OK else f"NFSv2 GETATTR answered {got.status.name}"


@dataclass(frozen=True)
class _Tried:
    supported: dict[str, bool]
    answers: dict[str, str]
    time_delta_ns: int | None
    name_max: int | None
    smallest_readdir_count: int | None


async def _try_features(target: Target) -> _Tried:
    nfs = NFS_V3_Client(target.caller)
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    if mounted.fhs_status != MNT3_OK or mounted.mountinfo is None:
        raise ProbeError(f"{target.name}: MNT {target.export!r} answered {mounted.fhs_status.name}")
    root = nfs3.nfs_fh3(mounted.mountinfo.fhandle)
    made = await nfs.NFSPROC3_MKDIR(nfs3.MKDIR3args(nfs3.diropargs3(root, PROBE_DIR), sattr()))
    if made.status != NFS3_OK or made.resok is None or made.resok.obj.handle is None:
        raise ProbeError(f"{target.name}: MKDIR {PROBE_DIR!r}: {status_name(made.status)}")
    scratch = made.resok.obj.handle
    answers: dict[str, str] = {}
    supported: dict[str, bool] = {}

    async def attempt(name: str, call: Awaitable[HasStatus]) -> None:
        try:
            status = (await call).status
        except (RpcError, XdrError) as error:
            answers[name] = str(error).splitlines()[0]
            supported[name] = False
            return
        supported[name] = status == NFS3_OK
        if status != NFS3_OK:
            answers[name] = status_name(status)

    def where(name: bytes) -> nfs3.diropargs3:
        return nfs3.diropargs3(scratch, name)

    exclusive = nfs3.createhow3(nfs3.EXCLUSIVE, verf=b"nfsprop!")
    await attempt("exclusive_create", nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where(b"x"), exclusive)))
    moded = nfs3.createhow3(nfs3.UNCHECKED, obj_attributes=sattr(PROBE_MODE))
    created = await nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where(b"f"), moded))
    if created.status != NFS3_OK:  # then without the mode: is it the mode it refuses?
        answers["stores_mode"] = f"CREATE with a mode answered {status_name(created.status)}"
        plain = nfs3.createhow3(nfs3.UNCHECKED, obj_attributes=sattr())
        created = await nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where(b"f"), plain))
    file = created.resok.obj.handle if created.resok is not None else None
    if file is None:
        raise ProbeError(f"{target.name}: CREATE in {PROBE_DIR!r}: {status_name(created.status)}")
    supported["stores_mode"] = (await _attributes(nfs, file)).mode & 0o7777 == PROBE_MODE
    owner = sattr()._replace(
        uid=nfs3.set_uid3(True, PROBE_OWNER[0]),
        gid=nfs3.set_gid3(True, PROBE_OWNER[1]),
    )
    unguarded = nfs3.sattrguard3(False)
    given = await nfs.NFSPROC3_SETATTR(nfs3.SETATTR3args(file, owner, unguarded))
    if given.status != NFS3_OK:  # e.g. NFS3ERR_PERM for a caller who is not root
        answers["stores_owner"] = f"SETATTR of the owner answered {status_name(given.status)}"
    owned = await _attributes(nfs, file)
    supported["stores_owner"] = (owned.uid, owned.gid) == PROBE_OWNER
    for name in ("stores_mode", "stores_owner"):
        if not supported[name]:
            answers.setdefault(name, "not read back as set")
    timed = sattr()._replace(
        mtime=nfs3.set_mtime(nfs3.SET_TO_CLIENT_TIME, nfs3.nfstime3(PROBE_TIME, 0))
    )
    await attempt("sets_times", nfs.NFSPROC3_SETATTR(nfs3.SETATTR3args(file, timed, unguarded)))
    await attempt("link", nfs.NFSPROC3_LINK(nfs3.LINK3args(file, where(b"l"))))
    link_to = nfs3.symlinkdata3(sattr(), b"f")
    await attempt("symlink", nfs.NFSPROC3_SYMLINK(nfs3.SYMLINK3args(where(b"s"), link_to)))
    fifo = nfs3.mknoddata3(nfs3.ftype3.NF3FIFO, pipe_attributes=sattr())
    await attempt("mknod", nfs.NFSPROC3_MKNOD(nfs3.MKNOD3args(where(b"p"), fifo)))
    tried = _Tried(
        supported,
        answers,
        await _time_delta(nfs, root),
        await _name_max(nfs, root),
        await _smallest_readdir_count(nfs, scratch),
    )
    for made_name in (b"x", b"f", b"l", b"s", b"p"):  # what was not made answers NOENT
        await nfs.NFSPROC3_REMOVE(nfs3.REMOVE3args(where(made_name)))
    removed = await nfs.NFSPROC3_RMDIR(nfs3.RMDIR3args(nfs3.diropargs3(root, PROBE_DIR)))
    if removed.status != NFS3_OK:
        raise ProbeError(f"{target.name}: RMDIR {PROBE_DIR!r}: {status_name(removed.status)}")
    return tried


class HasStatus(Protocol):
    @property
    def status(self) -> nfs3.nfsstat3: ...


async def _attributes(nfs: NFS_V3_Client, handle: nfs3.nfs_fh3) -> nfs3.fattr3:
    reply = await nfs.NFSPROC3_GETATTR(nfs3.GETATTR3args(handle))
    if reply.resok is None:
        raise ProbeError(f"GETATTR of a file just made: {status_name(reply.status)}")
    return reply.resok.obj_attributes


async def _time_delta(nfs: NFS_V3_Client, root: nfs3.nfs_fh3) -> int | None:
    reply = await nfs.NFSPROC3_FSINFO(nfs3.FSINFO3args(root))
    if reply.resok is None:
        return None
    delta = reply.resok.time_delta
    return delta.seconds * 1_000_000_000 + delta.nseconds


async def _name_max(nfs: NFS_V3_Client, root: nfs3.nfs_fh3) -> int | None:
    reply = await nfs.NFSPROC3_PATHCONF(nfs3.PATHCONF3args(root))
    return None if reply.resok is None else reply.resok.name_max


async def _smallest_readdir_count(nfs: NFS_V3_Client, directory: nfs3.nfs_fh3) -> int | None:
    for count in READDIR_COUNTS:
        reply = await nfs.NFSPROC3_READDIR(nfs3.READDIR3args(directory, 0, bytes(8), count))
        if reply.status == NFS3_OK:
            return count
        if reply.status != NFS3ERR_TOOSMALL:
            return None
    return None


def _yes(answered: bool) -> str:
    return "answered" if answered else "refused or unanswered"
