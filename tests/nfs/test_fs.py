"""FileSystem semantics on both stores: names, creation, data, permissions, rename, readdir."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reference.nfs.access import (
    NOBODY_IDENTITY,
    ROOT_IDENTITY,
    Identity,
    identity_of,
)
from reference.nfs.attributes import NO_CHANGES, SERVER_TIME, Attributes, SetAttributes
from reference.nfs.errors import NfsError
from reference.nfs.fs import RTMAX, WTMAX, CreateResult, FileSystem
from reference.nfs.readdir import readdir3_budget, readdirplus3_budget
from reference.nfs.store import Store
from reference.rpc.stubs import AuthNone, AuthSys
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs3 import (
    ACCESS3_DELETE,
    ACCESS3_EXECUTE,
    ACCESS3_EXTEND,
    ACCESS3_LOOKUP,
    ACCESS3_MODIFY,
    ACCESS3_READ,
    NFS3ERR_ACCES,
    NFS3ERR_BAD_COOKIE,
    NFS3ERR_BADTYPE,
    NFS3ERR_EXIST,
    NFS3ERR_INVAL,
    NFS3ERR_ISDIR,
    NFS3ERR_NAMETOOLONG,
    NFS3ERR_NOENT,
    NFS3ERR_NOT_SYNC,
    NFS3ERR_NOTDIR,
    NFS3ERR_NOTEMPTY,
    NFS3ERR_PERM,
    NFS3ERR_STALE,
    NFS3ERR_TOOSMALL,
    createmode3,
    ftype3,
    stable_how,
)
from tests.nfs.conftest import Backend, StepClock, seeded_random

ROOT = ROOT_IDENTITY
ALICE = Identity(1000, 1000)
BOB = Identity(1001, 1001)
CAROL = Identity(1002, 1002, (1000,))  # in Alice's group
ALL_ACCESS = (
    ACCESS3_READ
    | ACCESS3_LOOKUP
    | ACCESS3_MODIFY
    | ACCESS3_EXTEND
    | ACCESS3_DELETE
    | ACCESS3_EXECUTE
)


@contextmanager
def fails_with(status: int) -> Iterator[None]:
    with pytest.raises(NfsError) as raised:
        yield
    assert raised.value.status == status, raised.value.message


def mkdir(fs: FileSystem, parent: bytes, name: bytes, who: Identity = ROOT) -> CreateResult:
    return fs.mkdir(parent, name, NO_CHANGES, who)


def write(fs: FileSystem, handle: bytes, data: bytes, offset: int = 0) -> None:
    fs.write(handle, offset, data, stable_how.FILE_SYNC, ROOT)


def read_all(fs: FileSystem, handle: bytes) -> bytes:
    return fs.read(handle, 0, RTMAX, ROOT).data


def names_in(fs: FileSystem, directory: bytes) -> list[bytes]:
    page = fs.readdir(directory, ROOT, 0, bytes(8), readdir3_budget(1 << 20))
    assert page.eof
    return [entry.name for entry in page.entries]


# -- names and lookup ---------------------------------------------------------------------


def test_dot_and_dotdot_of_the_root_are_the_root(fs: FileSystem) -> None:
    root = fs.root_handle()
    assert fs.lookup(root, b".", ROOT).handle == root
    assert fs.lookup(root, b"..", ROOT).handle == root


def test_dotdot_of_a_subdirectory_is_its_parent(fs: FileSystem) -> None:
    root = fs.root_handle()
    sub = mkdir(fs, root, b"sub")
    subsub = mkdir(fs, sub.handle, b"subsub")
    assert fs.lookup(subsub.handle, b"..", ROOT).handle == sub.handle
    assert fs.lookup(sub.handle, b"..", ROOT).handle == root


@pytest.mark.parametrize(
    ("name", "status"),
    [
        (b"", NFS3ERR_INVAL),
        (b"a/b", NFS3ERR_INVAL),
        (b"a\0b", NFS3ERR_INVAL),
        (b"x" * 256, NFS3ERR_NAMETOOLONG),
    ],
)
def test_bad_names_are_refused_by_every_operation(fs: FileSystem, name: bytes, status: int) -> None:
    root = fs.root_handle()
    with fails_with(status):
        fs.lookup(root, name, ROOT)
    with fails_with(status):
        fs.create(root, name, ROOT)
    with fails_with(status):
        mkdir(fs, root, name)
    with fails_with(status):
        fs.remove(root, name, ROOT)
    assert names_in(fs, root) == [b".", b".."]


def test_a_name_of_255_bytes_is_fine(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"n" * 255, ROOT)
    assert fs.lookup(fs.root_handle(), b"n" * 255, ROOT).handle == made.handle


def test_lookup_of_a_missing_name_and_in_a_file(fs: FileSystem) -> None:
    root = fs.root_handle()
    with fails_with(NFS3ERR_NOENT):
        fs.lookup(root, b"missing", ROOT)
    made = fs.create(root, b"file", ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.lookup(made.handle, b"x", ROOT)


def test_searching_a_directory_needs_execute_permission(fs: FileSystem) -> None:
    listable = fs.mkdir(fs.root_handle(), b"d", SetAttributes(mode=0o754), ALICE)
    fs.create(listable.handle, b"f", ALICE)
    with fails_with(NFS3ERR_ACCES):
        fs.lookup(listable.handle, b"f", BOB)
    with fails_with(NFS3ERR_ACCES):
        fs.lookup(listable.handle, b"..", BOB)
    assert fs.lookup(listable.handle, b"f", CAROL).attributes.uid == ALICE.uid


def test_dot_names_cannot_be_created(fs: FileSystem) -> None:
    root = fs.root_handle()
    for name in (b".", b".."):
        with fails_with(NFS3ERR_EXIST):
            fs.create(root, name, ROOT)
        with fails_with(NFS3ERR_EXIST):
            fs.symlink(root, name, b"target", NO_CHANGES, ROOT)


# -- create ---------------------------------------------------------------------------------


def test_create_sets_owner_mode_and_directory_times(fs: FileSystem, clock: StepClock) -> None:
    root = fs.root_handle()
    before = fs.getattr(root)
    clock.advance(5_000)
    made = fs.create(root, b"f", ALICE, attributes=SetAttributes(mode=0o640))
    assert (made.attributes.uid, made.attributes.gid) == (1000, 1000)
    assert made.attributes.mode == 0o640 and made.attributes.type == ftype3.NF3REG
    assert made.directory.before.mtime_ns == before.mtime_ns
    assert made.directory.after.mtime_ns == made.attributes.ctime_ns > before.mtime_ns
    assert fs.getattr(root) == made.directory.after


def test_guarded_create_of_an_existing_name_is_exist(fs: FileSystem) -> None:
    root = fs.root_handle()
    fs.create(root, b"f", ROOT, how=createmode3.GUARDED)
    with fails_with(NFS3ERR_EXIST):
        fs.create(root, b"f", ROOT, how=createmode3.GUARDED)


def test_unchecked_create_of_an_existing_file_applies_only_the_size(fs: FileSystem) -> None:
    root = fs.root_handle()
    made = fs.create(root, b"f", ROOT, attributes=SetAttributes(mode=0o600))
    write(fs, made.handle, b"0123456789")
    again = fs.create(root, b"f", ROOT, attributes=SetAttributes(mode=0o777, size=4))
    assert again.handle == made.handle
    assert again.attributes.mode == 0o600
    assert read_all(fs, made.handle) == b"0123"
    mkdir(fs, root, b"d")
    with fails_with(NFS3ERR_EXIST):
        fs.create(root, b"d", ROOT)


def test_exclusive_create_retried_with_its_verifier_returns_the_same_file(fs: FileSystem) -> None:
    root = fs.root_handle()
    first = fs.create(root, b"x", ALICE, how=createmode3.EXCLUSIVE, verifier=b"verifier")
    write(fs, first.handle, b"data")
    retry = fs.create(root, b"x", ALICE, how=createmode3.EXCLUSIVE, verifier=b"verifier")
    assert retry.handle == first.handle
    assert read_all(fs, retry.handle) == b"data"
    with fails_with(NFS3ERR_EXIST):
        fs.create(root, b"x", ALICE, how=createmode3.EXCLUSIVE, verifier=b"other!!!")
    with fails_with(NFS3ERR_EXIST):
        fs.create(root, b"x", ALICE, how=createmode3.GUARDED)


def test_exclusive_create_survives_a_restart(backend: Backend, clock: StepClock) -> None:
    fs = FileSystem(backend.store, clock)
    first = fs.create(fs.root_handle(), b"x", ROOT, how=createmode3.EXCLUSIVE, verifier=b"12345678")
    fs = FileSystem(backend.reopen(), clock)
    retry = fs.create(fs.root_handle(), b"x", ROOT, how=createmode3.EXCLUSIVE, verifier=b"12345678")
    assert retry.handle == first.handle


def test_files_created_in_a_setgid_directory_take_its_group(fs: FileSystem) -> None:
    root = fs.root_handle()
    shared = fs.mkdir(root, b"shared", SetAttributes(mode=0o2777, gid=50), ROOT)
    made = fs.create(shared.handle, b"f", ALICE)
    sub = mkdir(fs, shared.handle, b"sub", ALICE)
    assert made.attributes.gid == 50 and sub.attributes.gid == 50
    assert sub.attributes.mode & 0o2000


# -- data -----------------------------------------------------------------------------------


def test_a_write_past_the_end_leaves_zeros_and_reports_wcc(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ROOT)
    result = fs.write(made.handle, 3, b"abc", stable_how.DATA_SYNC, ROOT)
    assert result.count == 3 and result.committed == stable_how.FILE_SYNC
    assert result.wcc.before.size == 0 and result.wcc.after.size == 6
    page = fs.read(made.handle, 0, 100, ROOT)
    assert (page.data, page.eof) == (b"\0\0\0abc", True)
    partial = fs.read(made.handle, 1, 2, ROOT)
    assert (partial.data, partial.eof) == (b"\0\0", False)
    assert fs.read(made.handle, 10, 5, ROOT).data == b""


def test_reads_are_capped_at_rtmax_and_writes_at_wtmax(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"big", ROOT)
    data = bytes(range(256)) * (WTMAX // 256 + 16)
    assert fs.write(made.handle, 0, data, stable_how.FILE_SYNC, ROOT).count == WTMAX
    write(fs, made.handle, data[WTMAX:], offset=WTMAX)
    page = fs.read(made.handle, 0, 2 * RTMAX, ROOT)
    assert page.data == data[:RTMAX] and not page.eof
    assert read_all(fs, made.handle) + fs.read(made.handle, RTMAX, RTMAX, ROOT).data == data


def test_reading_or_writing_a_directory_is_isdir_and_a_symlink_inval(fs: FileSystem) -> None:
    root = fs.root_handle()
    link = fs.symlink(root, b"l", b"target", NO_CHANGES, ROOT)
    with fails_with(NFS3ERR_ISDIR):
        fs.read(root, 0, 1, ROOT)
    with fails_with(NFS3ERR_ISDIR):
        fs.write(root, 0, b"x", stable_how.FILE_SYNC, ROOT)
    with fails_with(NFS3ERR_INVAL):
        fs.read(link.handle, 0, 1, ROOT)


def test_unstable_writes_are_lost_by_a_crash_until_committed(
    backend: Backend, clock: StepClock
) -> None:
    fs = FileSystem(backend.store, clock, random_bytes=seeded_random(1))
    made = fs.create(fs.root_handle(), b"f", ROOT)
    first = fs.write(made.handle, 0, b"committed", stable_how.UNSTABLE, ROOT)
    assert first.committed == stable_how.UNSTABLE
    commit = fs.commit(made.handle)
    assert commit.verifier == first.verifier
    fs.write(made.handle, 9, b"+volatile", stable_how.UNSTABLE, ROOT)
    assert read_all(fs, made.handle) == b"committed+volatile"
    restarted = FileSystem(backend.reopen(), clock, random_bytes=seeded_random(2))
    assert read_all(restarted, made.handle) == b"committed"
    assert restarted.write_verifier != first.verifier


def test_the_write_verifier_changes_when_the_store_loses_volatile_data(store: Store) -> None:
    fs = FileSystem(store, StepClock())
    before = fs.write_verifier
    assert fs.write_verifier == before and len(before) == 8
    store.crash()
    assert fs.write_verifier != before


def test_every_filesystem_instance_has_its_own_verifier(store: Store) -> None:
    verifiers = {FileSystem(store, StepClock()).write_verifier for _ in range(5)}
    assert len(verifiers) == 5


def test_changes_get_strictly_increasing_times_even_if_the_clock_stands_still(
    fs: FileSystem,
) -> None:
    made = fs.create(fs.root_handle(), b"f", ROOT)
    first = fs.write(made.handle, 0, b"a", stable_how.UNSTABLE, ROOT).wcc.after
    second = fs.write(made.handle, 0, b"b", stable_how.UNSTABLE, ROOT).wcc.after
    assert made.attributes.mtime_ns < first.mtime_ns < second.mtime_ns
    assert second.ctime_ns == second.mtime_ns


def test_after_a_restart_with_the_clock_stepped_back_times_still_increase(
    backend: Backend, clock: StepClock
) -> None:
    fs = FileSystem(backend.store, clock)
    made = fs.create(fs.root_handle(), b"f", ROOT)
    before = fs.write(made.handle, 0, b"first", stable_how.FILE_SYNC, ROOT).wcc.after
    clock.advance(-3600 * 10**9)  # NTP stepped the clock back an hour while it was down
    restarted = FileSystem(backend.reopen(), clock)
    after = restarted.write(made.handle, 0, b"other", stable_how.FILE_SYNC, ROOT).wcc.after
    assert after.ctime_ns > before.ctime_ns  # else a cache could take "other" for "first"
    made_later = restarted.create(restarted.root_handle(), b"g", ROOT)
    assert made_later.attributes.ctime_ns > after.ctime_ns


# -- setattr ----------------------------------------------------------------------------


def test_setattr_size_truncates_and_extends_with_zeros(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ROOT)
    write(fs, made.handle, b"abcdef")
    wcc = fs.setattr(made.handle, SetAttributes(size=2), ROOT)
    assert (wcc.before.size, wcc.after.size) == (6, 2)
    assert wcc.after.mtime_ns == wcc.after.ctime_ns > wcc.before.mtime_ns
    fs.setattr(made.handle, SetAttributes(size=5), ROOT)
    assert read_all(fs, made.handle) == b"ab\0\0\0"


def test_setattr_size_of_a_directory_is_isdir(fs: FileSystem) -> None:
    with fails_with(NFS3ERR_ISDIR):
        fs.setattr(fs.root_handle(), SetAttributes(size=0), ROOT)


def test_setattr_guard_mismatch_is_not_sync_and_changes_nothing(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ROOT)
    ctime = made.attributes.ctime_ns
    with fails_with(NFS3ERR_NOT_SYNC):
        fs.setattr(made.handle, SetAttributes(mode=0o600), ROOT, guard_ctime_ns=ctime - 1)
    assert fs.getattr(made.handle) == made.attributes
    wcc = fs.setattr(made.handle, SetAttributes(mode=0o600), ROOT, guard_ctime_ns=ctime)
    assert wcc.after.mode == 0o600 and wcc.after.ctime_ns > ctime


def test_setattr_times_from_the_client_or_the_server(fs: FileSystem, clock: StepClock) -> None:
    made = fs.create(fs.root_handle(), b"f", ALICE)
    set_client = SetAttributes(atime=1_000_000_123, mtime=2_000_000_456)
    after = fs.setattr(made.handle, set_client, ALICE).after
    assert (after.atime_ns, after.mtime_ns) == (1_000_000_123, 2_000_000_456)
    clock.advance(10**9)
    after = fs.setattr(made.handle, SetAttributes(mtime=SERVER_TIME), ALICE).after
    assert after.mtime_ns == after.ctime_ns >= clock.now_ns
    assert after.atime_ns == 1_000_000_123


def test_setattr_permissions(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ALICE, attributes=SetAttributes(mode=0o666))
    with fails_with(NFS3ERR_PERM):
        fs.setattr(made.handle, SetAttributes(mode=0o777), BOB)
    with fails_with(NFS3ERR_PERM):
        fs.setattr(made.handle, SetAttributes(uid=1001), ALICE)
    with fails_with(NFS3ERR_PERM):
        fs.setattr(made.handle, SetAttributes(gid=1001), ALICE)
    with fails_with(NFS3ERR_PERM):
        fs.setattr(made.handle, SetAttributes(mtime=5), BOB)
    fs.setattr(made.handle, SetAttributes(mtime=SERVER_TIME), BOB)  # has write permission
    fs.setattr(made.handle, SetAttributes(uid=1001, gid=1001), ROOT)
    assert (fs.getattr(made.handle).uid, fs.getattr(made.handle).gid) == (1001, 1001)


# -- access -----------------------------------------------------------------------------


def test_access_follows_owner_group_and_other_bits(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ALICE, attributes=SetAttributes(mode=0o751))
    assert fs.access(made.handle, ALICE, ALL_ACCESS).granted == (
        ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_EXECUTE
    )
    assert fs.access(made.handle, CAROL, ALL_ACCESS).granted == ACCESS3_READ | ACCESS3_EXECUTE
    assert fs.access(made.handle, BOB, ALL_ACCESS).granted == ACCESS3_EXECUTE
    assert fs.access(made.handle, BOB, ACCESS3_READ).granted == 0


def test_root_may_do_anything_but_execute_a_file_without_x_bits(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ALICE, attributes=SetAttributes(mode=0o600))
    granted = fs.access(made.handle, ROOT, ALL_ACCESS).granted
    assert granted == ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND
    fs.setattr(made.handle, SetAttributes(mode=0o610), ALICE)
    assert fs.access(made.handle, ROOT, ACCESS3_EXECUTE).granted == ACCESS3_EXECUTE


def test_directory_access_bits(fs: FileSystem) -> None:
    made = fs.mkdir(fs.root_handle(), b"d", SetAttributes(mode=0o705), ALICE)
    assert fs.access(made.handle, ALICE, ALL_ACCESS).granted == (
        ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE
    )
    assert fs.access(made.handle, BOB, ALL_ACCESS).granted == ACCESS3_READ | ACCESS3_LOOKUP


def test_credentials_map_to_identities() -> None:
    assert identity_of(AuthNone()) == NOBODY_IDENTITY
    root = AuthSys(0, b"host", 0, 0, (0, 5))
    assert identity_of(root) == Identity(0, 0, (0, 5))
    assert identity_of(root, root_squash=True) == Identity(65534, 65534, (65534, 5))
    alice = AuthSys(0, b"host", 1000, 1000, (7,))
    assert identity_of(alice, root_squash=True) == Identity(1000, 1000, (7,))


def test_squashed_root_is_refused_where_root_is_not(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"secret", ALICE, attributes=SetAttributes(mode=0o600))
    squashed = identity_of(AuthSys(0, b"h", 0, 0, ()), root_squash=True)
    with fails_with(NFS3ERR_ACCES):
        fs.read(made.handle, 0, 10, squashed)
    assert fs.read(made.handle, 0, 10, ROOT).eof


def test_the_owner_may_read_and_write_whatever_the_mode(fs: FileSystem) -> None:
    made = fs.create(fs.root_handle(), b"f", ALICE, attributes=SetAttributes(mode=0o000))
    fs.write(made.handle, 0, b"mine", stable_how.FILE_SYNC, ALICE)
    assert fs.read(made.handle, 0, 10, ALICE).data == b"mine"
    with fails_with(NFS3ERR_ACCES):
        fs.read(made.handle, 0, 10, BOB)
    with fails_with(NFS3ERR_ACCES):
        fs.write(made.handle, 0, b"x", stable_how.FILE_SYNC, CAROL)


def test_creating_in_a_directory_needs_write_and_search_permission(fs: FileSystem) -> None:
    private = fs.mkdir(fs.root_handle(), b"p", SetAttributes(mode=0o755), ALICE)
    with fails_with(NFS3ERR_ACCES):
        fs.create(private.handle, b"f", BOB)
    with fails_with(NFS3ERR_NOENT):
        fs.remove(private.handle, b"f", BOB)
    fs.create(private.handle, b"f", ALICE)
    with fails_with(NFS3ERR_ACCES):
        fs.remove(private.handle, b"f", BOB)


def test_a_sticky_directory_protects_other_users_entries(fs: FileSystem) -> None:
    tmp = fs.mkdir(fs.root_handle(), b"tmp", SetAttributes(mode=0o1777), ROOT)
    fs.create(tmp.handle, b"alices", ALICE)
    with fails_with(NFS3ERR_PERM):
        fs.remove(tmp.handle, b"alices", BOB)
    with fails_with(NFS3ERR_PERM):
        fs.rename(tmp.handle, b"alices", tmp.handle, b"bobs", BOB)
    fs.remove(tmp.handle, b"alices", ALICE)


# -- symlinks and special files ----------------------------------------------------------


def test_symlinks_are_stored_verbatim(fs: FileSystem) -> None:
    root = fs.root_handle()
    link = fs.symlink(root, b"l", b"../../etc/passwd", SetAttributes(mode=0o600), ROOT)
    assert link.attributes.type == ftype3.NF3LNK and link.attributes.mode == 0o777
    assert link.attributes.size == len(b"../../etc/passwd")
    assert fs.readlink(link.handle).target == b"../../etc/passwd"
    with fails_with(NFS3ERR_INVAL):
        fs.readlink(root)
    with fails_with(NFS3ERR_INVAL):
        fs.symlink(root, b"empty", b"", NO_CHANGES, ROOT)
    with fails_with(NFS3ERR_NAMETOOLONG):
        fs.symlink(root, b"long", b"x" * 4097, NO_CHANGES, ROOT)


def test_mknod_makes_devices_sockets_and_fifos_only(fs: FileSystem) -> None:
    root = fs.root_handle()
    device = fs.mknod(root, b"tty", ftype3.NF3CHR, NO_CHANGES, ROOT, rdev=(4, 1))
    assert device.attributes.type == ftype3.NF3CHR and device.attributes.rdev == (4, 1)
    fifo = fs.mknod(root, b"fifo", ftype3.NF3FIFO, SetAttributes(mode=0o600), ALICE)
    assert fifo.attributes.type == ftype3.NF3FIFO and fifo.attributes.mode == 0o600
    assert fs.mknod(root, b"s", ftype3.NF3SOCK, NO_CHANGES, ALICE).attributes.rdev == (0, 0)
    for kind in (ftype3.NF3REG, ftype3.NF3DIR, ftype3.NF3LNK):
        with fails_with(NFS3ERR_BADTYPE):
            fs.mknod(root, b"bad", kind, NO_CHANGES, ROOT)
    with fails_with(NFS3ERR_PERM):
        fs.mknod(root, b"disk", ftype3.NF3BLK, NO_CHANGES, ALICE, rdev=(8, 0))
    with fails_with(NFS3ERR_EXIST):
        fs.mknod(root, b"fifo", ftype3.NF3FIFO, NO_CHANGES, ROOT)


# -- remove, rmdir, link ------------------------------------------------------------------


def test_directory_link_counts(fs: FileSystem) -> None:
    root = fs.root_handle()
    assert fs.getattr(root).nlink == 2
    a = mkdir(fs, root, b"a")
    mkdir(fs, a.handle, b"b")
    assert fs.getattr(root).nlink == 3 and fs.getattr(a.handle).nlink == 3
    fs.rmdir(a.handle, b"b", ROOT)
    assert fs.getattr(a.handle).nlink == 2


def test_rmdir_rules(fs: FileSystem) -> None:
    root = fs.root_handle()
    d = mkdir(fs, root, b"d")
    fs.create(d.handle, b"f", ROOT)
    with fails_with(NFS3ERR_NOTEMPTY):
        fs.rmdir(root, b"d", ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.rmdir(d.handle, b"f", ROOT)
    with fails_with(NFS3ERR_INVAL):
        fs.rmdir(d.handle, b".", ROOT)
    with fails_with(NFS3ERR_EXIST):
        fs.rmdir(d.handle, b"..", ROOT)
    with fails_with(NFS3ERR_NOENT):
        fs.rmdir(root, b"missing", ROOT)
    fs.remove(d.handle, b"f", ROOT)
    fs.rmdir(root, b"d", ROOT)
    with fails_with(NFS3ERR_STALE):
        fs.getattr(d.handle)


def test_remove_of_a_directory_is_isdir(fs: FileSystem) -> None:
    root = fs.root_handle()
    mkdir(fs, root, b"d")
    for name in (b"d", b".", b".."):
        with fails_with(NFS3ERR_ISDIR):
            fs.remove(root, name, ROOT)


def test_hard_links_share_data_until_the_last_one_goes(fs: FileSystem) -> None:
    root = fs.root_handle()
    made = fs.create(root, b"a", ROOT)
    write(fs, made.handle, b"shared")
    d = mkdir(fs, root, b"d")
    linked = fs.link(made.handle, d.handle, b"b", ROOT)
    assert linked.attributes.nlink == 2
    assert linked.directory.after.mtime_ns > linked.directory.before.mtime_ns
    fs.remove(root, b"a", ROOT)
    assert fs.getattr(made.handle).nlink == 1
    assert read_all(fs, fs.lookup(d.handle, b"b", ROOT).handle) == b"shared"
    fs.remove(d.handle, b"b", ROOT)
    with fails_with(NFS3ERR_STALE):
        fs.getattr(made.handle)


def test_link_rules(fs: FileSystem) -> None:
    root = fs.root_handle()
    d = mkdir(fs, root, b"d")
    made = fs.create(root, b"f", ROOT)
    with fails_with(NFS3ERR_PERM):
        fs.link(d.handle, root, b"d2", ROOT)
    with fails_with(NFS3ERR_EXIST):
        fs.link(made.handle, root, b"d", ROOT)
    with fails_with(NFS3ERR_EXIST):
        fs.link(made.handle, root, b"..", ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.link(made.handle, made.handle, b"x", ROOT)


# -- rename ---------------------------------------------------------------------------------


def test_rename_replaces_a_file_atomically(fs: FileSystem) -> None:
    root = fs.root_handle()
    old = fs.create(root, b"old", ROOT)
    write(fs, old.handle, b"old")
    new = fs.create(root, b"new", ROOT)
    write(fs, new.handle, b"new")
    fs.rename(root, b"new", root, b"old", ROOT)
    assert names_in(fs, root) == [b".", b"..", b"old"]
    assert fs.lookup(root, b"old", ROOT).handle == new.handle
    assert read_all(fs, new.handle) == b"new"
    with fails_with(NFS3ERR_STALE):
        fs.getattr(old.handle)


def test_rename_keeps_a_replaced_file_with_other_links(fs: FileSystem) -> None:
    root = fs.root_handle()
    target = fs.create(root, b"target", ROOT)
    fs.link(target.handle, root, b"other", ROOT)
    fs.create(root, b"source", ROOT)
    fs.rename(root, b"source", root, b"target", ROOT)
    assert fs.getattr(target.handle).nlink == 1


def test_rename_onto_another_link_of_the_same_file_changes_nothing(fs: FileSystem) -> None:
    root = fs.root_handle()
    made = fs.create(root, b"a", ROOT)
    fs.link(made.handle, root, b"b", ROOT)
    before = fs.getattr(root)
    result = fs.rename(root, b"a", root, b"b", ROOT)
    assert result.source_directory.after == before
    assert names_in(fs, root) == [b".", b"..", b"a", b"b"]
    fs.rename(root, b"a", root, b"a", ROOT)
    assert fs.getattr(made.handle).nlink == 2


def test_rename_directory_rules(fs: FileSystem) -> None:
    root = fs.root_handle()
    a = mkdir(fs, root, b"a")
    inner = mkdir(fs, a.handle, b"inner")
    full = mkdir(fs, root, b"full")
    fs.create(full.handle, b"x", ROOT)
    fs.create(root, b"file", ROOT)
    with fails_with(NFS3ERR_NOTEMPTY):
        fs.rename(root, b"a", root, b"full", ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.rename(root, b"a", root, b"file", ROOT)
    with fails_with(NFS3ERR_ISDIR):
        fs.rename(root, b"file", root, b"a", ROOT)
    with fails_with(NFS3ERR_INVAL):
        fs.rename(root, b"a", inner.handle, b"a", ROOT)
    with fails_with(NFS3ERR_INVAL):
        fs.rename(root, b"a", a.handle, b"self", ROOT)
    with fails_with(NFS3ERR_NOENT):
        fs.rename(root, b"missing", root, b"x", ROOT)
    for dotted in (b".", b".."):
        with fails_with(NFS3ERR_INVAL):
            fs.rename(root, dotted, root, b"x", ROOT)
        with fails_with(NFS3ERR_INVAL):
            fs.rename(root, b"file", root, dotted, ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.rename(root, b"file", fs.lookup(root, b"file", ROOT).handle, b"x", ROOT)
    assert names_in(fs, root) == [b".", b"..", b"a", b"full", b"file"]


def test_moving_a_directory_updates_dotdot_and_link_counts(fs: FileSystem) -> None:
    root = fs.root_handle()
    a = mkdir(fs, root, b"a")
    b = mkdir(fs, root, b"b")
    moved = mkdir(fs, a.handle, b"moved")
    result = fs.rename(a.handle, b"moved", b.handle, b"here", ROOT)
    assert result.source_directory.after.nlink == 2
    assert result.target_directory.after.nlink == 3
    assert fs.lookup(moved.handle, b"..", ROOT).handle == b.handle
    assert fs.getattr(root).nlink == 4


def test_a_directory_may_replace_an_empty_directory(fs: FileSystem) -> None:
    root = fs.root_handle()
    a = mkdir(fs, root, b"a")
    empty = mkdir(fs, root, b"empty")
    fs.rename(root, b"a", root, b"empty", ROOT)
    assert fs.lookup(root, b"empty", ROOT).handle == a.handle
    assert fs.getattr(root).nlink == 3
    with fails_with(NFS3ERR_STALE):
        fs.getattr(empty.handle)


# -- readdir ------------------------------------------------------------------------------


def _encoded_readdir_size(page_attrs: Attributes, entries: list[nfs3.entry3]) -> int:
    def time(ns: int) -> nfs3.nfstime3:
        return nfs3.nfstime3(*divmod(ns, 10**9))

    a = page_attrs
    fattr = nfs3.fattr3(
        a.type, a.mode, a.nlink, a.uid, a.gid, a.size, a.used, nfs3.specdata3(*a.rdev),
        a.fsid, a.fileid, time(a.atime_ns), time(a.mtime_ns), time(a.ctime_ns),
    )  # fmt: skip
    resok = nfs3.READDIR3resok(
        nfs3.post_op_attr(True, fattr), bytes(8), nfs3.dirlist3(entries, False)
    )
    return len(resok.encode())


@pytest.mark.parametrize("count", [200, 333, 512, 1024, 4096])
def test_readdir_pages_fit_the_count_and_together_list_everything(
    fs: FileSystem, count: int
) -> None:
    root = fs.root_handle()
    expected = [b".", b".."] + [b"entry-%d" % i + b"x" * (i % 7) for i in range(60)]
    for name in expected[2:]:
        fs.create(root, name, ROOT)
    seen: list[bytes] = []
    cookie, verifier, eof = 0, bytes(8), False
    while not eof:
        page = fs.readdir(root, ROOT, cookie, verifier, readdir3_budget(count))
        entries = [nfs3.entry3(e.fileid, e.name, e.cookie) for e in page.entries]
        assert entries and _encoded_readdir_size(page.directory, entries) <= count
        seen += [entry.name for entry in page.entries]
        cookie, verifier, eof = page.entries[-1].cookie, page.verifier, page.eof
    assert seen == expected


def test_readdir_with_a_count_too_small_for_one_entry_is_toosmall(fs: FileSystem) -> None:
    with fails_with(NFS3ERR_TOOSMALL):
        fs.readdir(fs.root_handle(), ROOT, 0, bytes(8), readdir3_budget(120))


def test_readdir_cookies_survive_unrelated_changes(fs: FileSystem) -> None:
    root = fs.root_handle()
    for name in (b"a", b"b", b"c", b"d"):
        fs.create(root, name, ROOT)
    first = fs.readdir(root, ROOT, 0, bytes(8), readdir3_budget(104 + 4 * 32))
    assert [e.name for e in first.entries] == [b".", b"..", b"a", b"b"]
    fs.remove(root, b"a", ROOT)
    fs.remove(root, b"b", ROOT)
    fs.create(root, b"e", ROOT)
    fs.rename(root, b"c", root, b"c2", ROOT)
    rest = fs.readdir(root, ROOT, first.entries[-1].cookie, first.verifier, readdir3_budget(4096))
    assert [e.name for e in rest.entries] == [b"d", b"e", b"c2"]
    assert rest.eof and rest.verifier == first.verifier


def test_bad_cookies_and_verifiers(fs: FileSystem) -> None:
    root = fs.root_handle()
    fs.create(root, b"a", ROOT)
    page = fs.readdir(root, ROOT, 0, bytes(8), readdir3_budget(4096))
    last = page.entries[-1].cookie
    with fails_with(NFS3ERR_BAD_COOKIE):
        fs.readdir(root, ROOT, last + 1, page.verifier, readdir3_budget(4096))
    with fails_with(NFS3ERR_BAD_COOKIE):
        fs.readdir(root, ROOT, last, b"12345678", readdir3_budget(4096))
    other = mkdir(fs, root, b"other")
    other_verifier = fs.readdir(other.handle, ROOT, 0, bytes(8), readdir3_budget(4096)).verifier
    with fails_with(NFS3ERR_BAD_COOKIE):
        fs.readdir(root, ROOT, last, other_verifier, readdir3_budget(4096))
    assert fs.readdir(root, ROOT, last, bytes(8), readdir3_budget(4096)).entries[0].name == (
        b"other"
    )


def test_readdir_of_a_file_is_notdir_and_of_an_unreadable_directory_acces(
    fs: FileSystem,
) -> None:
    made = fs.create(fs.root_handle(), b"f", ROOT)
    with fails_with(NFS3ERR_NOTDIR):
        fs.readdir(made.handle, ROOT, 0, bytes(8), readdir3_budget(4096))
    closed = fs.mkdir(fs.root_handle(), b"closed", SetAttributes(mode=0o711), ALICE)
    with fails_with(NFS3ERR_ACCES):
        fs.readdir(closed.handle, BOB, 0, bytes(8), readdir3_budget(4096))


def test_readdirplus_carries_handles_and_attributes_within_both_counts(fs: FileSystem) -> None:
    root = fs.root_handle()
    made = fs.create(root, b"f", ROOT)
    page = fs.readdir(root, ROOT, 0, bytes(8), readdirplus3_budget(4096, 4096), plus=True)
    entry = page.entries[-1]
    assert (entry.name, entry.handle, entry.attributes) == (b"f", made.handle, made.attributes)
    assert page.entries[0].handle == root
    small = fs.readdir(root, ROOT, 0, bytes(8), readdirplus3_budget(4096, 104 + 2 * 160))
    assert len(small.entries) == 2 and not small.eof
    tight = fs.readdir(root, ROOT, 0, bytes(8), readdirplus3_budget(24, 4096))
    assert len(tight.entries) == 1


# -- file system information --------------------------------------------------------------


def test_fsinfo_pathconf_and_fsstat(fs: FileSystem) -> None:
    root = fs.root_handle()
    info = fs.fsinfo(root)
    assert info.rtmax == info.wtmax == 1 << 20 and info.dtpref == 64 << 10
    assert info.time_delta_ns == 1 and info.properties == 0x1B
    conf = fs.pathconf(root)
    assert conf.name_max == 255 and conf.no_trunc and not conf.case_insensitive
    before = fs.fsstat(root)
    made = fs.create(root, b"f", ROOT)
    write(fs, made.handle, b"x" * 5000)
    after = fs.fsstat(root)
    assert after.free_files == before.free_files - 1
    assert after.free_bytes == before.free_bytes - 5000
    assert after.total_bytes == before.total_bytes
