"""The duplicate request cache: hits, misses, in-progress drops, bounds, expiry, policy
(by default every procedure but NULL, of any program: this layer knows no NFS fact)."""

import zlib

import pytest

from reference.rpc.drc import (
    CACHE_ALL_BUT_NULL,
    NULL_PROCEDURE,
    CachePolicy,
    DrcKey,
    DrcStats,
    DuplicateRequestCache,
    InProgress,
    Miss,
    Refused,
    Replay,
    args_checksum,
)
from reference.xdr.gen.counter import (
    COUNTER_PROGRAM,
    COUNTER_V1,
    COUNTERPROC_INCREMENT,
    COUNTERPROC_READ,
)
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3
from reference.xdr.gen.nfs2 import NFS_VERSION
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE, NFSPROC3_RMDIR


def key(xid: int, args: bytes = b"args", client: tuple[str, int] = ("10.0.0.1", 800)) -> DrcKey:
    return DrcKey.for_call(xid, NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE, client, "tcp", args)


def test_first_call_is_a_miss_and_its_duplicate_replays_the_first_reply() -> None:
    cache = DuplicateRequestCache()
    assert cache.begin(key(1), now=0.0) == Miss()
    cache.finish(key(1), b"reply-1", now=0.5)
    assert cache.begin(key(1), now=1.0) == Replay(b"reply-1")
    assert cache.stats == DrcStats(hits=1, misses=1)


def test_duplicate_of_a_call_in_progress_is_dropped() -> None:
    cache = DuplicateRequestCache()
    assert cache.begin(key(1), now=0.0) == Miss()
    assert cache.begin(key(1), now=0.1) == InProgress()
    assert cache.begin(key(1), now=0.2) == InProgress()
    assert cache.stats.in_progress_drops == 2
    assert cache.stats.misses == 1


def test_same_xid_with_different_arguments_is_a_miss() -> None:
    cache = DuplicateRequestCache()
    cache.begin(key(7, b"remove a"), now=0.0)
    cache.finish(key(7, b"remove a"), b"ok", now=0.0)
    assert cache.begin(key(7, b"remove b"), now=0.0) == Miss()


@pytest.mark.parametrize(
    "other",
    [
        key(7, client=("10.0.0.1", 801)),  # another source port
        key(7, client=("10.0.0.2", 800)),  # another host
        DrcKey.for_call(7, NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE, ("10.0.0.1", 800), "udp", b"args"),
        DrcKey.for_call(
            7, NFS_PROGRAM, NFS_VERSION, NFSPROC3_REMOVE, ("10.0.0.1", 800), "tcp", b"args"
        ),
        DrcKey.for_call(7, NFS_PROGRAM, NFS_V3, NFSPROC3_RMDIR, ("10.0.0.1", 800), "tcp", b"args"),
        key(8),
    ],
)
def test_any_other_key_field_makes_a_different_call(other: DrcKey) -> None:
    cache = DuplicateRequestCache()
    cache.begin(key(7), now=0.0)
    cache.finish(key(7), b"ok", now=0.0)
    assert cache.begin(other, now=0.0) == Miss()


def test_key_checksums_only_the_first_256_argument_bytes_and_keeps_the_length() -> None:
    head = bytes(range(256))
    first, second = key(1, head + b"tail one"), key(1, head + b"tail two")
    assert first.checksum == second.checksum == zlib.crc32(head) == args_checksum(head)
    assert first.arg_length == 264
    assert key(1, head + b"x").arg_length != first.arg_length


def test_abandoned_call_runs_again_when_retransmitted() -> None:
    cache = DuplicateRequestCache()
    cache.begin(key(1), now=0.0)
    cache.abandon(key(1))
    assert len(cache) == 0
    assert cache.begin(key(1), now=1.0) == Miss()


def test_finish_and_abandon_of_unknown_keys_change_nothing() -> None:
    cache = DuplicateRequestCache()
    cache.finish(key(1), b"late", now=0.0)
    cache.abandon(key(2))
    assert len(cache) == 0
    cache.begin(key(3), now=0.0)
    cache.finish(key(3), b"first", now=0.0)
    cache.finish(key(3), b"second", now=0.0)
    assert cache.begin(key(3), now=0.0) == Replay(b"first")


def test_full_cache_evicts_the_oldest_finished_entry() -> None:
    cache = DuplicateRequestCache(max_entries=3)
    for xid in (1, 2, 3):
        cache.begin(key(xid), now=0.0)
    for xid in (2, 1, 3):  # finish order, not begin order, decides age
        cache.finish(key(xid), f"reply-{xid}".encode(), now=0.0)
    assert cache.begin(key(4), now=0.0) == Miss()
    assert len(cache) == 3
    assert cache.stats.evictions == 1
    assert cache.begin(key(1), now=0.0) == Replay(b"reply-1")
    assert cache.begin(key(3), now=0.0) == Replay(b"reply-3")
    assert cache.begin(key(2), now=0.0) == Miss()  # evicted, so it runs again; evicts 1
    assert cache.stats.evictions == 2


