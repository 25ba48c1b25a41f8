"""The model of a MOUNT v3 server's mount list, as far as one example's own directories go,
and the judgement of a DUMP reply against it.

Rules:
- The server is shared (other tests, other xdist workers, the export mounted by every
  example), so the model owns only the paths that hold its example's token (a prefix of
  names no other example uses, ending in '-' so that no token holds another); a DUMP
  entry of any other path is never judged.
- Each owned path is ABSENT (never mounted, or removed by UMNT or UMNTALL since),
  MOUNTED (MNT answered MNT3_OK since the last restart) or MAYBE (mounted before a
  restart, or touched by a call whose reply never came: RFC 1813 §5 lets a server lose
  its advisory list, so it may be listed or not). The path is keyed as sent, trailing
  slashes cut (a server may record either form).
- The client's host name is the server's choice: the first DUMP that lists an owned path
  teaches it (`host`), and every later owned entry must carry it.
- `judge(entries)` gives what a DUMP reply broke: an owned path listed under another host
  or never mounted (DUMP-NEVER-MOUNTED), listed after UMNT or UMNTALL removed it
  (DUMP-UNMOUNTED), listed twice (DUMP-DUPLICATE): FAILs; a MOUNTED path not listed
  (DUMP-KEPT): a WARN, the list being advisory.
- Pure: no I/O, no clock; the machine (properties/mount/machine.py) applies each reply.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from properties.harness.findings import Rule
from properties.mount import rules
from reference.xdr.gen.mount3 import mountbody


class Presence(enum.Enum):
    ABSENT = "absent"
    MOUNTED = "mounted"
    MAYBE = "maybe"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing a DUMP reply broke: the rule and what was seen."""

    rule: Rule
    message: str


def normal(path: bytes) -> bytes:
    """`path` without its trailing slashes ('/' stays)."""
    return path.rstrip(b"/") or b"/"


@dataclass
class MountList:
    token: bytes  # the example's own paths hold it
    presence: dict[bytes, Presence] = field(default_factory=dict)
    ever_mounted: set[bytes] = field(default_factory=set)
    host: bytes | None = None  # the client's name, as the server's first listing gave it

    def owns(self, path: bytes) -> bool:
        return self.token in path

    def mounted(self, path: bytes) -> None:
        """MNT of `path` answered MNT3_OK."""
        if self.owns(path):
            self.presence[normal(path)] = Presence.MOUNTED
            self.ever_mounted.add(normal(path))

    def unmounted(self, path: bytes) -> None:
        """UMNT of `path` answered."""
        if self.owns(path):
            self.presence[normal(path)] = Presence.ABSENT

    def unmounted_all(self) -> None:
        """UMNTALL answered."""
        for path in self.presence:
            self.presence[path] = Presence.ABSENT

    def uncertain(self, path: bytes | None = None) -> None:
        """A call about `path` (None: all of this client's) may or may not have run: a MNT
        may have listed it, a UMNT or UMNTALL removed it."""
        paths = list(self.presence) if path is None else [normal(path)]
        for each in paths:
            if self.owns(each):
                self.presence[each] = Presence.MAYBE
                self.ever_mounted.add(each)

    def restarted(self) -> None:
        """The server restarted: what it listed it may have lost."""
        for path, presence in self.presence.items():
            if presence is Presence.MOUNTED:
                self.presence[path] = Presence.MAYBE

    def judge(self, entries: list[mountbody]) -> list[Problem]:
        """What the DUMP reply `entries` broke (see the module rules); learns the host."""
        owned = [(entry.ml_hostname, normal(entry.ml_directory)) for entry in entries]
        owned = [(host, path) for host, path in owned if self.owns(path)]
        if self.host is None and owned:
            self.host = owned[0][0]
        problems: list[Problem] = []
        for (host, path), count in Counter(owned).items():
            problem = self._listed(host, path, count)
            if problem is not None:
                problems.append(problem)
        listed = {path for host, path in owned if host == self.host}
        for path, presence in self.presence.items():
            if presence is Presence.MOUNTED and path not in listed:
                problems.append(
                    Problem(rules.DUMP_KEPT, f"DUMP does not list {path!r}, mounted since")
                )
        return problems

    def _listed(self, host: bytes, path: bytes, count: int) -> Problem | None:
        shown = f"DUMP lists ({host!r}, {path!r})"
        if host != self.host:
            return Problem(
                rules.DUMP_NEVER_MOUNTED,
                f"{shown}, but this client was {self.host!r} in the server's first listing",
            )
        presence = self.presence.get(path, Presence.ABSENT)
        if presence is Presence.ABSENT and path not in self.ever_mounted:
            return Problem(rules.DUMP_NEVER_MOUNTED, f"{shown}, which no MNT mounted")
        if presence is Presence.ABSENT:
            return Problem(rules.DUMP_UNMOUNTED, f"{shown}, which UMNT or UMNTALL removed")
        if count > 1:
            return Problem(rules.DUMP_DUPLICATE, f"{shown} {count} times")
        return None
