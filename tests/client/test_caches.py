"""The client's caches and write-behind bookkeeping on their own (no I/O), its options and
its error mapping."""

from __future__ import annotations

import errno

import pytest

from reference.client.attr_cache import AttributeCache, Signature
from reference.client.data_cache import PAGE_SIZE, DataCache, FilePages
from reference.client.errors import StaleFileHandle, nfs_error, rpc_failure
from reference.client.files import split_path
from reference.client.lookup_cache import LookupCache
from reference.client.options import ClientBugs, MountOptions
from reference.client.write_back import DirtyExtents, Extent, SentWrite, WriteBack, overlay
from reference.rpc.errors import RpcTimeout
from reference.xdr.gen.nfs3 import fattr3, ftype3, nfsstat3, nfstime3, specdata3


def attrs(size: int = 0, mtime: int = 1, kind: ftype3 = ftype3.NF3REG, atime: int = 0) -> fattr3:
    return fattr3(
        kind,
        0o644,
        1,
        0,
        0,
        size,
        size,
        specdata3(0, 0),
        1,
        7,
        nfstime3(atime, 0),
        nfstime3(mtime, 0),
        nfstime3(mtime, 0),
    )


# -- attribute cache ------------------------------------------------------------------------


def test_a_new_entry_is_trusted_for_acregmin() -> None:
    cache = AttributeCache(MountOptions())
    cache.store(b"h", attrs(), fetched_at=10.0)
    assert cache.valid(b"h", 12.9) is not None
    assert cache.valid(b"h", 13.0) is None


def test_unchanged_revalidations_double_the_timeout_up_to_acregmax() -> None:
    cache = AttributeCache(MountOptions(acregmin=3, acregmax=10))
    now = 0.0
    cache.store(b"h", attrs(), now)
    timeouts = []
    for _ in range(4):
        entry = cache.get(b"h")
        assert entry is not None
        now = entry.fetched_at + entry.timeout  # revalidate as soon as it expires
        cache.store(b"h", attrs(atime=int(now)), now)  # atime alone is no change
        entry = cache.get(b"h")
        assert entry is not None
        timeouts.append(entry.timeout)
    assert timeouts == [6, 10, 10, 10]


def test_a_change_drops_the_timeout_back_to_the_minimum() -> None:
    cache = AttributeCache(MountOptions(acregmin=3, acregmax=60))
    cache.store(b"h", attrs(), 0.0)
    cache.store(b"h", attrs(), 3.0)
    cache.store(b"h", attrs(size=5, mtime=2), 9.0)
    entry = cache.get(b"h")
    assert entry is not None and entry.timeout == 3


def test_a_revalidation_before_expiry_keeps_the_timeout() -> None:
    cache = AttributeCache(MountOptions(acregmin=3, acregmax=60))
    cache.store(b"h", attrs(), 0.0)
    cache.store(b"h", attrs(), 1.0)
    entry = cache.get(b"h")
    assert entry is not None and entry.timeout == 3 and entry.fetched_at == 1.0


def test_our_own_change_keeps_the_timeout() -> None:
    cache = AttributeCache(MountOptions(acregmin=3, acregmax=60))
    cache.store(b"h", attrs(), 0.0)
    cache.store(b"h", attrs(), 3.0)
    cache.store(b"h", attrs(size=9, mtime=5), 4.0, own=True)
    entry = cache.get(b"h")
    assert entry is not None and entry.timeout == 6 and entry.attributes.size == 9


def test_older_attributes_never_replace_newer_ones() -> None:
    cache = AttributeCache(MountOptions())
    cache.store(b"h", attrs(size=2, mtime=2), 5.0)
    kept = cache.store(b"h", attrs(size=1, mtime=1), 4.0)
    assert kept.size == 2


def test_directories_use_acdirmin_and_actimeo_sets_every_bound() -> None:
    cache = AttributeCache(MountOptions())
    cache.store(b"d", attrs(kind=ftype3.NF3DIR), 0.0)
    assert cache.valid(b"d", 29.9) is not None and cache.valid(b"d", 30.0) is None
    options = MountOptions(actimeo=7)
    assert options.attribute_bounds(True) == options.attribute_bounds(False) == (7, 7)


