"""What an object's times promise, wherever its attributes appear (RFC 1813 §2.6 fattr3 and
wcc_attr, §4.11): the machine's record of the mtime and ctime the client last saw.

Rules:
- Seen: every fattr3 of an object the machine checks (GETATTR, a post_op_attr, wcc_data's
  after, a READDIRPLUS entry) is `seen`: the object's times then are its last seen, and
  the latest ctime of all is the server's clock as far as the client knows.
- Before a call that may change objects (the machine names all it may touch, even
  indirectly: a RENAME's moved object, a REMOVE's file with other links), `changing`
  sets their last seen aside: the call's wcc_data pre-op of each must show them
  (WCC-PRE-TIMES: nothing else changed the object in between), and they leave the steady
  comparison until seen again.
- Steady (ATTR-STEADY): an object no call may have changed since its times were last
  seen shows the same mtime and ctime in every reply that carries its attributes.
- Never back (CTIME-BACK): an object's ctime never goes back from its last seen, even
  when the server's clock is stepped back.
- Changes come now (CHANGE-TIME): a call the machine knows changed an object (`changed`:
  a WRITE of some bytes, a SETATTR, an entry made or removed in a directory, both
  directories of a RENAME that moved something; not the renamed object itself, whose
  ctime POSIX lets a server change or keep) gives it a
  ctime, and a data change an mtime, no earlier than the latest ctime the server showed
  before the call, its clock being the one clock of all its times. Not where the world
  steps the server's clock (`clock_steps`): there only CTIME-BACK holds.
- atime is not held to anything: READ (and READDIR, READLINK) may change it, or not
  (RFC 1813 §2.6 says only that it is the time of last access; noatime and relatime
  servers are correct), and only SETATTR sets it to a value a client can know (the
  SETATTR-TIMES scenario checks that).
- Times are compared exactly: all come from the one server, at its own granularity. A
  crash forgets everything (`forget`): it may take back unstable changes with their times.
- Each check returns its problem (the rule and what was seen) or None; the machine raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from properties.harness.findings import Rule
from properties.nfs3 import rules
from properties.nfs3.model import ObjectId
from reference.xdr.gen.nfs3 import nfstime3, wcc_attr

Change = Literal["data", "attributes"]


def nanoseconds(time: nfstime3) -> int:
    return time.seconds * 1_000_000_000 + time.nseconds


def shown(ns: int) -> str:
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09}"


@dataclass(frozen=True)
class Problem:
    rule: Rule
    message: str


@dataclass(frozen=True)
class Seen:
    mtime: int
    ctime: int


@dataclass
class Times:
    clock_steps: bool = False  # the world steps the server's clock: CHANGE-TIME does not hold
    last: dict[ObjectId, Seen] = field(default_factory=dict)  # of the steady objects
    ctimes: dict[ObjectId, int] = field(default_factory=dict)  # each object's last ctime
    set_aside: dict[ObjectId, Seen | None] = field(default_factory=dict)  # for the pre-op
    latest: int = 0  # the latest ctime the server showed
    before_call: int = 0  # `latest` when the running call began
    expected: dict[ObjectId, Change] = field(default_factory=dict)  # what the call changed

    def changing(self, *objects: ObjectId | None) -> None:
        """The next call may change `objects` (None: no object)."""
        self.before_call = self.latest
        for object_id in objects:
            if object_id is not None:
                self.set_aside[object_id] = self.last.pop(object_id, None)

    def changed(self, object_id: ObjectId, change: Change) -> None:
        """The call changed `object_id`: its next seen times are held to CHANGE-TIME."""
        if not self.clock_steps:
            self.expected[object_id] = change

    def pre_op(self, object_id: ObjectId, before: wcc_attr, what: str) -> Problem | None:
        """wcc_data's pre-op attributes of `object_id` against what was set aside."""
        last = self.set_aside.pop(object_id, None)
        if last is None:
            return None
        pre = Seen(nanoseconds(before.mtime), nanoseconds(before.ctime))
        if pre == last:
            return None
        return Problem(
            rules.WCC_PRE_TIMES,
            f"{what}: pre-op mtime {shown(pre.mtime)} ctime {shown(pre.ctime)}, but the last "
            f"attributes seen, with nothing changing it since, had mtime {shown(last.mtime)} "
            f"ctime {shown(last.ctime)}",
        )

    def seen(
        self, object_id: ObjectId, mtime: nfstime3, ctime: nfstime3, what: str
    ) -> Problem | None:
        """`object_id`'s attributes showed these times: check them, then remember them."""
        now = Seen(nanoseconds(mtime), nanoseconds(ctime))
        steady = self.last.get(object_id)
        problem = None
        if steady is not None and steady != now:
            problem = Problem(
                rules.ATTR_STEADY,
                f"{what}: mtime {shown(now.mtime)} ctime {shown(now.ctime)}, but nothing "
                f"changed it since its attributes showed mtime {shown(steady.mtime)} ctime "
                f"{shown(steady.ctime)}",
            )
        elif now.ctime < self.ctimes.get(object_id, now.ctime):
            problem = Problem(
                rules.CTIME_BACK,
                f"{what}: ctime went back from {shown(self.ctimes[object_id])} to "
                f"{shown(now.ctime)}: a change can repeat attributes a client has cached, and "
                "the client keeps stale data",
            )
        else:
            problem = self._came_now(object_id, now, what)
        self.last[object_id] = now
        self.ctimes[object_id] = now.ctime
        self.latest = max(self.latest, now.ctime)
        return problem

    def _came_now(self, object_id: ObjectId, now: Seen, what: str) -> Problem | None:
        change = self.expected.pop(object_id, None)
        if change is None:
            return None
        late = [
            f"{name} {shown(value)}"
            for name, value in (("ctime", now.ctime), ("mtime", now.mtime))
            if value < self.before_call and (name == "ctime" or change == "data")
        ]
        if not late:
            return None
        return Problem(
            rules.CHANGE_TIME,
            f"{what}: a change of {'data' if change == 'data' else 'attributes or entries'} "
            f"left {' and '.join(late)}, earlier than the ctime {shown(self.before_call)} the "
            "server showed before the call",
        )

    def forget(self) -> None:
        """The server restarted: nothing seen before holds."""
        self.last.clear()
        self.ctimes.clear()
        self.set_aside.clear()
        self.expected.clear()
        self.latest = self.before_call = 0
