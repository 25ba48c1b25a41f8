"""The AFS client and server together in the simulation world: scripted scenarios."""

from __future__ import annotations

import pytest

from faults.sim import FaultRates, FaultSource, NoFaults, SeededFaults
from properties.afs.world import AfsWorld, make_afs_world
from reference.afs.client import AfsError
from reference.afs.events import BreakEnded
from reference.xdr.gen.afs import afs_stat

FAULTY = FaultRates(drop=0.2, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.05)


def world(faults: FaultSource | None = None, rates: FaultRates | None = None) -> AfsWorld:
    return make_afs_world(
        faults or NoFaults(), rates or FaultRates(), ["c1", "c2"], {b"a": b"a0", b"b": b"b0"}
    )


def read(afs: AfsWorld, client: str, path: bytes = b"a") -> bytes:
    return afs.run(client, lambda c: c.read_file(path))


def write(afs: AfsWorld, client: str, data: bytes, path: bytes = b"a") -> int:
    return afs.run(client, lambda c: c.write_file(path, data))


def test_a_copy_under_a_promise_is_read_without_any_call() -> None:
    afs = world()
    assert read(afs, "c1") == b"a0"
    calls = len(afs.clients["c1"].caller.replies)
    assert read(afs, "c1") == b"a0"
    assert len(afs.clients["c1"].caller.replies) == calls
    assert afs.clients["c1"].client.stats.cache_hits == 1


def test_a_store_breaks_the_readers_promise_before_it_completes() -> None:
    afs = world()
    read(afs, "c1")
    write(afs, "c2", b"new")
    stats = afs.clients["c2"].client.stats
    assert (stats.delays, stats.stores) == (1, 1)
    assert not afs.clients["c1"].client.callbacks.trusted(b"a", afs.world.now)
    assert read(afs, "c1") == b"new"


def test_an_expired_promise_is_revalidated_without_fetching_the_data_again() -> None:
    afs = world()
    read(afs, "c1")
    afs.wait(11.0)
    assert read(afs, "c1") == b"a0"
    stats = afs.clients["c1"].client.stats
    assert (stats.fetches, stats.revalidations) == (1, 1)


def test_after_a_restart_the_first_reply_of_the_new_epoch_distrusts_every_copy() -> None:
    afs = world()
    read(afs, "c1", b"a")
    afs.restart_server()
    read(afs, "c1", b"a")  # nothing told c1 yet: its promise still holds
    assert afs.clients["c1"].client.stats.cache_hits == 1
    read(afs, "c1", b"b")  # a reply of epoch 2
    read(afs, "c1", b"a")
    stats = afs.clients["c1"].client.stats
    assert (stats.cache_hits, stats.revalidations) == (1, 1)
    assert afs.clients["c1"].caller.replies[-1].epoch == 2


def test_a_lost_break_leaves_a_stale_copy_only_until_its_promise_expires() -> None:
    afs = world()
    read(afs, "c1")
    afs.deafen()
    # c2's own operation reopens its callback port; c1 stays unreachable
    write(afs, "c2", b"new")
    lost = [e for e in afs.journal if isinstance(e, BreakEnded) and not e.delivered]
    assert [e.promise.client for e in lost] == [("c1", 7001)]
    assert afs.clients["c1"].client.callbacks.trusted(b"a", afs.world.now)
    afs.wait(10.0)
    assert read(afs, "c1") == b"new"


def test_an_open_file_is_private_until_it_is_closed() -> None:
    afs = world()

    opened = afs.run("c1", lambda c: c.open(b"new", create=True))
    assert (opened.version, opened.read()) == (0, b"")
    opened.write(b"draft")
    with pytest.raises(AfsError) as missing:
        read(afs, "c2", b"new")
    assert missing.value.status == afs_stat.AFSERR_NOENT
    version = afs.run("c1", lambda c: opened.close())
    assert version > 0
    assert read(afs, "c2", b"new") == b"draft"
    with pytest.raises(ValueError, match="closed"):
        opened.write(b"late")


def test_closing_an_unwritten_file_stores_nothing() -> None:
    afs = world()
    opened = afs.run("c1", lambda c: c.open(b"a"))
    assert afs.run("c1", lambda c: opened.close()) == 1
    assert afs.clients["c1"].client.stats.stores == 0


def test_through_a_faulty_network_the_last_writer_wins() -> None:
    afs = world(SeededFaults(4), FAULTY)
    for round_number in range(5):
        write(afs, "c1", b"c1-%d" % round_number)
        write(afs, "c2", b"c2-%d" % round_number)
        assert read(afs, "c1") == b"c2-%d" % round_number
    stored = afs.files.get(b"a")
    assert stored is not None and stored.data == b"c2-4"


def test_the_same_seed_gives_the_same_trace() -> None:
    def trace(seed: int) -> str:
        afs = world(SeededFaults(seed), FAULTY)
        read(afs, "c1")
        write(afs, "c2", b"new")
        afs.restart_server()
        read(afs, "c1", b"b")
        return afs.world.trace.to_json()

    assert trace(7) == trace(7)
    assert trace(7) != trace(8)
