"""The AFS server's handlers, called directly with a fake clock and a recording sender."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reference.afs.events import BreakEnded, Granted, ServerEvent, Stored
from reference.afs.files import FileTable
from reference.afs.promises import Promise
from reference.afs.server import AfsServer, ServerMutants
from reference.rpc.stubs import AuthNone, CallContext
from reference.xdr.gen.afs import afs_fetch_args, afs_stat, afs_store_args, afs_store_res

CALLBACK_PORT = 7001
CORRECT = ServerMutants()


@dataclass
class Harness:
    files: FileTable = field(default_factory=FileTable)
    now: float = 0.0
    breaks: list[tuple[Promise, Callable[[bool], None]]] = field(default_factory=list)
    events: list[ServerEvent] = field(default_factory=list)

    def send_break(self, promise: Promise, done: Callable[[bool], None]) -> None:
        self.breaks.append((promise, done))

    def server(self, mutants: ServerMutants = CORRECT) -> AfsServer:
        return AfsServer(self.files, lambda: self.now, self, 10, self.events.append, mutants)


def ctx(host: str) -> CallContext:
    return CallContext(1, (host, 40000), "sim", AuthNone())


def fetch(server: AfsServer, host: str, path: bytes = b"f") -> bytes:
    reply = server.AFSPROC_FETCHDATA(afs_fetch_args(path, CALLBACK_PORT), ctx(host))
    assert reply.body.file is not None, reply
    return reply.body.file.data


def store(server: AfsServer, host: str, data: bytes, base: int = 0) -> afs_store_res:
    return server.AFSPROC_STOREDATA(afs_store_args(b"f", base, data, CALLBACK_PORT), ctx(host))


def store_breaking(harness: Harness, server: AfsServer, host: str, data: bytes, base: int) -> int:
    """Store, answering every break it causes; the version stored."""
    reply = store(server, host, data, base)
    while reply.body.status == afs_stat.AFSERR_DELAY:
        for _, done in harness.breaks:
            done(True)
        harness.breaks.clear()
        reply = store(server, host, data, base)
    assert reply.body.stored is not None, reply
    return reply.body.stored.version


def test_fetch_returns_the_whole_file_a_promise_and_the_epoch() -> None:
    harness = Harness()
    harness.files.store(b"f", b"contents")
    server = harness.server()
    reply = server.AFSPROC_FETCHDATA(afs_fetch_args(b"f", CALLBACK_PORT), ctx("x"))
    assert reply.epoch == 1
    assert reply.body.file is not None
    assert (reply.body.file.version, reply.body.file.data) == (1, b"contents")
    assert reply.body.file.callback_seconds == 10
    [granted] = harness.events
    assert isinstance(granted, Granted)
    assert granted.promise.client == ("x", CALLBACK_PORT)


def test_fetch_status_tells_the_version_and_length_and_promises_too() -> None:
    harness = Harness()
    harness.files.store(b"f", b"12345")
    reply = harness.server().AFSPROC_FETCHSTATUS(afs_fetch_args(b"f", CALLBACK_PORT), ctx("x"))
    assert reply.body.attributes is not None
    assert (reply.body.attributes.version, reply.body.attributes.length) == (1, 5)
    assert isinstance(harness.events[0], Granted)


def test_missing_and_empty_paths_get_errors_and_no_promise() -> None:
    harness = Harness()
    server = harness.server()
    missing = server.AFSPROC_FETCHDATA(afs_fetch_args(b"nope", CALLBACK_PORT), ctx("x"))
    empty = server.AFSPROC_FETCHSTATUS(afs_fetch_args(b"", CALLBACK_PORT), ctx("x"))
    bad_store = server.AFSPROC_STOREDATA(afs_store_args(b"", 0, b"", CALLBACK_PORT), ctx("x"))
    assert missing.body.status == afs_stat.AFSERR_NOENT
    assert empty.body.status == afs_stat.AFSERR_INVAL
    assert bad_store.body.status == afs_stat.AFSERR_INVAL
    assert harness.events == []


def test_a_store_waits_for_the_breaks_of_other_clients_promises() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server()
    fetch(server, "reader")
    fetch(server, "writer")
    first = store(server, "writer", b"new", base=1)
    assert first.body.status == afs_stat.AFSERR_DELAY
    assert harness.files.get(b"f") is not None and harness.files.files[b"f"].data == b"old"
    [(promise, done)] = harness.breaks
    assert promise.client == ("reader", CALLBACK_PORT)
    assert store(server, "writer", b"new", base=1).body.status == afs_stat.AFSERR_DELAY
    assert len(harness.breaks) == 1  # the break already under way is not sent again
    harness.now = 0.5
    done(True)
    stored = store(server, "writer", b"new", base=1)
    assert stored.body.stored is not None and stored.body.stored.version == 2
    assert harness.files.files[b"f"].data == b"new"
    assert BreakEnded(0.5, 1, promise, delivered=True) in harness.events
    assert any(isinstance(event, Stored) and event.data == b"new" for event in harness.events)


def test_a_lost_break_lets_the_store_go_ahead_and_is_reported() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server()
    fetch(server, "reader")
    assert store(server, "writer", b"new").body.status == afs_stat.AFSERR_DELAY
    [(promise, done)] = harness.breaks
    done(False)
    assert store(server, "writer", b"new").body.status == afs_stat.AFS_OK
    assert BreakEnded(0.0, 1, promise, delivered=False) in harness.events


def test_an_expired_promise_is_not_broken() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server()
    fetch(server, "reader")
    harness.now = 10.0
    assert store(server, "writer", b"new").body.status == afs_stat.AFS_OK
    assert harness.breaks == []


def test_the_writers_own_promise_is_not_broken_and_it_gets_a_fresh_one() -> None:
    harness = Harness()
    server = harness.server()
    assert store(server, "writer", b"one").body.status == afs_stat.AFS_OK
    harness.now = 1.0
    assert store(server, "writer", b"two").body.status == afs_stat.AFS_OK
    assert harness.breaks == []
    grants = [event for event in harness.events if isinstance(event, Granted)]
    assert [grant.promise.granted_at for grant in grants] == [0.0, 1.0]


def test_the_last_store_wins_even_if_its_writer_never_saw_the_one_before() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server()
    store_breaking(harness, server, "x", b"from x", base=1)
    store_breaking(harness, server, "y", b"from y", base=1)  # y opened 1; x stored since
    assert harness.files.files[b"f"].data == b"from y"


def test_a_restart_is_a_new_epoch_that_forgot_every_promise() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    fetch(harness.server(), "reader")
    restarted = harness.server()
    assert restarted.epoch == 2
    reply = store(restarted, "writer", b"new")
    assert (reply.epoch, reply.body.status) == (2, afs_stat.AFS_OK)
    assert harness.breaks == []


def test_the_forget_breaks_mutant_stores_at_once() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server(ServerMutants(forget_breaks=True))
    fetch(server, "reader")
    assert store(server, "writer", b"new").body.status == afs_stat.AFS_OK
    assert harness.breaks == []


def test_the_first_writer_wins_mutant_keeps_what_the_writer_never_saw() -> None:
    harness = Harness()
    harness.files.store(b"f", b"old")
    server = harness.server(ServerMutants(first_writer_wins=True))
    store_breaking(harness, server, "x", b"from x", base=1)
    assert store_breaking(harness, server, "y", b"from y", base=1) == 2  # OK, but not stored
    assert harness.files.files[b"f"].data == b"from x"