def test_noac_trusts_nothing_and_never_revalidate_trusts_everything() -> None:
    noac = AttributeCache(MountOptions(noac=True))
    noac.store(b"h", attrs(), 0.0)
    assert noac.valid(b"h", 0.0) is None
    buggy = AttributeCache(MountOptions(bugs=ClientBugs(never_revalidate=True)))
    buggy.store(b"h", attrs(), 0.0)
    assert buggy.valid(b"h", 1e9) is not None


def test_options_check_their_values_and_build_the_retry_policy() -> None:
    with pytest.raises(ValueError, match="acregmin"):
        MountOptions(acregmin=10, acregmax=5)
    with pytest.raises(ValueError, match=">= 0"):
        MountOptions(actimeo=-1)
    policy = MountOptions(timeo=0.5, retrans=2, hard=False, max_timeo=4).retry_policy()
    assert (policy.timeo, policy.retrans, policy.hard, policy.max_timeo) == (0.5, 2, False, 4)
    assert MountOptions().staleness_bound == 60
    assert MountOptions(noac=True).staleness_bound == 0


# -- data cache -----------------------------------------------------------------------------


def sig(size: int, stamp: int) -> Signature:
    return Signature(size, stamp, stamp)


def test_pages_are_filled_and_assembled() -> None:
    pages = FilePages(sig(PAGE_SIZE + 10, 1))
    assert pages.missing(0, PAGE_SIZE + 10) == [0, 1]
    data = bytes(range(256)) * 16 + b"0123456789"
    pages.fill(0, data)
    assert pages.missing(0, PAGE_SIZE + 10) == []
    assert pages.assemble(5, PAGE_SIZE + 3) == data[5 : PAGE_SIZE + 3]


def test_a_short_page_that_is_not_the_last_is_not_kept() -> None:
    pages = FilePages(sig(3 * PAGE_SIZE, 1))
    pages.fill(0, b"x" * (PAGE_SIZE + 5))
    assert pages.missing(0, 2 * PAGE_SIZE) == [1]


def test_another_version_drops_every_page() -> None:
    cache = DataCache()
    cache.view(b"h", sig(3, 1)).fill(0, b"abc")
    assert cache.view(b"h", sig(3, 1)).missing(0, 3) == []
    assert cache.view(b"h", sig(3, 2)).missing(0, 3) == [0]


def test_our_write_patches_pages_when_nobody_else_changed_the_file() -> None:
    pages = FilePages(sig(4, 1))
    pages.fill(0, b"abcd")
    pages.apply_write(sig(4, 1), sig(8, 2), 6, b"XY", trust=False)
    assert pages.signature == sig(8, 2)
    assert pages.assemble(0, 8) == b"abcd\0\0XY"


def test_our_write_after_someone_elses_change_drops_the_pages() -> None:
    pages = FilePages(sig(4, 1))
    pages.fill(0, b"abcd")
    pages.apply_write(sig(4, 2), sig(4, 3), 0, b"X", trust=False)
    assert pages.signature == sig(4, 3) and pages.missing(0, 4) == [0]
    trusting = FilePages(sig(4, 1))
    trusting.fill(0, b"abcd")
    trusting.apply_write(sig(4, 2), sig(4, 3), 0, b"X", trust=True)  # the planted bug
    assert trusting.assemble(0, 4) == b"Xbcd"


def test_a_write_covering_a_whole_page_caches_it() -> None:
    pages = FilePages(sig(0, 1))
    pages.apply_write(sig(0, 1), sig(PAGE_SIZE, 2), 0, b"z" * PAGE_SIZE, trust=False)
    assert pages.missing(0, PAGE_SIZE) == []


def test_our_resize_trims_and_pads_pages() -> None:
    pages = FilePages(sig(6, 1))
    pages.fill(0, b"abcdef")
    pages.apply_setattr(sig(6, 1), sig(3, 2), trust=False)
    assert pages.assemble(0, 3) == b"abc"
    pages.apply_setattr(sig(3, 2), sig(5, 3), trust=False)
    assert pages.assemble(0, 5) == b"abc\0\0"


# -- lookup cache ---------------------------------------------------------------------------


def test_names_belong_to_one_version_of_the_directory() -> None:
    cache = LookupCache()
    cache.view(b"d", sig(1, 1)).entries[b"a"] = b"ha"
    assert cache.view(b"d", sig(1, 1)).entries == {b"a": b"ha"}
    assert cache.view(b"d", sig(1, 2)).entries == {}


