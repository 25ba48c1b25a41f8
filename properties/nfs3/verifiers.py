"""What a server's verifiers promise: CREATE EXCLUSIVE's create verifier (RFC 1813 §3.3.8)
and READDIR's cookie verifier (§3.3.16).

Rules:
- Exclusive create: CREATE EXCLUSIVE of a new name with a verifier must make the file;
  then, with nothing in between but maybe a crash and restart of the server (the
  verifier is kept in stable storage), the same CREATE again:
  - with the same verifier is a retransmission: NFS3_OK and the same file (its fileid),
    else CREATE-EXCLUSIVE-RETRY;
  - with another verifier is another client's create: NFS3ERR_EXIST, else
    CREATE-EXCLUSIVE-VERIFIER.
  A server without EXCLUSIVE (the probe's exclusive_create) is UNSUPPORTED there.
- Resumed listing: a directory gets `entries` subdirectories (MKDIR: one call each),
  named short or as long as the server allows: PATHCONF's name_max, at most the model's
  NAME_MAX of 255 (Ganesha 4.3 claims 1024 and refuses names over 255), and
  a first page is read from cookie 0 with the smallest count of PAGE_COUNTS the server
  does not refuse as TOOSMALL (each page after it starts from its page's count, larger
  while TOOSMALL). If it is not the whole listing, the listing is resumed from each
  page's last cookie and cookie verifier until eof, and before each of the first calls
  one of the example's changes is made (an entry removed that the pages listed, one
  removed that they did not, or one added). A call right after a change may answer
  NFS3ERR_BAD_COOKIE (the server says the cookie no longer holds: nothing more is
  checked); when the server goes on, the pages are judged (READDIR-RESUME): every entry
  no change touched is listed exactly once over all pages, and no name is listed that
  was never made. Whether a touched entry is listed is the server's choice. A page
  without entries and without eof, or any other error, is LISTING-PAGES.
- Each scenario runs on a fresh target of the world's factory (no faults); calls go
  through handles.call. A FAIL is a finding (raised unless the world's baseline knows it;
  then the scenario ends there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from properties.harness import findings
from properties.harness.findings import Rule
from properties.nfs3 import rules
from properties.nfs3.handles import call, fresh_target, make_directory, mount, setup_failed
from properties.nfs3.model.names import NAME_MAX, is_dot
from properties.nfs3.model.verdict import status_name
from properties.nfs3.optional import OPTIONAL
from properties.nfs3.wire import CREATE, LOOKUP, READDIR, READDIRPLUS, RMDIR
from properties.worlds.target import Target, TargetFactory
from reference.xdr.gen.nfs3 import (
    EXCLUSIVE,
    NFS3_OK,
    NFS3ERR_BAD_COOKIE,
    NFS3ERR_EXIST,
    NFS3ERR_TOOSMALL,
    CREATE3args,
    CREATE3res,
    LOOKUP3args,
    READDIR3args,
    READDIRPLUS3args,
    RMDIR3args,
    createhow3,
    diropargs3,
    nfs_fh3,
)

VERIFIER = b"verifier"
ANOTHER_VERIFIER = b"another!"
# READDIR's count, READDIRPLUS's maxcount (its dircount: half): the smallest a server takes
PAGE_COUNTS = (512, 1024, 2048, 4096)
ZERO_VERIFIER = bytes(8)
MAX_RESUMED_PAGES = 256  # more than the entries: at least one a page, or the pages never end

Change = Literal["remove a listed entry", "remove an unlisted entry", "add an entry"]
# each change, as the findings tell it was made
MADE: dict[Change, str] = {
    "remove a listed entry": "RMDIR of the listed",
    "remove an unlisted entry": "RMDIR of the not yet listed",
    "add an entry": "MKDIR of",
}


# -- exclusive create --


def exclusive_retry(make_target: TargetFactory, same_verifier: bool, restart: bool) -> None:
    """CREATE EXCLUSIVE, maybe a restart, and the same CREATE with the same or another
    verifier (see the module rules)."""
    with fresh_target(make_target) as target:
        if not target.features.exclusive_create:
            rule = OPTIONAL["exclusive_create"]
            findings.current().unsupported(rule, "CREATE EXCLUSIVE is not offered")
            return
        where = diropargs3(mount(target), b"exclusive")
        first = _create_exclusive(target, where, VERIFIER)
        if first.resok is None:
            setup_failed("CREATE", f"CREATE EXCLUSIVE answered {status_name(first.status)}")
        made = _fileid(target, where, first)
        if restart:
            target.crash_and_restart()
        verifier = VERIFIER if same_verifier else ANOTHER_VERIFIER
        again = _create_exclusive(target, where, verifier)
        what = f"CREATE EXCLUSIVE {verifier!r} of a file CREATE EXCLUSIVE {VERIFIER!r} made"
        what += f"{', then a restart,' if restart else ''} answered {status_name(again.status)}"
        recorder = findings.current()
        if not same_verifier:
            if again.status != NFS3ERR_EXIST:
                recorder.fail(rules.CREATE_VERIFIER, f"{what}, not NFS3ERR_EXIST")
        elif again.resok is None:
            recorder.fail(rules.CREATE_RETRY, f"{what}, not NFS3_OK (a retransmission)")
        elif (fileid := _fileid(target, where, again)) != made:
            recorder.fail(rules.CREATE_RETRY, f"{what} with fileid {fileid}, not {made}")


def _create_exclusive(target: Target, where: diropargs3, verifier: bytes) -> CREATE3res:
    return call(target, CREATE, CREATE3args(where, createhow3(EXCLUSIVE, verf=verifier)))


def _fileid(target: Target, where: diropargs3, created: CREATE3res) -> int:
    """The fileid of what CREATE answered for: its attributes, else LOOKUP's."""
    assert created.resok is not None
    attributes = created.resok.obj_attributes.attributes
    if attributes is not None:
        return attributes.fileid
    looked_up = call(target, LOOKUP, LOOKUP3args(where))
    if looked_up.resok is None or looked_up.resok.obj_attributes.attributes is None:
        answered = status_name(looked_up.status)
        setup_failed("LOOKUP", f"LOOKUP of the created file answered {answered}")
    return looked_up.resok.obj_attributes.attributes.fileid


