"""FileSystem: the NFSv3 semantics (RFC 1813) of every procedure, over a Store.

Rules:
- Sans-I/O apart from the store: time comes from the injected `clock_ns` (the simulation
  passes virtual time, the real server time.time_ns), randomness from `random_bytes`.
  Timestamps of changes strictly increase (a clock that stands still still gives each
  change its own mtime/ctime, one nanosecond apart), across restarts too: a new instance
  starts after the store's newest ctime, so a clock that stepped back while the server
  was down cannot give a file a ctime it had before (a client's cache would take the new
  contents for the old).
- Operations take handles (bytes) and an Identity, and return the result dataclasses
  below. Failures raise NfsError with an nfsstat3 code; an operation that raises has
  changed nothing, because every check runs before the first mutation. A failure reply
  needs post-op attributes: the protocol layer gets them with `getattr` (ignoring its
  errors) and sends pre-op attributes as absent.
- Handles: a handle that is not this store's is BADHANDLE; one whose inode is free or
  has another generation is STALE (see reference.nfs.handles).
- Writes: UNSTABLE data goes to the store's volatile overlay and is durable after COMMIT
  (or a later stable WRITE to the file); DATA_SYNC and FILE_SYNC writes are durable
  before they return and answer FILE_SYNC. `write_verifier` is 8 random bytes per
  instance, renewed whenever the store loses volatile data (`Store.epoch`). COMMIT makes
  the whole file durable, whatever its offset and count. Writes longer than WTMAX are
  cut to WTMAX (the reply's count says so). A zero-length write changes and commits
  nothing.
- Reads never update atime (as noatime). READ is allowed with read or execute permission
  (owner override applies, see reference.nfs.access); counts are capped at RTMAX.
- Every change updates ctime of the changed inode, and mtime and ctime of a directory
  whose entries change; data changes (WRITE, size change) update mtime and ctime.
- Searching a directory (LOOKUP, and finding the entry REMOVE, RMDIR or RENAME acts on)
  needs execute permission on it; changing its entries needs write and execute.
- Creating: new objects belong to the caller's uid, and to the directory's gid if it is
  setgid (a directory made there is setgid too), else the caller's gid. Default modes:
  files 0o644, directories 0o755, devices/sockets/FIFOs 0o644; symlinks are always
  0o777. SetAttributes given at creation are checked as SETATTR by the new owner would
  be; size is applied to regular files only. EXCLUSIVE create stores the 8-byte verifier
  in the inode (mode 0o600, no other attributes): a retry with the same verifier returns
  the same file unchanged, any other verifier gets EXIST. UNCHECKED on an existing
  regular file applies only the size (truncation); on anything else it is EXIST.
  GUARDED on an existing name is EXIST.
- Choices where RFC 1813 leaves room (Linux behaviour unless said otherwise): REMOVE of
  a directory → ISDIR; RMDIR of a non-directory → NOTDIR, of a non-empty one → NOTEMPTY;
  LINK to a directory → PERM (POSIX EPERM); READLINK of a non-symlink → INVAL; READ,
  WRITE, COMMIT of a directory → ISDIR, of another non-regular file → INVAL; SETATTR
  size of a directory → ISDIR, of another non-regular file → INVAL; MKNOD of REG, DIR or
  LNK → BADTYPE, of CHR or BLK by non-root → PERM; an empty symlink target or one with
  NUL → INVAL, longer than SYMLINK_MAX → NAMETOOLONG. Name rules: reference.nfs.names.
- RENAME follows POSIX rename(2): it atomically replaces an existing target; a directory
  may replace only an empty directory (NOTEMPTY) and a non-directory only a
  non-directory (NOTDIR / ISDIR); a directory cannot move into its own subtree (INVAL);
  renaming a name onto another link of the same inode changes nothing. Moving a
  directory to another parent needs write permission on it (its '..' changes).
- READDIR: cookies are stable (reference.nfs.readdir), so the cookie verifier never needs
  to change: it is a MAC of the directory's inode and generation. A non-zero cookie is
  BAD_COOKIE if the directory never handed it out or if the verifier is neither this
  directory's nor zero (zero is accepted for clients that do not keep verifiers).
- FSSTAT reports the configured Capacity (advisory: writes are not refused when it is
  exceeded). Nothing escapes the export: '..' of the root is the root.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from reference.nfs.access import (
    MAY_EXEC,
    MAY_READ,
    MAY_WRITE,
    S_ISGID,
    Identity,
    check_ownership_change,
    check_time_change,
    checked_mode,
    granted_access,
    permitted,
    require,
    require_may_delete,
)
from reference.nfs.attributes import (
    NO_CHANGES,
    Attributes,
    PreOpAttributes,
    ServerTime,
    SetAttributes,
    TimeSetting,
    Wcc,
)
from reference.nfs.errors import NfsError
from reference.nfs.handles import HandleCodec
from reference.nfs.inode import (
    DIRECTORY_SIZE,
    DOT_COOKIE,
    DOTDOT_COOKIE,
    ROOT_INO,
    Inode,
)
from reference.nfs.memo import Memo
from reference.nfs.mutants import NO_BUGS, ServerBugs
from reference.nfs.names import DOT, DOTDOT, check_name, is_dot_or_dotdot
from reference.nfs.readdir import Budget, DirEntry
from reference.nfs.store import Store
from reference.xdr.gen.nfs3 import (
    FSF3_CANSETTIME,
    FSF3_HOMOGENEOUS,
    FSF3_LINK,
    FSF3_SYMLINK,
    NFS3ERR_BAD_COOKIE,
    NFS3ERR_BADTYPE,
    NFS3ERR_EXIST,
    NFS3ERR_FBIG,
    NFS3ERR_INVAL,
    NFS3ERR_ISDIR,
    NFS3ERR_MLINK,
    NFS3ERR_NAMETOOLONG,
    NFS3ERR_NOENT,
    NFS3ERR_NOT_SYNC,
    NFS3ERR_NOTDIR,
    NFS3ERR_NOTEMPTY,
    NFS3ERR_PERM,
    NFS3ERR_SERVERFAULT,
    NFS3ERR_STALE,
    NFS3ERR_TOOSMALL,
    createmode3,
    ftype3,
    stable_how,
)

KIB = 1024
MIB = 1024 * KIB
RTMAX = WTMAX = 1 * MIB
RTPREF = WTPREF = 1 * MIB
RTMULT = WTMULT = 4 * KIB
DTPREF = 64 * KIB
MAX_FILE_SIZE = (1 << 63) - 1
TIME_DELTA_NS = 1
LINK_MAX = 65000
NAME_MAX = 255
ATTRIBUTES_REMEMBERED = 4096  # records held alive by the memo: a few MiB
SYMLINK_MAX = 4096
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIRECTORY_MODE = 0o755
EXCLUSIVE_FILE_MODE = 0o600
SYMLINK_MODE = 0o777
VERIFIER_SIZE = 8
ZERO_VERIFIER = bytes(VERIFIER_SIZE)
_DEVICE_TYPES = (ftype3.NF3CHR, ftype3.NF3BLK)
_MKNOD_TYPES = (*_DEVICE_TYPES, ftype3.NF3SOCK, ftype3.NF3FIFO)
_READDIR_BATCH = 256


@dataclass(frozen=True, slots=True)
class Capacity:
    """What FSSTAT reports as the file system's size."""

    bytes: int = 1 << 40
    files: int = 1 << 32


