"""A proxied target takes its example's fault decisions up front, in the test's thread:
a fault source that runs out (Hypothesis's StopTest when the example's data is used up)
raises while the target is made, never inside the proxy's event loop, where the call
would be lost to a logged callback error while the hard-mounted client retransmitted;
and the calls a proxied target makes draw nothing more, however many retransmissions
real time causes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from faults.sim import FaultRates
from properties.worlds.loopback import LoopbackTarget, make_loopback_target
from properties.worlds.proxied import PREFETCHED, proxied_target
from reference.xdr.gen.mount3 import MOUNT_V3_Client

EVERY_FAULT = FaultRates(drop=0.1, duplicate=0.1, delay=0.1, reorder=0.1, max_delay=0.01)


class DataUsedUp(Exception):
    pass


class CountedData:
    """A fault source with `available` decisions, all boring; then it is used up."""

    def __init__(self, available: int) -> None:
        self.available = available
        self.asked = 0

    def choose(self, label: str, weights: Sequence[float]) -> int:
        self.asked += 1
        if self.asked > self.available:
            raise DataUsedUp(label)
        return 0


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[LoopbackTarget]:
    target = make_loopback_target(tmp_path / "loopback")
    try:
        yield target
    finally:
        target.close()


def test_used_up_data_stops_the_example_where_the_target_is_made(shared: LoopbackTarget) -> None:
    with pytest.raises(DataUsedUp):
        proxied_target(shared, CountedData(PREFETCHED - 1), EVERY_FAULT)


def test_calls_through_the_proxy_draw_nothing_more(shared: LoopbackTarget) -> None:
    source = CountedData(PREFETCHED)
    target = proxied_target(shared, source, EVERY_FAULT)
    try:
        for _ in range(3):
            reply = target.run(MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export))
            assert reply.mountinfo is not None
    finally:
        target.close()
    assert source.asked == PREFETCHED
