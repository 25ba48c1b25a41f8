"""The model file system: what an NFSv3 server must answer, as Plans (see verdict.py).

Rules (RFC 1813 section 3.3, and POSIX where the RFC leaves it to the server's file system):
- Handles: an operation on a dead object's handle answers NFS3ERR_STALE. A server may
  keep answering for a removed object while its inode is not reused: that is a WARN, and
  it must then answer as that removed object (nlink 0, its old data), never as another.
  A directory handle that names a non-directory answers NOTDIR.
- Names: see names.py. An entry that does not exist is NOENT; creating a name that
  exists is EXIST ('.' and '..' always exist; refusing them with INVAL/ACCES/PERM passes).
- CREATE: UNCHECKED over an existing regular file succeeds on that file (a size of 0
  truncates it; a requested mode may or may not be applied); over anything else EXIST.
  GUARDED over an existing name is EXIST. EXCLUSIVE over a file created EXCLUSIVE with
  the same verifier succeeds on that file (EXIST also passes once its attributes changed,
  a READ's atime included, since servers keep the verifier in them); otherwise EXIST.
- REMOVE of a directory: ISDIR or PERM pass (Linux, POSIX); ACCES, NOTSUPP, INVAL warn;
  RFC 1813 lets REMOVE delete an empty directory: NFS3_OK there is a WARN. Never '.'/'..'.
- RMDIR: not a directory NOTDIR; not empty NOTEMPTY or EXIST (the RFC lists both);
  '.' and '..' are refused with any of INVAL, ACCES, PERM, EXIST, NOTEMPTY, never removed.
- RENAME: the source must exist (NOENT); a directory cannot move into itself or below
  (INVAL); over an existing target both must be directories or both not (RFC: EXIST;
  POSIX: ISDIR/NOTDIR), a directory target must be empty (EXIST or NOTEMPTY), and the
  target is replaced atomically; two names of the same object: NFS3_OK, no change.
  What a RENAME moved (the object, and all below it) is `moved`: the client's handles of
  them were got before, and must keep working (an error outside a plan: HANDLE-MOVED).
- LINK: to a directory is refused (ISDIR, PERM, INVAL, NOTSUPP, ACCES); to a removed
  file STALE or NOENT.
- READ, WRITE, COMMIT of a directory: ISDIR or INVAL; of a symlink: INVAL (BADTYPE warns;
  ACCES, in every one's error list, warns for either).
  COMMIT of either may also answer SERVERFAULT or NFS3_OK (committing nothing): warns.
- READDIR may answer TOOSMALL (RFC 1813 lists it; a count of 512 is small but usual):
  warns.
  READLINK of anything but a symlink: INVAL. SETATTR of a size on a non-file: ISDIR or
  INVAL pass; succeeding without changing anything warns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from properties.harness.findings import Rule
from properties.nfs3 import rules
from properties.nfs3.model.content import Content
from properties.nfs3.model.names import DOT, check_name, is_dot, shown
from properties.nfs3.model.objects import (
    ROOT_ID,
    Directory,
    ModelObject,
    ObjectId,
    RegularFile,
    Symlink,
)
from properties.nfs3.model.verdict import Judgement, Plan, Refusals, Verdict
from reference.xdr.gen.nfs3 import (
    EXCLUSIVE,
    GUARDED,
    NFS3ERR_ACCES,
    NFS3ERR_BADTYPE,
    NFS3ERR_EXIST,
    NFS3ERR_INVAL,
    NFS3ERR_ISDIR,
    NFS3ERR_NOENT,
    NFS3ERR_NOTDIR,
    NFS3ERR_NOTEMPTY,
    NFS3ERR_NOTSUPP,
    NFS3ERR_PERM,
    NFS3ERR_SERVERFAULT,
    NFS3ERR_STALE,
    NFS3ERR_TOOSMALL,
    createmode3,
)

T = TypeVar("T")
Path = tuple[bytes, ...]

STILL_ANSWERS = Judgement(
    Verdict.WARN,
    "the handle of a removed object still answers (allowed until its inode is reused)",
    rules.STALE,
)
REFUSE_DOTS = (NFS3ERR_INVAL, NFS3ERR_ACCES, NFS3ERR_PERM, NFS3ERR_EXIST, NFS3ERR_NOTEMPTY)
DOT_TYPES = (NFS3ERR_ISDIR, NFS3ERR_NOTDIR)  # RENAME of '.': it is a directory


@dataclass(frozen=True, slots=True)
class CreateHow:
    """CREATE's createhow3, as the model needs it."""

    mode: createmode3
    file_mode: int | None = None  # UNCHECKED / GUARDED: the mode attribute, if set
    truncate: bool = False  # UNCHECKED / GUARDED: a size attribute of 0
    verifier: bytes | None = None  # EXCLUSIVE