@dataclass(frozen=True, slots=True)
class FsStat:
    total_bytes: int
    free_bytes: int
    avail_bytes: int
    total_files: int
    free_files: int
    avail_files: int
    invarsec: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class FsInfo:
    rtmax: int
    rtpref: int
    rtmult: int
    wtmax: int
    wtpref: int
    wtmult: int
    dtpref: int
    maxfilesize: int
    time_delta_ns: int
    properties: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class PathConf:
    linkmax: int
    name_max: int
    no_trunc: bool
    chown_restricted: bool
    case_insensitive: bool
    case_preserving: bool
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class LookupResult:
    handle: bytes
    attributes: Attributes
    directory: Attributes


@dataclass(frozen=True, slots=True)
class AccessResult:
    granted: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class ReadlinkResult:
    target: bytes
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class ReadResult:
    data: bytes
    eof: bool
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class WriteResult:
    count: int
    committed: stable_how
    verifier: bytes
    wcc: Wcc


@dataclass(frozen=True, slots=True)
class CommitResult:
    verifier: bytes
    wcc: Wcc


@dataclass(frozen=True, slots=True)
class CreateResult:
    """What CREATE, MKDIR, SYMLINK and MKNOD return: the new object and the directory."""

    handle: bytes
    attributes: Attributes
    directory: Wcc


@dataclass(frozen=True, slots=True)
class RenameResult:
    source_directory: Wcc
    target_directory: Wcc


@dataclass(frozen=True, slots=True)
class LinkResult:
    attributes: Attributes
    directory: Wcc


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    entries: list[DirEntry]
    eof: bool
    verifier: bytes
    directory: Attributes


