"""Errors of the simulated world.

Rules: every error a user of the simulation can see derives from `SimError` and its
message names the problem and, where there is one, the fix.
"""


class SimError(Exception):
    """Base class of every error raised by the simulated world."""


class SimLimitExceeded(SimError):
    """A run processed `max_events` events without reaching its goal (likely a livelock)."""


class UnknownNode(SimError):
    """A node name that was never registered with `add_node`."""


class NodeDown(SimError):
    """An action on behalf of a node that is crashed, or of an older incarnation of it."""


class AddressInUse(SimError):
    """A port bound or listened on twice by the same node incarnation."""


class StreamClosed(SimError):
    """A write to (or a delivery on) a stream that can no longer carry data."""


class NodeCrashed(SimError):
    """Set as the exception of a task whose node crashed before the task finished."""


class TaskFailed(SimError):
    """A task raised and nobody was waiting for its result; the cause is chained."""


class WorldIdle(SimError):
    """A run waited for a condition, but no event was left that could make it true."""