# -- resumed listings --


@dataclass(frozen=True)
class Page:
    count: int  # READDIR's count, READDIRPLUS's maxcount
    status: int
    names: list[bytes]
    cookie: int  # the last entry's
    verifier: bytes
    eof: bool


def resumed_listing(
    make_target: TargetFactory,
    entries: int,
    changes: tuple[Change, ...],
    plus: bool,
    long_names: bool,
) -> bool:
    """List a directory of `entries` entries (named up to the server's name_max with
    `long_names`) a page at a time, with one of `changes` made after each page while they
    last (see the module rules). False if the first page held everything."""
    with fresh_target(make_target) as target:
        directory = make_directory(target, mount(target), b"listed")
        length = min(target.features.name_max or NAME_MAX, NAME_MAX) if long_names else 0
        names = [(b"entry-%03d" % index).ljust(length, b"n") for index in range(entries)]
        for name in names:
            make_directory(target, directory, name)
        page = _fitting(target, directory, plus, PAGE_COUNTS[0], 0, ZERO_VERIFIER)
        kind = "READDIRPLUS" if plus else "READDIR"
        if page.status != NFS3_OK:
            setup_failed(kind, f"{kind} from cookie 0 answered {status_name(page.status)}")
        if page.eof:
            return False
        listing = Listing(target, directory, names, list(page.names))
        pending = list(changes)
        for calls in range(MAX_RESUMED_PAGES):
            if not page.names:
                listing.fail(rules.LISTING_PAGES, f"{kind}: page {calls + 1} is {EMPTY_PAGE}")
                return True
            changed = bool(pending) and listing.change(pending.pop(0), calls)
            page = _fitting(target, directory, plus, page.count, page.cookie, page.verifier)
            if page.status == NFS3ERR_BAD_COOKIE and changed:
                return True  # the server says the change made the cookie stale: allowed
            if page.status != NFS3_OK:
                said = status_name(page.status)
                listing.fail(rules.LISTING_PAGES, f"{kind}: page {calls + 2} answered {said}")
                return True
            listing.listed += page.names
            if page.eof:
                listing.judge(kind)
                return True
        listing.fail(rules.LISTING_PAGES, f"{kind}: no eof after {MAX_RESUMED_PAGES} pages")
        return True