class FileSystem:
    """The NFSv3 operations over one store. One instance is one server incarnation."""

    def __init__(
        self,
        store: Store,
        clock_ns: Callable[[], int],
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
        capacity: Capacity = Capacity(),
        bugs: ServerBugs = NO_BUGS,
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.bugs = bugs
        self._clock_ns = clock_ns
        self._random_bytes = random_bytes
        self._codec = HandleCodec(
            store.secret,
            store.volume_id,
            not bugs.handle_mac_unchecked,
            not bugs.handle_volume_unchecked,
        )
        self._last_change_ns = store.latest_ctime_ns()
        self._verifier = random_bytes(VERIFIER_SIZE)
        self._verifier_epoch = store.epoch
        # ServerBugs(exclusive_verifier_in_memory): fileid -> verifier, this incarnation's
        self._exclusive_in_memory: dict[int, bytes] = {}
        # ServerBugs(read_cache_ignores_writes): (ino, offset, count) -> the first reply
        self._read_cache: dict[tuple[int, int, int], ReadResult] = {}
        # id(inode record) -> (that record, its Attributes): see attributes_of
        self._attributes: Memo[int, tuple[Inode, Attributes]] = Memo(ATTRIBUTES_REMEMBERED)

    # -- handles, attributes, verifiers ------------------------------------------------

    @property
    def write_verifier(self) -> bytes:
        """The verifier WRITE and COMMIT replies carry (renewed if the store lost data)."""
        if self.store.epoch != self._verifier_epoch:
            self._verifier = self._random_bytes(VERIFIER_SIZE)
            self._verifier_epoch = self.store.epoch
        return self._verifier

    def root_handle(self) -> bytes:
        """The export root's handle (what MOUNT's MNT returns)."""
        root = self.store.get(ROOT_INO)
        if root is None:
            raise NfsError(NFS3ERR_SERVERFAULT, "the store has no root directory")
        return self.handle_of(root)

    def handle_of(self, inode: Inode) -> bytes:
        return self._codec.encode(inode.ino, inode.generation)

    def resolve(self, handle: bytes) -> Inode:
        """The live inode a handle names; BADHANDLE or STALE otherwise."""
        target = self._codec.decode(handle)
        inode = self.store.get(target.ino)
        if inode is None:
            raise NfsError(NFS3ERR_STALE, f"inode {target.ino} no longer exists")
        if inode.generation != target.generation and not self.bugs.generations_unchecked:
            raise NfsError(
                NFS3ERR_STALE,
                f"inode {target.ino} is generation {inode.generation}, not {target.generation}",
            )
        return inode

    def attributes_of(self, inode: Inode) -> Attributes:
        """The inode record's Attributes. Remembered by the record's identity: the stores
        hand out the same frozen record until it changes, and the memo holds the record,
        so its id cannot be reused while remembered."""
        known = self._attributes.get(id(inode))
        if known is not None and known[0] is inode:
            return known[1]
        attributes = Attributes.of(inode, self.store.volume_id)
        self._attributes.remember(id(inode), (inode, attributes))
        return attributes

    def _wcc(self, before: Inode, after: Inode) -> Wcc:
        if self.bugs.wcc_pre_op_times_after:
            before = replace(before, mtime_ns=after.mtime_ns, ctime_ns=after.ctime_ns)
        return Wcc(PreOpAttributes.of(before), self.attributes_of(after))

    def _now(self) -> int:
        now = max(self._clock_ns(), self._last_change_ns + 1)
        self._last_change_ns = now
        return now

    def _cookie_verifier(self, directory: Inode) -> bytes:
        body = struct.pack(">QI", directory.ino, directory.generation)
        return hmac.digest(self.store.secret, b"cookieverf" + body, "sha256")[:VERIFIER_SIZE]

    def _directory(self, handle: bytes) -> Inode:
        inode = self.resolve(handle)
        if not inode.is_dir:
            raise NfsError(NFS3ERR_NOTDIR, f"inode {inode.ino} is not a directory")
        return inode

    def _child(self, directory: Inode, name: bytes) -> Inode | None:
        ino = self.store.lookup(directory.ino, name)
        return None if ino is None else self._existing(ino)

    def _existing(self, ino: int) -> Inode:
        inode = self.store.get(ino)
        if inode is None:
            raise NfsError(NFS3ERR_SERVERFAULT, f"directory entry names free inode {ino}")
        return inode

    # -- attributes ----------------------------------------------------------------------

    def getattr(self, handle: bytes) -> Attributes:
        return self.attributes_of(self.resolve(handle))

    def setattr(
        self,
        handle: bytes,
        changes: SetAttributes,
        who: Identity,
        guard_ctime_ns: int | None = None,
    ) -> Wcc:
        """SETATTR; with `guard_ctime_ns`, NOT_SYNC unless the ctime is exactly that."""
        inode = self.resolve(handle)
        before = PreOpAttributes.of(inode)
        guarded = guard_ctime_ns is not None and not self.bugs.ignore_setattr_guard
        if guarded and guard_ctime_ns != inode.ctime_ns:
            raise NfsError(NFS3ERR_NOT_SYNC, f"ctime is {inode.ctime_ns}, not {guard_ctime_ns}")
        if changes.size is not None:
            _require_regular(inode, "change the size of")
            require(inode, who, MAY_WRITE, owner_override=True)
        changed = _changed(inode, changes, who)
        if changes.is_empty():
            return Wcc(before, self.attributes_of(inode))
        if self.bugs.server_time_setattr_ignored:
            changes = replace(
                changes,
                atime=None if isinstance(changes.atime, ServerTime) else changes.atime,
                mtime=None if isinstance(changes.mtime, ServerTime) else changes.mtime,
            )
        changed = _stamped(changed, inode, changes, self._now())
        with self.store.transaction():
            if changed.size != inode.size:
                self.store.resize(changed)
            else:
                self.store.put(changed)
        return Wcc(before, self.attributes_of(changed))

    def access(self, handle: bytes, who: Identity, requested: int) -> AccessResult:
        inode = self.resolve(handle)
        return AccessResult(granted_access(inode, who, requested), self.attributes_of(inode))

    # -- names -------------------------------------------------------------------------

    def lookup(self, directory_handle: bytes, name: bytes, who: Identity) -> LookupResult:
        directory = self._directory(directory_handle)
        check_name(name)
        require(directory, who, MAY_EXEC)
        if name == DOT:
            found: Inode | None = directory
        elif name == DOTDOT:
            found = self._existing(directory.parent)
        else:
            found = self._child(directory, name)
        if found is None:
            raise NfsError(NFS3ERR_NOENT, f"no {name!r} in directory {directory.ino}")
        return LookupResult(
            self.handle_of(found), self.attributes_of(found), self.attributes_of(directory)
        )

    def readlink(self, handle: bytes) -> ReadlinkResult:
        inode = self.resolve(handle)
        if inode.type != ftype3.NF3LNK:
            raise NfsError(NFS3ERR_INVAL, f"inode {inode.ino} is not a symlink")
        return ReadlinkResult(inode.target, self.attributes_of(inode))

    # -- data --------------------------------------------------------------------------

    def read(self, handle: bytes, offset: int, count: int, who: Identity) -> ReadResult:
        inode = self.resolve(handle)
        _require_regular(inode, "read")
        if not permitted(inode, who, MAY_READ, owner_override=True):
            require(inode, who, MAY_EXEC)
        length = min(count, RTMAX, max(inode.size - offset, 0))
        data = self.store.read(inode.ino, offset, length) if length > 0 else b""
        result = ReadResult(data, offset + length >= inode.size, self.attributes_of(inode))
        if self.bugs.read_cache_ignores_writes:  # by what was asked, not what was read
            return self._read_cache.setdefault((inode.ino, offset, count), result)
        return result

    def write(
        self, handle: bytes, offset: int, data: bytes, stable: stable_how, who: Identity
    ) -> WriteResult:
        inode = self.resolve(handle)
        _require_regular(inode, "write")
        require(inode, who, MAY_WRITE, owner_override=True)
        data = data[:WTMAX]
        if offset + len(data) > MAX_FILE_SIZE:
            raise NfsError(NFS3ERR_FBIG, f"a write up to {offset + len(data)} is too large")
        before = PreOpAttributes.of(inode)
        is_stable = stable != stable_how.UNSTABLE
        committed = stable_how.FILE_SYNC if is_stable else stable_how.UNSTABLE
        if stable == stable_how.DATA_SYNC and self.bugs.data_sync_writes_are_unstable:
            is_stable, committed = False, stable_how.DATA_SYNC
        changed = inode
        if data:
            now = self._now()
            size = max(inode.size, offset + len(data))
            changed = replace(inode, size=size, mtime_ns=now, ctime_ns=now)
            if self.bugs.write_keeps_times:
                changed = replace(changed, mtime_ns=inode.mtime_ns, ctime_ns=inode.ctime_ns)
            with self.store.transaction(sync=is_stable):
                self.store.write(changed, offset, data, is_stable)
        wcc = Wcc(before, self.attributes_of(changed))
        return WriteResult(len(data), committed, self.write_verifier, wcc)

    def commit(self, handle: bytes, count: int = 0) -> CommitResult:
        """COMMIT: the whole file's pending writes become durable, whatever range (`count`
        bytes; 0: to the end) was asked for."""
        inode = self.resolve(handle)
        _require_regular(inode, "commit")
        if count == 0 or not self.bugs.commit_of_a_range_syncs_nothing:
            with self.store.transaction():
                self.store.commit(inode.ino)
        attributes = self.attributes_of(inode)
        return CommitResult(self.write_verifier, Wcc(PreOpAttributes.of(inode), attributes))

    # -- creating ------------------------------------------------------------------------

    def create(
        self,
        directory_handle: bytes,
        name: bytes,
        who: Identity,
        how: createmode3 = createmode3.UNCHECKED,
        attributes: SetAttributes = NO_CHANGES,
        verifier: bytes = b"",
    ) -> CreateResult:
        """CREATE a regular file (`attributes` for UNCHECKED/GUARDED, `verifier` for
        EXCLUSIVE)."""
        directory = self._creatable(directory_handle, name, who)
        if how == createmode3.EXCLUSIVE and len(verifier) != VERIFIER_SIZE:
            raise NfsError(NFS3ERR_INVAL, f"create verifier of {len(verifier)} bytes")
        existing = self._child(directory, name)
        if existing is not None:
            return self._create_existing(directory, existing, who, how, attributes, verifier)
        if how == createmode3.EXCLUSIVE:
            prototype = self._prototype(directory, who, ftype3.NF3REG, EXCLUSIVE_FILE_MODE)
            created = self._add(directory, name, replace(prototype, verifier=verifier))
            if self.bugs.exclusive_verifier_in_memory:
                self._exclusive_in_memory[created.attributes.fileid] = verifier
            return created
        prototype = self._prototype(directory, who, ftype3.NF3REG, DEFAULT_FILE_MODE)
        return self._add(directory, name, _initial(prototype, attributes, who))

    def _create_existing(
        self,
        directory: Inode,
        existing: Inode,
        who: Identity,
        how: createmode3,
        attributes: SetAttributes,
        verifier: bytes,
    ) -> CreateResult:
        if (
            how == createmode3.EXCLUSIVE
            and existing.is_regular
            and self._same_verifier(existing, verifier)
        ):
            unchanged = self._wcc(directory, directory)
            return CreateResult(self.handle_of(existing), self.attributes_of(existing), unchanged)
        if how != createmode3.UNCHECKED or not existing.is_regular:
            raise NfsError(NFS3ERR_EXIST, f"inode {existing.ino} already has that name")
        handle = self.handle_of(existing)
        if attributes.size is not None:
            self.setattr(handle, SetAttributes(size=attributes.size), who)
        after = self._existing(existing.ino)
        unchanged = self._wcc(directory, directory)
        return CreateResult(handle, self.attributes_of(after), unchanged)

    def _same_verifier(self, existing: Inode, verifier: bytes) -> bool:
        if self.bugs.exclusive_create_ignores_verifier and existing.verifier:
            return True
        if self.bugs.exclusive_verifier_in_memory:
            return self._exclusive_in_memory.get(existing.ino) == verifier
        return existing.verifier == verifier

    def mkdir(
        self, directory_handle: bytes, name: bytes, attributes: SetAttributes, who: Identity
    ) -> CreateResult:
        directory = self._creatable(directory_handle, name, who)
        self._require_free(directory, name)
        if directory.nlink >= LINK_MAX:
            raise NfsError(NFS3ERR_MLINK, f"directory {directory.ino} has {LINK_MAX} links")
        prototype = self._prototype(directory, who, ftype3.NF3DIR, DEFAULT_DIRECTORY_MODE)
        prototype = replace(prototype, nlink=2, size=DIRECTORY_SIZE, parent=directory.ino)
        created = _initial(prototype, _without_size(attributes), who)
        if directory.mode & S_ISGID:
            created = replace(created, mode=created.mode | S_ISGID)
        return self._add(directory, name, created)

    def symlink(
        self,
        directory_handle: bytes,
        name: bytes,
        target: bytes,
        attributes: SetAttributes,
        who: Identity,
    ) -> CreateResult:
        """SYMLINK: `target` is stored as given and never followed by the server."""
        directory = self._creatable(directory_handle, name, who)
        if not target or b"\0" in target:
            raise NfsError(NFS3ERR_INVAL, "symlink target is empty or contains NUL")
        if len(target) > SYMLINK_MAX:
            raise NfsError(NFS3ERR_NAMETOOLONG, f"symlink target of {len(target)} bytes")
        self._require_free(directory, name)
        prototype = self._prototype(directory, who, ftype3.NF3LNK, SYMLINK_MODE)
        prototype = replace(prototype, target=target, size=len(target))
        settable = replace(attributes, mode=None, size=None)
        return self._add(directory, name, _initial(prototype, settable, who))

    def mknod(
        self,
        directory_handle: bytes,
        name: bytes,
        kind: ftype3,
        attributes: SetAttributes,
        who: Identity,
        rdev: tuple[int, int] = (0, 0),
    ) -> CreateResult:
        """MKNOD of a character or block device (with `rdev`), a socket or a FIFO."""
        if kind not in _MKNOD_TYPES:
            raise NfsError(NFS3ERR_BADTYPE, f"MKNOD cannot make a {kind.name}")
        directory = self._creatable(directory_handle, name, who)
        if kind in _DEVICE_TYPES and not who.is_root:
            raise NfsError(NFS3ERR_PERM, "only root may make device files")
        self._require_free(directory, name)
        prototype = self._prototype(directory, who, kind, DEFAULT_FILE_MODE)
        if kind in _DEVICE_TYPES:
            prototype = replace(prototype, rdev=rdev)
        return self._add(directory, name, _initial(prototype, _without_size(attributes), who))

    def link(
        self, handle: bytes, directory_handle: bytes, name: bytes, who: Identity
    ) -> LinkResult:
        """LINK: a new name for an existing non-directory."""
        source = self.resolve(handle)
        directory = self._creatable(directory_handle, name, who)
        if source.is_dir:
            raise NfsError(NFS3ERR_PERM, "directories cannot be hard-linked")
        self._require_free(directory, name)
        if source.nlink >= LINK_MAX:
            raise NfsError(NFS3ERR_MLINK, f"inode {source.ino} has {LINK_MAX} links")
        now = self._now()
        linked = replace(source, nlink=source.nlink + 1, ctime_ns=now)
        changed_directory = _entries_changed(directory, now, cookies_used=1)
        with self.store.transaction():
            self.store.add_entry(directory.ino, name, source.ino, directory.next_cookie)
            self.store.put(linked)
            self.store.put(changed_directory)
        wcc = self._wcc(directory, changed_directory)
        return LinkResult(self.attributes_of(linked), wcc)

    def _creatable(self, directory_handle: bytes, name: bytes, who: Identity) -> Inode:
        directory = self._directory(directory_handle)
        check_name(name)
        if is_dot_or_dotdot(name):
            raise NfsError(NFS3ERR_EXIST, f"{name!r} always exists")
        require(directory, who, MAY_WRITE | MAY_EXEC)
        return directory

    def _require_free(self, directory: Inode, name: bytes) -> None:
        if self.store.lookup(directory.ino, name) is not None:
            raise NfsError(NFS3ERR_EXIST, f"{name!r} exists in directory {directory.ino}")

    def _prototype(self, directory: Inode, who: Identity, kind: ftype3, mode: int) -> Inode:
        """A new inode's record before it has a number (ino and generation 0)."""
        now = self._now()
        gid = directory.gid if directory.mode & S_ISGID else who.gid
        return Inode(
            ino=0,
            generation=0,
            type=kind,
            mode=mode,
            nlink=1,
            uid=who.uid,
            gid=gid,
            size=0,
            atime_ns=now,
            mtime_ns=now,
            ctime_ns=now,
        )

    def _add(self, directory: Inode, name: bytes, prototype: Inode) -> CreateResult:
        """Give `prototype` a number and enter it in `directory` under `name`."""
        subdirectories = 1 if prototype.is_dir else 0
        changed_directory = _entries_changed(
            directory, prototype.ctime_ns, cookies_used=1, nlink_change=subdirectories
        )
        with self.store.transaction():
            ino, generation = self.store.allocate()
            created = replace(prototype, ino=ino, generation=generation)
            self.store.put(created)
            self.store.add_entry(directory.ino, name, ino, directory.next_cookie)
            self.store.put(changed_directory)
        wcc = self._wcc(directory, changed_directory)
        return CreateResult(self.handle_of(created), self.attributes_of(created), wcc)

    # -- removing and renaming ----------------------------------------------------------

    def remove(self, directory_handle: bytes, name: bytes, who: Identity) -> Wcc:
        """REMOVE a non-directory's name (its inode goes with its last link)."""
        directory = self._directory(directory_handle)
        check_name(name)
        if is_dot_or_dotdot(name):
            raise NfsError(NFS3ERR_ISDIR, f"{name!r} is a directory")
        victim = self._named(directory, name, who)
        if victim.is_dir:
            raise NfsError(NFS3ERR_ISDIR, f"{name!r} is a directory: use RMDIR")
        require_may_delete(directory, victim, who)
        now = self._now()
        changed_directory = _entries_changed(directory, now)
        with self.store.transaction():
            self.store.remove_entry(directory.ino, name)
            self._unlink(victim, now)
            self.store.put(changed_directory)
        return self._wcc(directory, changed_directory)

    def rmdir(self, directory_handle: bytes, name: bytes, who: Identity) -> Wcc:
        directory = self._directory(directory_handle)
        check_name(name)
        if name == DOT:
            raise NfsError(NFS3ERR_INVAL, "cannot remove '.'")
        if name == DOTDOT:
            raise NfsError(NFS3ERR_EXIST, "cannot remove '..'")
        victim = self._named(directory, name, who)
        if not victim.is_dir:
            raise NfsError(NFS3ERR_NOTDIR, f"{name!r} is not a directory")
        require_may_delete(directory, victim, who)
        if self.store.has_entries(victim.ino):
            raise NfsError(NFS3ERR_NOTEMPTY, f"directory {name!r} is not empty")
        changed_directory = _entries_changed(directory, self._now(), nlink_change=-1)
        with self.store.transaction():
            self.store.remove_entry(directory.ino, name)
            self.store.release(victim.ino)
            self.store.put(changed_directory)
        return self._wcc(directory, changed_directory)

    def rename(
        self,
        source_handle: bytes,
        source_name: bytes,
        target_handle: bytes,
        target_name: bytes,
        who: Identity,
    ) -> RenameResult:
        source_directory = self._directory(source_handle)
        target_directory = self._directory(target_handle)
        for name in (source_name, target_name):
            check_name(name)
            if is_dot_or_dotdot(name):
                raise NfsError(NFS3ERR_INVAL, f"cannot rename {name!r}")
        moved = self._named(source_directory, source_name, who)
        require_may_delete(source_directory, moved, who)
        require(target_directory, who, MAY_WRITE | MAY_EXEC)
        replaced = self._child(target_directory, target_name)
        if replaced is not None and replaced.ino == moved.ino:
            return RenameResult(
                self._wcc(source_directory, source_directory),
                self._wcc(target_directory, target_directory),
            )
        self._check_rename(moved, source_directory, target_directory, replaced, who)
        now = self._now()
        changed = {
            source_directory.ino: source_directory,
            target_directory.ino: target_directory,
        }

        def adjust(ino: int, cookies_used: int = 0, nlink_change: int = 0) -> None:
            before = changed[ino]
            changed[ino] = _entries_changed(before, now, cookies_used, nlink_change)
            if self.bugs.rename_keeps_directory_times:
                changed[ino] = replace(
                    changed[ino], mtime_ns=before.mtime_ns, ctime_ns=before.ctime_ns
                )

        adjust(source_directory.ino, nlink_change=-1 if moved.is_dir else 0)
        adjust(target_directory.ino, cookies_used=1, nlink_change=1 if moved.is_dir else 0)
        if replaced is not None and replaced.is_dir:
            adjust(target_directory.ino, nlink_change=-1)
        parent = target_directory.ino if moved.is_dir else moved.parent
        moved_after = replace(moved, ctime_ns=now, parent=parent)
        with self.store.transaction():
            if replaced is not None:
                self.store.remove_entry(target_directory.ino, target_name)
                self._unlink(replaced, now)
            self.store.remove_entry(source_directory.ino, source_name)
            cookie = target_directory.next_cookie
            self.store.add_entry(target_directory.ino, target_name, moved.ino, cookie)
            self.store.put(moved_after)
            for directory in changed.values():
                self.store.put(directory)
        return RenameResult(
            self._wcc(source_directory, changed[source_directory.ino]),
            self._wcc(target_directory, changed[target_directory.ino]),
        )

    def _check_rename(
        self,
        moved: Inode,
        source_directory: Inode,
        target_directory: Inode,
        replaced: Inode | None,
        who: Identity,
    ) -> None:
        if replaced is not None:
            if moved.is_dir and not replaced.is_dir:
                raise NfsError(NFS3ERR_NOTDIR, "a directory cannot replace a non-directory")
            if replaced.is_dir and not moved.is_dir:
                raise NfsError(NFS3ERR_ISDIR, "a non-directory cannot replace a directory")
            if replaced.is_dir and self.store.has_entries(replaced.ino):
                raise NfsError(NFS3ERR_NOTEMPTY, "the directory to replace is not empty")
            require_may_delete(target_directory, replaced, who)
        if not moved.is_dir or source_directory.ino == target_directory.ino:
            return
        ancestor = target_directory
        while True:
            if ancestor.ino == moved.ino:
                raise NfsError(NFS3ERR_INVAL, "cannot move a directory into itself")
            if ancestor.ino == ROOT_INO:
                break
            ancestor = self._existing(ancestor.parent)
        require(moved, who, MAY_WRITE)
        if replaced is None and target_directory.nlink >= LINK_MAX:
            raise NfsError(NFS3ERR_MLINK, f"directory {target_directory.ino} is full of links")

    def _named(self, directory: Inode, name: bytes, who: Identity) -> Inode:
        """The inode `name` names in `directory` (searching it needs execute permission)."""
        require(directory, who, MAY_EXEC)
        found = self._child(directory, name)
        if found is None:
            raise NfsError(NFS3ERR_NOENT, f"no {name!r} in directory {directory.ino}")
        return found

    def _unlink(self, inode: Inode, now: int) -> None:
        """Drop one link of `inode` (an entry naming it is already gone)."""
        if inode.is_dir or inode.nlink <= 1:
            self.store.release(inode.ino)
        else:
            self.store.put(replace(inode, nlink=inode.nlink - 1, ctime_ns=now))

    # -- directories ------------------------------------------------------------------

    def readdir(
        self,
        directory_handle: bytes,
        who: Identity,
        cookie: int,
        verifier: bytes,
        budget: Budget,
        plus: bool = False,
    ) -> DirectoryPage:
        """READDIR (READDIRPLUS with `plus`: entries carry handles and attributes)."""
        directory = self._directory(directory_handle)
        require(directory, who, MAY_READ)
        expected = self._cookie_verifier(directory)
        if self.bugs.readdir_cookies_are_positions:
            listed = _by_position(self._entries_after(directory, 0, plus), cookie)
        else:
            if cookie != 0 and verifier not in (expected, ZERO_VERIFIER):
                raise NfsError(NFS3ERR_BAD_COOKIE, "cookie verifier is not this directory's")
            if cookie != 0 and cookie >= directory.next_cookie:
                raise NfsError(NFS3ERR_BAD_COOKIE, f"cookie {cookie} was never handed out")
            listed = self._entries_after(directory, cookie, plus)
        entries: list[DirEntry] = []
        eof = True
        for entry in listed:
            if not budget.take(entry):
                eof = False
                break
            entries.append(entry)
        if not entries and not eof:
            raise NfsError(NFS3ERR_TOOSMALL, "the reply count is too small for one entry")
        return DirectoryPage(entries, eof, expected, self.attributes_of(directory))

    def _entries_after(self, directory: Inode, cookie: int, plus: bool) -> Iterator[DirEntry]:
        """The entries after `cookie`, fetched from the store in batches."""
        if cookie < DOT_COOKIE:
            yield self._entry(DOT_COOKIE, DOT, directory.ino, plus)
        if cookie < DOTDOT_COOKIE:
            yield self._entry(DOTDOT_COOKIE, DOTDOT, directory.parent, plus)
        after = max(cookie, DOTDOT_COOKIE)
        while True:
            batch = self.store.entries(directory.ino, after, _READDIR_BATCH)
            for record in batch:
                yield self._entry(record.cookie, record.name, record.ino, plus)
            if len(batch) < _READDIR_BATCH:
                return
            after = batch[-1].cookie

    def _entry(self, cookie: int, name: bytes, ino: int, plus: bool) -> DirEntry:
        if not plus:
            return DirEntry(cookie, name, ino)
        inode = self._existing(ino)
        if self.bugs.readdirplus_attributes_on_disk:
            inode = self.store.durable_record(ino) or inode
        if self.bugs.readdirplus_times_in_seconds:
            whole = 1_000_000_000
            inode = replace(
                inode,
                mtime_ns=inode.mtime_ns // whole * whole,
                ctime_ns=inode.ctime_ns // whole * whole,
            )
        return DirEntry(cookie, name, ino, self.handle_of(inode), self.attributes_of(inode))

    # -- file system information -------------------------------------------------------

    def fsstat(self, handle: bytes) -> FsStat:
        inode = self.resolve(handle)
        usage = self.store.usage()
        free_bytes = max(self.capacity.bytes - usage.bytes, 0)
        free_files = max(self.capacity.files - usage.files, 0)
        return FsStat(
            total_bytes=self.capacity.bytes,
            free_bytes=free_bytes,
            avail_bytes=free_bytes,
            total_files=self.capacity.files,
            free_files=free_files,
            avail_files=free_files,
            invarsec=0,
            attributes=self.attributes_of(inode),
        )

    def fsinfo(self, handle: bytes) -> FsInfo:
        inode = self.resolve(handle)
        return FsInfo(
            rtmax=RTMAX,
            rtpref=RTPREF,
            rtmult=RTMULT,
            wtmax=WTMAX,
            wtpref=WTPREF,
            wtmult=WTMULT,
            dtpref=DTPREF,
            maxfilesize=MAX_FILE_SIZE,
            time_delta_ns=TIME_DELTA_NS,
            properties=FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME,
            attributes=self.attributes_of(inode),
        )

    def pathconf(self, handle: bytes) -> PathConf:
        inode = self.resolve(handle)
        return PathConf(
            linkmax=LINK_MAX,
            name_max=NAME_MAX,
            no_trunc=True,
            chown_restricted=True,
            case_insensitive=False,
            case_preserving=True,
            attributes=self.attributes_of(inode),
        )


def _require_regular(inode: Inode, action: str) -> None:
    if inode.is_dir:
        raise NfsError(NFS3ERR_ISDIR, f"cannot {action} directory {inode.ino}")
    if not inode.is_regular:
        raise NfsError(NFS3ERR_INVAL, f"cannot {action} {inode.type.name} {inode.ino}")


def _changed(inode: Inode, changes: SetAttributes, who: Identity) -> Inode:
    """`inode` with `changes` to mode, owner, group and size, after their permission
    checks (times and ctime are stamped separately)."""
    mode = checked_mode(inode, who, changes)
    check_ownership_change(inode, who, changes)
    check_time_change(inode, who, changes)
    if changes.size is not None and changes.size > MAX_FILE_SIZE:
        raise NfsError(NFS3ERR_FBIG, f"size {changes.size} is too large")
    return replace(
        inode,
        mode=mode,
        uid=inode.uid if changes.uid is None else changes.uid,
        gid=inode.gid if changes.gid is None else changes.gid,
        size=inode.size if changes.size is None else changes.size,
    )


def _stamped(changed: Inode, original: Inode, changes: SetAttributes, now: int) -> Inode:
    """Times after a SETATTR at `now`: ctime always; mtime also when the size changed."""
    mtime = _time(changes.mtime, original.mtime_ns, now)
    if changes.mtime is None and changed.size != original.size:
        mtime = now
    return replace(
        changed, atime_ns=_time(changes.atime, original.atime_ns, now), mtime_ns=mtime, ctime_ns=now
    )


def _time(setting: TimeSetting, current: int, now: int) -> int:
    if setting is None:
        return current
    if isinstance(setting, ServerTime):
        return now
    return setting


def _initial(prototype: Inode, attributes: SetAttributes, who: Identity) -> Inode:
    """A new inode with the attributes its creator asked for (checked as SETATTR)."""
    changed = _changed(prototype, attributes, who)
    return replace(
        changed,
        atime_ns=_time(attributes.atime, prototype.atime_ns, prototype.ctime_ns),
        mtime_ns=_time(attributes.mtime, prototype.mtime_ns, prototype.ctime_ns),
    )


def _without_size(attributes: SetAttributes) -> SetAttributes:
    return replace(attributes, size=None)


def _by_position(entries: Iterator[DirEntry], cookie: int) -> Iterator[DirEntry]:
    """ServerBugs(readdir_cookies_are_positions): the n-th entry of the listing as it is
    now has cookie n, and the listing goes on after the `cookie`-th."""
    for position, entry in enumerate(entries, start=1):
        if position > cookie:
            yield replace(entry, cookie=position)


def _entries_changed(
    directory: Inode, now: int, cookies_used: int = 0, nlink_change: int = 0
) -> Inode:
    """`directory` after its entries changed at `now`."""
    return replace(
        directory,
        mtime_ns=now,
        ctime_ns=now,
        next_cookie=directory.next_cookie + cookies_used,
        nlink=directory.nlink + nlink_change,
    )