def test_our_own_directory_change_keeps_the_names_but_not_the_listing() -> None:
    cache = LookupCache()
    view = cache.view(b"d", sig(1, 1))
    view.entries[b"a"] = b"ha"
    view.listing = (b"a",)
    kept = cache.own_change(b"d", sig(1, 1), sig(1, 2), trust=False)
    assert kept.entries == {b"a": b"ha"} and kept.listing is None
    dropped = cache.own_change(b"d", sig(1, 7), sig(1, 8), trust=False)
    assert dropped.entries == {} and dropped.signature == sig(1, 8)


# -- write-behind ---------------------------------------------------------------------------


def test_dirty_extents_merge_and_newer_bytes_win() -> None:
    dirty = DirtyExtents()
    dirty.add(10, b"aaaa")
    dirty.add(0, b"bb")
    dirty.add(12, b"CCCC")
    dirty.add(2, b"")
    assert dirty.extents == [Extent(0, b"bb"), Extent(10, b"aaCCCC")]
    dirty.add(2, b"12345678")
    assert dirty.extents == [Extent(0, b"bb12345678aaCCCC")]
    assert dirty.total == 16
    assert dirty.take() == [Extent(0, b"bb12345678aaCCCC")] and not dirty


def test_overlay_writes_extents_over_a_base() -> None:
    assert overlay(b"......", 10, [Extent(8, b"xyz"), Extent(15, b"QR")]) == b"z....Q"


def test_a_commit_with_the_writes_verifier_forgets_them() -> None:
    write_back = WriteBack()
    write_back.acknowledged(0, b"a", b"V1", stable=False)
    write_back.acknowledged(1, b"b", b"V1", stable=False)
    write_back.acknowledged(2, b"c", b"V1", stable=True)
    assert len(write_back.uncommitted) == 2
    assert write_back.committed(b"V1", ignore_verifier=False) == []
    assert write_back.idle


def test_a_changed_verifier_asks_for_every_uncommitted_write_again() -> None:
    write_back = WriteBack()
    write_back.acknowledged(0, b"a", b"V1", stable=False)
    write_back.acknowledged(1, b"b", b"V2", stable=False)
    lost = write_back.committed(b"V2", ignore_verifier=False)
    assert lost == [SentWrite(0, b"a", b"V1"), SentWrite(1, b"b", b"V2")]
    write_back.resent(lost[0], b"V2", stable=True)
    assert write_back.uncommitted == [SentWrite(1, b"b", b"V2")]
    write_back.resent(lost[1], b"V2", stable=True)
    assert write_back.idle


def test_the_planted_bug_takes_any_commit_for_success() -> None:
    write_back = WriteBack()
    write_back.acknowledged(0, b"a", b"V1", stable=False)
    assert write_back.committed(b"V2", ignore_verifier=True) == []
    assert write_back.uncommitted == []


# -- errors and paths -----------------------------------------------------------------------


def test_nfs_statuses_become_oserrors_with_their_errno() -> None:
    assert isinstance(nfs_error(nfsstat3.NFS3ERR_NOENT, "LOOKUP", "a"), FileNotFoundError)
    assert isinstance(nfs_error(nfsstat3.NFS3ERR_EXIST, "CREATE"), FileExistsError)
    assert isinstance(nfs_error(nfsstat3.NFS3ERR_NOTDIR, "LOOKUP"), NotADirectoryError)
    stale = nfs_error(nfsstat3.NFS3ERR_STALE, "GETATTR", "a")
    assert isinstance(stale, StaleFileHandle) and stale.errno == errno.ESTALE
    assert nfs_error(nfsstat3.NFS3ERR_NOTEMPTY, "RMDIR").errno == errno.ENOTEMPTY
    assert nfs_error(nfsstat3.NFS3ERR_SERVERFAULT, "READ").errno == errno.EREMOTEIO
    assert "NFS3ERR_ACCES" in str(nfs_error(nfsstat3.NFS3ERR_ACCES, "READ"))
    timeout = rpc_failure(RpcTimeout(5, 4), "GETATTR", "a")
    assert timeout.errno == errno.EIO and "not responding" in str(timeout)


def test_paths_split_into_components() -> None:
    assert split_path("/a//b/./c/") == [b"a", b"b", b"c"]
    assert split_path("") == split_path("/") == []
    assert split_path("x/../y") == [b"x", b"..", b"y"]