EMPTY_PAGE = "a page without entries and without eof"
ADDED = b"added-%d"


@dataclass
class Listing:
    """A listing under way: the entries made, the names the pages listed, and the names
    the changes between pages touched (removed or added)."""

    target: Target
    directory: nfs_fh3
    names: list[bytes]
    listed: list[bytes]
    touched: list[bytes] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # the changes, as findings tell them

    def change(self, change: Change, index: int) -> bool:
        """Make `change`; False if there is no entry it could act on."""
        if change == "add an entry":
            name = ADDED % index
            make_directory(self.target, self.directory, name)
        else:
            wanted = change == "remove a listed entry"
            present = [name for name in self.names if name not in self.touched]
            found = [name for name in present if (name in self.listed) == wanted]
            if not found:
                return False
            name = found[0]
            removed = call(self.target, RMDIR, RMDIR3args(diropargs3(self.directory, name)))
            if removed.status != NFS3_OK:
                said = status_name(removed.status)
                setup_failed("RMDIR", f"RMDIR {_short(name)} answered {said}")
        self.touched.append(name)
        self.done.append(f"{MADE[change]} {_short(name)} after page {index + 1}")
        return True

    def fail(self, rule: Rule, problem: str) -> None:
        entries = f"{len(self.names)} entries"
        changes = f", with {'; '.join(self.done)}" if self.done else ""
        findings.current().fail(rule, f"{problem} ({entries}{changes})")

    def judge(self, kind: str) -> None:
        """READDIR-RESUME over all the pages' names (see the module rules)."""
        counted = Counter(name for name in self.listed if not is_dot(name))
        left_alone = set(self.names) - set(self.touched)
        problems = [
            (sorted(name for name in left_alone if counted[name] > 1), "more than once"),
            (sorted(left_alone - set(counted)), "nowhere"),
            (sorted(set(counted) - set(self.names) - set(self.touched)), "never made"),
        ]
        said = [f"[{', '.join(map(_short, names))}] {how}" for names, how in problems if names]
        if said:
            self.fail(rules.RESUMED_LISTING, f"{kind} listed {'; '.join(said)}")


def _short(name: bytes) -> str:
    """`name` as the findings show it: a long name by its start and length."""
    return repr(name) if len(name) <= 20 else f"{name[:12]!r}... ({len(name)} bytes)"


def _fitting(
    target: Target, directory: nfs_fh3, plus: bool, smallest: int, cookie: int, verifier: bytes
) -> Page:
    """The page at `cookie`, with the first count of PAGE_COUNTS from `smallest` on that is
    not TOOSMALL (RFC 1813 allows a server its minimum, and a long entry needs more)."""
    counts = [count for count in PAGE_COUNTS if count >= smallest]
    page = _page(target, directory, plus, counts[0], cookie, verifier)
    for count in counts[1:]:
        if page.status != NFS3ERR_TOOSMALL:
            break
        page = _page(target, directory, plus, count, cookie, verifier)
    return page


def _page(
    target: Target, directory: nfs_fh3, plus: bool, count: int, cookie: int, verifier: bytes
) -> Page:
    if plus:
        args = READDIRPLUS3args(directory, cookie, verifier, count // 2, count)
        reply_plus = call(target, READDIRPLUS, args)
        if reply_plus.resok is None:
            return Page(count, reply_plus.status, [], cookie, verifier, False)
        listing = reply_plus.resok.reply
        entries = [(entry.name, entry.cookie) for entry in listing.entries]
        return _listed(count, entries, listing.eof, reply_plus.resok.cookieverf, cookie)
    reply = call(target, READDIR, READDIR3args(directory, cookie, verifier, count))
    if reply.resok is None:
        return Page(count, reply.status, [], cookie, verifier, False)
    entries = [(entry.name, entry.cookie) for entry in reply.resok.reply.entries]
    return _listed(count, entries, reply.resok.reply.eof, reply.resok.cookieverf, cookie)


def _listed(
    count: int, entries: list[tuple[bytes, int]], eof: bool, verifier: bytes, cookie: int
) -> Page:
    last = entries[-1][1] if entries else cookie
    return Page(count, NFS3_OK, [name for name, _ in entries], last, verifier, eof)