class ModelFs:
    """A tree of model objects; every operation returns the Plan of its possible answers."""

    def __init__(self) -> None:
        self.objects: dict[ObjectId, ModelObject] = {
            ROOT_ID: Directory(ROOT_ID, parent=ROOT_ID, mode=None, links=0)
        }
        self._next_id = 1
        self.moved: set[ObjectId] = set()  # renamed since the client got their handles

    # -- queries --

    def __getitem__(self, object_id: ObjectId) -> ModelObject:
        return self.objects[object_id]

    def ids(
        self, alive: bool | None = None, kind: type[ModelObject] | None = None
    ) -> list[ObjectId]:
        return [
            i
            for i, o in self.objects.items()
            if (alive is None or o.alive == alive) and (kind is None or isinstance(o, kind))
        ]

    def nlink(self, obj: ModelObject) -> int:
        """The link count a server reports (0 for a removed object)."""
        if isinstance(obj, Directory):
            if not obj.alive:
                return 0
            subdirs = sum(isinstance(self.objects[c], Directory) for c in obj.entries.values())
            return 2 + subdirs
        return obj.links

    def paths(self) -> dict[Path, ObjectId]:
        """Every path from the root (the root is ()), depth first in name order."""
        found: dict[Path, ObjectId] = {(): ROOT_ID}
        for path, object_id in self._walk(ROOT_ID, ()):
            found[path] = object_id
        return found

    def describe(self, object_id: ObjectId) -> str:
        obj = self.objects[object_id]
        names = [
            b"/".join(p).decode(errors="replace") for p, i in self.paths().items() if i == object_id
        ]
        where = ", ".join("/" + n for n in names) if names else "removed"
        return f"#{object_id} ({obj.type.name} {where})"

    def _walk(self, directory: ObjectId, prefix: Path) -> Iterator[tuple[Path, ObjectId]]:
        node = self.objects[directory]
        assert isinstance(node, Directory)
        for name in sorted(node.entries):
            child = node.entries[name]
            yield (*prefix, name), child
            if isinstance(self.objects[child], Directory):
                yield from self._walk(child, (*prefix, name))

    # -- handle and name checks --

    def _handle(self, why: Refusals, object_id: ObjectId) -> tuple[ModelObject, bool]:
        """The object, and whether it is alive (a dead one adds STALE)."""
        obj = self.objects[object_id]
        why.moved |= object_id in self.moved
        if not obj.alive:
            why.add(rules.STALE, "the object was removed", NFS3ERR_STALE)
        return obj, obj.alive

    def _directory(self, why: Refusals, object_id: ObjectId) -> Directory | None:
        """The live directory an operation works in, or None (with the refusals added)."""
        obj, alive = self._handle(why, object_id)
        if not isinstance(obj, Directory):
            why.add(rules.NOTDIR, f"{obj.type.name} is not a directory", NFS3ERR_NOTDIR)
            return None
        if not alive:
            why.warn(rules.STALE, "a removed directory has no entries", NFS3ERR_NOENT)
            return None
        return obj

    def _new_id(self) -> ObjectId:
        object_id = ObjectId(self._next_id)
        self._next_id += 1
        return object_id

    def _name_taken(self, why: Refusals, directory: Directory, name: bytes) -> bool:
        if is_dot(name):
            why.add(rules.DOTS, f"{shown(name)} always exists", *REFUSE_DOTS)
            return True
        if name in directory.entries:
            why.add(rules.EXIST, f"{shown(name)} exists", NFS3ERR_EXIST)
            return True
        return False

    # -- look-ups and attributes --

    def lookup(self, directory_id: ObjectId, name: bytes) -> Plan[ObjectId]:
        operation = f"LOOKUP {shown(name)} in #{directory_id}"
        why = Refusals()
        directory = self._directory(why, directory_id)
        if not check_name(why, name, looking_up=True) or directory is None:
            return why.plan(operation)
        if is_dot(name):
            found = directory.id if name == DOT else directory.parent
            why.warn(
                rules.DOTS,
                f"{shown(name)} is not resolved by LOOKUP",
                NFS3ERR_NOENT,
                NFS3ERR_INVAL,
                NFS3ERR_ACCES,
            )
            return why.plan_or_ok(operation, lambda: found)
        child = directory.entries.get(name)
        if child is None:
            why.add(rules.NOENT, f"no entry {shown(name)}", NFS3ERR_NOENT)
            return why.plan(operation)
        return why.plan_or_ok(operation, lambda: child)

    def getattr(self, object_id: ObjectId) -> Plan[ModelObject]:
        why = Refusals()
        obj, alive = self._handle(why, object_id)
        return why.plan_or_ok(
            f"GETATTR #{object_id}", lambda: obj, None if alive else STILL_ANSWERS
        )

    def readlink(self, object_id: ObjectId) -> Plan[bytes]:
        why = Refusals()
        obj, alive = self._handle(why, object_id)
        operation = f"READLINK #{object_id}"
        if not isinstance(obj, Symlink):
            why.add(rules.NOT_SYMLINK, f"{obj.type.name} is not a symbolic link", NFS3ERR_INVAL)
            why.warn(
                rules.NOT_SYMLINK,
                f"{obj.type.name} is not a symbolic link",
                NFS3ERR_BADTYPE,
                NFS3ERR_NOTSUPP,
            )
            return why.plan(operation)
        return why.plan_or_ok(operation, lambda: obj.target, None if alive else STILL_ANSWERS)

    def setattr(self, object_id: ObjectId, mode: int | None, size: int | None) -> Plan[None]:
        operation = f"SETATTR #{object_id} mode={mode if mode is None else oct(mode)} size={size}"
        why = Refusals()
        obj, alive = self._handle(why, object_id)
        ok = None if alive else STILL_ANSWERS
        if size is not None and not isinstance(obj, RegularFile):
            why.add(
                rules.SIZE_NOT_FILE, f"the size of a {obj.type.name} cannot be set", NFS3ERR_INVAL
            )
            if isinstance(obj, Directory):
                why.add(rules.SIZE_NOT_FILE, "a directory's size cannot be set", NFS3ERR_ISDIR)
            why.warn(
                rules.SIZE_NOT_FILE,
                f"the size of a {obj.type.name} cannot be set (RFC 1813 lists no BADTYPE "
                "for SETATTR)",
                NFS3ERR_BADTYPE,
            )
            ok = Judgement(
                Verdict.WARN,
                f"a size for a {obj.type.name} was accepted and ignored",
                rules.SIZE_NOT_FILE,
            )

        def apply() -> None:
            if mode is not None and not isinstance(obj, Symlink):
                obj.mode = mode & 0o7777
            if size is not None and isinstance(obj, RegularFile):
                obj.content.resize(size)
                obj.verifier_may_be_lost = True

        return why.plan_or_ok(operation, apply, ok)

    # -- file data --

    def _file(
        self, why: Refusals, object_id: ObjectId, rule: Rule
    ) -> tuple[RegularFile | None, bool]:
        obj, alive = self._handle(why, object_id)
        if isinstance(obj, RegularFile):
            return obj, alive
        if isinstance(obj, Directory):
            why.add(rule, "a directory has no file data", NFS3ERR_ISDIR, NFS3ERR_INVAL)
        else:
            why.add(rule, "a symbolic link has no file data", NFS3ERR_INVAL)
            why.warn(rule, "a symbolic link has no file data", NFS3ERR_BADTYPE)
        why.warn(rule, "no file data, refused as if access were denied", NFS3ERR_ACCES)
        return None, alive

    def read(self, object_id: ObjectId, offset: int, count: int) -> Plan[bytes]:
        operation = f"READ #{object_id} [{offset}, +{count})"
        why = Refusals()
        file, alive = self._file(why, object_id, rules.READ_NOT_FILE)
        if file is None:
            return why.plan(operation)

        def apply() -> bytes:
            file.verifier_may_be_lost = True  # a read may set atime, where servers keep it
            return file.content.read(offset, count)

        return why.plan_or_ok(operation, apply, None if alive else STILL_ANSWERS)

    def write(self, object_id: ObjectId, offset: int, data: bytes, durable: bool) -> Plan[None]:
        operation = f"WRITE #{object_id} [{offset}, +{len(data)})"
        why = Refusals()
        file, alive = self._file(why, object_id, rules.WRITE_NOT_FILE)
        if file is None:
            return why.plan(operation)

        def apply() -> None:
            file.content.write(offset, data, durable)
            file.verifier_may_be_lost = True

        return why.plan_or_ok(operation, apply, None if alive else STILL_ANSWERS)

    def commit(self, object_id: ObjectId) -> Plan[Content | None]:
        """COMMIT: the effect returns the file's content (None for an object without data);
        the caller commits it if the write verifier did not change (a changed one means
        nothing is guaranteed)."""
        operation = f"COMMIT #{object_id}"
        why = Refusals()
        file, alive = self._file(why, object_id, rules.COMMIT_NOT_FILE)
        if file is None:
            why.warn(
                rules.COMMIT_NOT_FILE,
                "COMMIT of a file without data (RFC 1813 lists only IO, STALE, BADHANDLE "
                "and SERVERFAULT for COMMIT: SERVERFAULT is allowed, if unhelpful)",
                NFS3ERR_SERVERFAULT,
            )
            nothing = Judgement(
                Verdict.WARN,
                "COMMIT of an object without data answered NFS3_OK (RFC 1813 §3.3.21 asks "
                "for a regular file; committing nothing is harmless)",
                rules.COMMIT_NOT_FILE,
            )
            return why.plan_or_ok(operation, lambda: None, nothing)
        return why.plan_or_ok(operation, lambda: file.content, None if alive else STILL_ANSWERS)

    # -- directories --

    def readdir(self, directory_id: ObjectId) -> Plan[dict[bytes, ObjectId]]:
        operation = f"READDIR #{directory_id}"
        why = Refusals()
        obj, alive = self._handle(why, directory_id)
        if not isinstance(obj, Directory):
            why.add(rules.NOTDIR, f"{obj.type.name} is not a directory", NFS3ERR_NOTDIR)
            return why.plan(operation)
        why.warn(rules.READDIR_TOOSMALL, "the count is too small for this server", NFS3ERR_TOOSMALL)
        return why.plan_or_ok(
            operation, lambda: dict(obj.entries), None if alive else STILL_ANSWERS
        )

    def create(self, directory_id: ObjectId, name: bytes, how: CreateHow) -> Plan[ObjectId]:
        operation = f"CREATE {how.mode.name} {shown(name)} in #{directory_id}"
        why = Refusals()
        directory = self._directory(why, directory_id)
        if not check_name(why, name, looking_up=False) or directory is None:
            return why.plan(operation)
        if is_dot(name):
            why.add(rules.DOTS, f"{shown(name)} always exists", *REFUSE_DOTS)
            why.add(rules.EXIST, f"{shown(name)} is a directory", NFS3ERR_ISDIR)
            return why.plan(operation)
        existing_id = directory.entries.get(name)
        if existing_id is None:
            return why.plan_or_ok(operation, lambda: self._add_file(directory, name, how))
        existing = self.objects[existing_id]
        if how.mode == GUARDED or not isinstance(existing, RegularFile):
            # over a symlink, any other answer is the link followed (its own rule)
            rule = rules.CREATE_FOLLOWS_SYMLINK if isinstance(existing, Symlink) else rules.EXIST
            why.add(rule, f"{shown(name)} exists ({existing.type.name})", NFS3ERR_EXIST)
            if not isinstance(existing, RegularFile):
                why.warn(
                    rules.EXIST,
                    f"{shown(name)} exists as a {existing.type.name} (EXIST is the answer "
                    "RFC 1813 gives; BADTYPE is for types the server cannot create)",
                    NFS3ERR_BADTYPE,
                )
            if isinstance(existing, Directory) and how.mode != GUARDED:
                why.add(rules.EXIST, f"{shown(name)} is a directory", NFS3ERR_ISDIR)
            return why.plan(operation)
        if how.mode == EXCLUSIVE:
            if existing.create_verifier != how.verifier:
                why.add(
                    rules.CREATE_VERIFIER,
                    f"{shown(name)} exists, not created with this verifier",
                    NFS3ERR_EXIST,
                )
                return why.plan(operation)
            if existing.verifier_may_be_lost:
                why.add(
                    rules.CREATE_VERIFIER,
                    "the file changed since: the server may have lost the verifier",
                    NFS3ERR_EXIST,
                )
            return why.plan_or_ok(
                operation,
                lambda: existing.id,
                Judgement(Verdict.PASS, "same verifier: the same file"),
            )

        def reuse() -> ObjectId:
            if how.truncate:
                existing.content.resize(0)
                existing.verifier_may_be_lost = True
            if how.file_mode is not None and existing.mode != how.file_mode & 0o7777:
                existing.mode = None
            return existing.id

        return why.plan_or_ok(
            operation, reuse, Judgement(Verdict.PASS, "UNCHECKED: the existing file")
        )

    def _add_file(self, directory: Directory, name: bytes, how: CreateHow) -> ObjectId:
        file = RegularFile(self._new_id(), mode=None)
        if how.mode == EXCLUSIVE:
            file.create_verifier = how.verifier
        elif how.file_mode is not None:
            file.mode = how.file_mode & 0o7777
        return self._add(directory, name, file)

    def _place_for(self, why: Refusals, directory_id: ObjectId, name: bytes) -> Directory | None:
        """The directory a new entry `name` can go in, or None (`why` says why not)."""
        directory = self._directory(why, directory_id)
        if (
            not check_name(why, name, looking_up=False)
            or directory is None
            or self._name_taken(why, directory, name)
        ):
            return None
        return directory

    def _add(self, directory: Directory, name: bytes, obj: ModelObject) -> ObjectId:
        self.objects[obj.id] = obj
        directory.entries[name] = obj.id
        return obj.id

    def mkdir(self, directory_id: ObjectId, name: bytes, mode: int) -> Plan[ObjectId]:
        operation = f"MKDIR {shown(name)} in #{directory_id}"
        why = Refusals()
        directory = self._place_for(why, directory_id, name)
        if directory is None:
            return why.plan(operation)
        return why.plan_or_ok(
            operation,
            lambda: self._add(
                directory, name, Directory(self._new_id(), directory.id, mode & 0o7777)
            ),
        )

    def symlink(self, directory_id: ObjectId, name: bytes, target: bytes) -> Plan[ObjectId]:
        operation = f"SYMLINK {shown(name)} -> {shown(target)} in #{directory_id}"
        why = Refusals()
        directory = self._place_for(why, directory_id, name)
        if directory is None:
            return why.plan(operation)
        return why.plan_or_ok(
            operation, lambda: self._add(directory, name, Symlink(self._new_id(), target))
        )

    def link(self, object_id: ObjectId, directory_id: ObjectId, name: bytes) -> Plan[None]:
        operation = f"LINK #{object_id} as {shown(name)} in #{directory_id}"
        why = Refusals()
        obj, alive = self._handle(why, object_id)
        if not alive:
            why.add(rules.STALE, "a removed file cannot get a new name", NFS3ERR_NOENT)
        if isinstance(obj, Directory):
            why.add(
                rules.LINK_DIR,
                "no hard links to directories",
                NFS3ERR_ISDIR,
                NFS3ERR_PERM,
                NFS3ERR_INVAL,
                NFS3ERR_NOTSUPP,
                NFS3ERR_ACCES,
            )
            why.warn(
                rules.LINK_DIR,
                "no hard links to directories (RFC 1813 lists no BADTYPE for LINK)",
                NFS3ERR_BADTYPE,
            )
        directory = self._place_for(why, directory_id, name)
        if directory is None or why:
            return why.plan(operation)

        def apply() -> None:
            directory.entries[name] = obj.id
            obj.links += 1

        return why.plan_or_ok(operation, apply)

    def remove(self, directory_id: ObjectId, name: bytes) -> Plan[None]:
        operation = f"REMOVE {shown(name)} in #{directory_id}"
        why = Refusals()
        directory = self._directory(why, directory_id)
        if not check_name(why, name, looking_up=True) or directory is None:
            return why.plan(operation)
        if is_dot(name):
            why.add(rules.DOTS, f"{shown(name)} names a directory", NFS3ERR_ISDIR, *REFUSE_DOTS)
            return why.plan(operation)
        child_id = directory.entries.get(name)
        if child_id is None:
            why.add(rules.NOENT, f"no entry {shown(name)}", NFS3ERR_NOENT)
            return why.plan(operation)
        child = self.objects[child_id]
        if not isinstance(child, Directory):
            return why.plan_or_ok(operation, lambda: self._unlink(directory, name))
        why.add(rules.REMOVE_DIR, "REMOVE of a directory (use RMDIR)", NFS3ERR_ISDIR, NFS3ERR_PERM)
        why.warn(
            rules.REMOVE_DIR,
            "REMOVE of a directory",
            NFS3ERR_ACCES,
            NFS3ERR_NOTSUPP,
            NFS3ERR_INVAL,
        )
        if child.entries:
            why.warn(
                rules.REMOVE_DIR,
                "REMOVE of a non-empty directory",
                NFS3ERR_NOTEMPTY,
                NFS3ERR_EXIST,
            )
            return why.plan(operation)
        return why.plan_or_ok(
            operation,
            lambda: self._unlink(directory, name),
            Judgement(
                Verdict.WARN,
                "REMOVE removed an empty directory (RFC 1813 allows it)",
                rules.REMOVE_DIR,
            ),
        )

    def rmdir(self, directory_id: ObjectId, name: bytes) -> Plan[None]:
        operation = f"RMDIR {shown(name)} in #{directory_id}"
        why = Refusals()
        directory = self._directory(why, directory_id)
        if not check_name(why, name, looking_up=True) or directory is None:
            return why.plan(operation)
        if is_dot(name):
            why.add(rules.DOTS, f"{shown(name)} cannot be removed", *REFUSE_DOTS)
            return why.plan(operation)
        child_id = directory.entries.get(name)
        if child_id is None:
            why.add(rules.NOENT, f"no entry {shown(name)}", NFS3ERR_NOENT)
            return why.plan(operation)
        child = self.objects[child_id]
        if not isinstance(child, Directory):
            why.add(rules.NOTDIR, f"{child.type.name} is not a directory", NFS3ERR_NOTDIR)
            return why.plan(operation)
        if child.entries:
            why.add(rules.NOTEMPTY, "the directory is not empty", NFS3ERR_NOTEMPTY, NFS3ERR_EXIST)
            return why.plan(operation)
        return why.plan_or_ok(operation, lambda: self._unlink(directory, name))

    def rename(
        self, from_dir_id: ObjectId, from_name: bytes, to_dir_id: ObjectId, to_name: bytes
    ) -> Plan[None]:
        operation = (
            f"RENAME {shown(from_name)} in #{from_dir_id} to {shown(to_name)} in #{to_dir_id}"
        )
        why = Refusals()
        from_dir = self._directory(why, from_dir_id)
        to_dir = self._directory(why, to_dir_id)
        from_valid = check_name(why, from_name, looking_up=True) and not is_dot(from_name)
        to_valid = check_name(why, to_name, looking_up=False) and not is_dot(to_name)
        if is_dot(from_name) or is_dot(to_name):
            why.add(
                rules.DOTS,
                "'.' and '..' cannot be renamed or replaced",
                *REFUSE_DOTS,
                *DOT_TYPES,
            )
        source_id = from_dir.entries.get(from_name) if from_dir is not None and from_valid else None
        if from_dir is not None and from_valid and source_id is None:
            why.add(rules.NOENT, f"no entry {shown(from_name)}", NFS3ERR_NOENT)
        target_id = to_dir.entries.get(to_name) if to_dir is not None and to_valid else None
        if source_id is not None and to_dir is not None:
            self._check_move(why, self.objects[source_id], to_dir, target_id)
        if why or from_dir is None or to_dir is None or source_id is None:
            return why.plan(operation)
        source = self.objects[source_id]
        if target_id == source_id:
            same = Judgement(Verdict.PASS, "same object")
            return why.plan_or_ok(operation, lambda: self._moved(source), same)

        def apply() -> None:
            if target_id is not None:
                self._unlink(to_dir, to_name)
            del from_dir.entries[from_name]
            to_dir.entries[to_name] = source.id
            if isinstance(source, Directory):
                source.parent = to_dir.id
            self._moved(source)

        return why.plan_or_ok(operation, apply)

    def _check_move(
        self, why: Refusals, source: ModelObject, to_dir: Directory, target_id: ObjectId | None
    ) -> None:
        """The refusals of moving `source` into `to_dir` over `target_id`."""
        if isinstance(source, Directory) and self._is_within(to_dir.id, source.id):
            why.add(rules.RENAME_INTO_ITSELF, "a directory cannot move into itself", NFS3ERR_INVAL)
        if target_id is None or target_id == source.id:
            return
        target = self.objects[target_id]
        if isinstance(source, Directory) and not isinstance(target, Directory):
            why.add(
                rules.RENAME_TYPES,
                "a directory cannot replace a non-directory",
                NFS3ERR_EXIST,
                NFS3ERR_NOTDIR,
            )
        elif not isinstance(source, Directory) and isinstance(target, Directory):
            why.add(
                rules.RENAME_TYPES,
                "a non-directory cannot replace a directory",
                NFS3ERR_EXIST,
                NFS3ERR_ISDIR,
            )
        if isinstance(target, Directory) and target.entries:
            # also when the types clash: RFC 1813 gives the refusals no order (Ganesha
            # answers a non-directory moved over a full directory with NOTEMPTY)
            why.add(
                rules.NOTEMPTY, "the target directory is not empty", NFS3ERR_EXIST, NFS3ERR_NOTEMPTY
            )

    def _moved(self, source: ModelObject) -> None:
        """`source` and what is under it were renamed: their handles name moved objects."""
        self.moved.add(source.id)
        if isinstance(source, Directory):
            self.moved.update(child for _, child in self._walk(source.id, ()))

    def _is_within(self, object_id: ObjectId, ancestor: ObjectId) -> bool:
        while True:
            if object_id == ancestor:
                return True
            if object_id == ROOT_ID:
                return False
            node = self.objects[object_id]
            assert isinstance(node, Directory)
            object_id = node.parent

    def _unlink(self, directory: Directory, name: bytes) -> None:
        child = self.objects[directory.entries.pop(name)]
        child.links -= 1