def test_in_progress_entries_are_never_evicted() -> None:
    cache = DuplicateRequestCache(max_entries=2)
    cache.begin(key(1), now=0.0)
    cache.begin(key(2), now=0.0)
    cache.finish(key(2), b"two", now=0.0)
    assert cache.begin(key(3), now=0.0) == Miss()  # evicts 2, not the running 1
    assert cache.begin(key(1), now=0.0) == InProgress()
    assert cache.begin(key(2), now=0.0) == Refused()


def test_cache_full_of_calls_in_progress_refuses_new_calls_until_one_finishes() -> None:
    cache = DuplicateRequestCache(max_entries=2)
    cache.begin(key(1), now=0.0)
    cache.begin(key(2), now=0.0)
    assert cache.begin(key(3), now=0.0) == Refused()
    assert cache.stats.refusals == 1
    assert cache.begin(key(1), now=0.0) == InProgress()
    cache.finish(key(1), b"one", now=1.0)
    assert cache.begin(key(3), now=1.0) == Miss()
    assert cache.stats.evictions == 1


def test_finished_entries_expire_after_max_age() -> None:
    cache = DuplicateRequestCache(max_age=120.0)
    cache.begin(key(1), now=0.0)
    cache.finish(key(1), b"one", now=10.0)
    assert cache.begin(key(1), now=130.0) == Replay(b"one")
    assert cache.begin(key(1), now=130.5) == Miss()
    assert cache.stats.expirations == 1


def test_expiry_is_lazy_and_removes_every_stale_entry_on_the_next_begin() -> None:
    cache = DuplicateRequestCache(max_age=5.0)
    for xid in (1, 2, 3):
        cache.begin(key(xid), now=float(xid))
        cache.finish(key(xid), b"r", now=float(xid))
    assert len(cache) == 3
    cache.begin(key(9), now=7.5)  # 1 and 2 are older than 5 s, 3 is not
    assert len(cache) == 2
    assert cache.stats.expirations == 2
    assert cache.begin(key(3), now=7.5) == Replay(b"r")


def test_in_progress_entries_do_not_expire() -> None:
    cache = DuplicateRequestCache(max_age=5.0)
    cache.begin(key(1), now=0.0)
    assert cache.begin(key(1), now=1000.0) == InProgress()


def test_lookup_never_replays_an_expired_entry_after_the_clock_steps_back() -> None:
    cache = DuplicateRequestCache(max_age=5.0)
    cache.begin(key(1), now=100.0)
    cache.finish(key(1), b"late", now=100.0)
    cache.begin(key(2), now=0.0)  # the clock stepped back
    cache.finish(key(2), b"early", now=0.0)
    assert cache.begin(key(2), now=50.0) == Miss()


def test_clear_loses_every_entry_as_a_crash_would() -> None:
    cache = DuplicateRequestCache()
    cache.begin(key(1), now=0.0)
    cache.finish(key(1), b"one", now=0.0)
    cache.begin(key(2), now=0.0)
    cache.clear()
    assert len(cache) == 0
    assert cache.begin(key(1), now=0.0) == Miss()
    assert cache.begin(key(2), now=0.0) == Miss()


@pytest.mark.parametrize(
    ("program", "version"),
    [
        (NFS_PROGRAM, NFS_V3),
        (NFS_PROGRAM, NFS_VERSION),
        (MOUNT_PROGRAM, MOUNT_V3),
        (COUNTER_PROGRAM, COUNTER_V1),
    ],
)
def test_default_policy_caches_every_procedure_but_null_whatever_the_program(
    program: int, version: int
) -> None:
    cache = DuplicateRequestCache()
    assert cache.policy == CACHE_ALL_BUT_NULL
    assert not cache.caches(program, version, NULL_PROCEDURE)
    assert all(cache.caches(program, version, number) for number in range(1, 32))


def test_custom_policy_can_leave_unknown_programs_uncached() -> None:
    policy = CachePolicy(
        cached={(COUNTER_PROGRAM, COUNTER_V1): frozenset({COUNTERPROC_INCREMENT})},
        default_for_unknown=False,
    )
    cache = DuplicateRequestCache(policy=policy)
    assert cache.caches(COUNTER_PROGRAM, COUNTER_V1, COUNTERPROC_INCREMENT)
    assert not cache.caches(COUNTER_PROGRAM, COUNTER_V1, COUNTERPROC_READ)
    assert not cache.caches(NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE)


@pytest.mark.parametrize(("max_entries", "max_age"), [(0, 1.0), (1, 0.0), (1, -5.0)])
def test_impossible_bounds_are_rejected(max_entries: int, max_age: float) -> None:
    with pytest.raises(ValueError):
        DuplicateRequestCache(max_entries=max_entries, max_age=max_age)
