"""Steering: rules a test gives a proxy, step by step, that decide before the fault source.

Rules:
- A `Rule` matches messages by direction ("call" or "reply"), program, version,
  procedure and XID; a field left None matches anything. `Rule(direction="reply",
  procedure=12, action=DROP)` drops the reply to the next REMOVE.
- A rule decides `count` messages (None: every matching message, until removed), then it
  is spent and ignored. Rules are tried in the order they were given; the first live rule
  that matches decides, and the fault source is not asked: a steered message draws no
  decision, so steering never shifts the recorded choices of the messages around it.
- Actions: DELIVER (at once), DROP, DUPLICATE (one copy at once, one `delay` seconds
  later), DELAY (by `delay` seconds; on TCP the records behind it wait too) and REORDER
  (held `delay` seconds while later messages pass it).
- `Steering` is the handle `steer()` returns: how many messages the rule decided, and
  which. It is plain data, read and written on the proxy's event loop thread only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from faults.proxy.messages import DIRECTIONS, MessageId


class Action(enum.Enum):
    DELIVER = "deliver"
    DROP = "drop"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    REORDER = "reorder"


DELIVER = Action.DELIVER
DROP = Action.DROP
DUPLICATE = Action.DUPLICATE
DELAY = Action.DELAY
REORDER = Action.REORDER


@dataclass(frozen=True, slots=True)
class Rule:
    """Which messages (None matches any) and what happens to them."""

    action: Action
    direction: str | None = None
    program: int | None = None
    version: int | None = None
    procedure: int | None = None
    xid: int | None = None
    count: int | None = 1
    delay: float = 0.05

    def __post_init__(self) -> None:
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(
                f"Rule.direction must be 'call', 'reply' or None, not {self.direction!r}"
            )
        if self.count is not None and self.count < 1:
            raise ValueError(f"Rule.count must be at least 1 (None: unlimited), not {self.count}")
        if self.delay < 0:
            raise ValueError(f"Rule.delay must be >= 0 seconds, not {self.delay}")

    def matches(self, message: MessageId) -> bool:
        return (
            (self.direction is None or self.direction == message.direction)
            and (self.program is None or self.program == message.program)
            and (self.version is None or self.version == message.version)
            and (self.procedure is None or self.procedure == message.procedure)
            and (self.xid is None or self.xid == message.xid)
        )


@dataclass(eq=False, slots=True)
class Steering:
    """A rule given to a proxy, and what it has decided so far."""

    rule: Rule
    decided: list[MessageId] = field(default_factory=list)
    removed: bool = False

    @property
    def matched(self) -> int:
        return len(self.decided)

    @property
    def live(self) -> bool:
        count = self.rule.count
        return not self.removed and (count is None or len(self.decided) < count)


class Steerer:
    """The live rules of one proxy, in the order given."""

    __slots__ = ("_steerings",)

    def __init__(self) -> None:
        self._steerings: list[Steering] = []

    def __bool__(self) -> bool:
        return bool(self._steerings)

    def add(self, rule: Rule) -> Steering:
        steering = Steering(rule)
        self._steerings.append(steering)
        return steering

    def remove(self, steering: Steering) -> None:
        steering.removed = True
        self._prune()

    def decide(self, message: MessageId) -> Rule | None:
        """The rule that decides `message` (and counts it), or None: ask the fault source."""
        for steering in self._steerings:
            if steering.live and steering.rule.matches(message):
                steering.decided.append(message)
                if not steering.live:
                    self._prune()
                return steering.rule
        return None

    def _prune(self) -> None:
        self._steerings = [steering for steering in self._steerings if steering.live]
