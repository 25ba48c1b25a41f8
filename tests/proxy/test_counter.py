"""Both proxies in front of the counter service on real sockets: seeded schedules repeat,
steering decides the next matching message, and duplicates meet the duplicate request cache."""

from __future__ import annotations

import asyncio

import pytest

from faults.proxy.messages import CALL, REPLY
from faults.proxy.steering import DROP, DUPLICATE, Rule
from faults.sim.faults import RecordingFaults, SeededFaults
from faults.sim.message_faults import FaultRates
from faults.sim.trace import Kind, Trace
from reference.rpc.client import RetryPolicy
from reference.rpc.counter_service import CounterService
from tests.proxy.helpers import TRANSPORTS, counter_behind_proxy, until

INCREMENT = 1
CALLS = 16
# Faults on calls only: the client is sequential, so the calls reach the proxy in the same
# order in every run whatever the timing, and so do the decisions drawn for them — as long
# as no reply is so late that the client retransmits a call that was not dropped, which a
# one-second timeout rules out on loopback even on a busy machine.
DROPS_AND_DUPLICATES = FaultRates(drop=0.25, duplicate=0.25, max_delay=0.004)
PATIENT_RETRY = RetryPolicy(timeo=1.0, retrans=10, max_timeo=1.0, backoff="linear")


def executions_per_call(service: CounterService) -> list[int]:
    return sorted(service.executions.values())


async def seeded_run(transport: str, seed: int) -> tuple[list[int], list[str], list[int], int]:
    """(choices, the decided messages' notes, the values returned, the final value)."""
    recording = RecordingFaults(SeededFaults(seed))
    trace = Trace()
    async with counter_behind_proxy(
        transport,
        policy=PATIENT_RETRY,
        faults=recording,
        rates=DROPS_AND_DUPLICATES,
        faulty=(CALL,),
        trace=trace,
    ) as stack:
        values = [await stack.counter.COUNTERPROC_INCREMENT(1) for _ in range(CALLS)]
        assert executions_per_call(stack.service) == [1] * CALLS
        final = stack.service.value
    calls_sent = [event.note for event in trace if event.kind == Kind.SEND and "call" in event.note]
    return recording.choices, calls_sent, values, final


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_seeded_drop_and_duplicate_schedule_repeats(transport: str) -> None:
    async def scenario() -> None:
        first = await seeded_run(transport, seed=15)
        again = await seeded_run(transport, seed=15)
        choices, sent, values, final = first
        assert again == first  # the same decisions for the same messages
        assert 1 in choices and 2 in choices  # the schedule dropped and duplicated calls
        assert len(sent) > CALLS  # dropped calls were retransmitted
        assert values == list(range(1, CALLS + 1)) and final == CALLS  # each ran once

    asyncio.run(scenario())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_steering_drops_the_next_reply_and_the_cache_answers_the_retransmission(
    transport: str,
) -> None:
    async def scenario() -> None:
        trace = Trace()
        async with counter_behind_proxy(transport, trace=trace) as stack:
            assert await stack.counter.COUNTERPROC_INCREMENT(2) == 2
            steering = stack.proxy.steer(Rule(DROP, direction=REPLY, procedure=INCREMENT))
            assert await stack.counter.COUNTERPROC_INCREMENT(3) == 5
            assert await stack.counter.COUNTERPROC_INCREMENT(4) == 9
            assert steering.matched == 1 and not steering.live
            assert executions_per_call(stack.service) == [1, 1, 1]
        xid = steering.decided[0].xid
        note = f"call COUNTERPROC_INCREMENT xid={xid}"
        assert [e.kind for e in trace if e.note == note] == [Kind.SEND, Kind.DELIVER] * 2
        assert [e.note for e in trace if e.kind == Kind.DROP] == [
            f"reply COUNTERPROC_INCREMENT xid={xid} [steered]"
        ]

    asyncio.run(scenario())


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("drc", [True, False], ids=["drc", "no-drc"])
def test_duplicated_calls_run_once_with_the_cache_and_twice_without(
    transport: str, drc: bool
) -> None:
    async def scenario() -> None:
        async with counter_behind_proxy(transport, drc=drc) as stack:
            rule = Rule(DUPLICATE, direction=CALL, procedure=INCREMENT, count=None, delay=0.01)
            steering = stack.proxy.steer(rule)
            for _ in range(5):
                await stack.counter.COUNTERPROC_INCREMENT(1)
            # every copy is answered (the cache replays its reply): wait for all ten
            await until(lambda: stack.proxy.stats.messages_from_servers == 10)
            assert steering.matched == 5
            assert executions_per_call(stack.service) == [1 if drc else 2] * 5
            assert stack.service.value == (5 if drc else 10)

    asyncio.run(scenario())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wait_steered_returns_when_the_rule_has_decided_and_times_out_otherwise(
    transport: str,
) -> None:
    async def scenario() -> None:
        async with counter_behind_proxy(transport) as stack:
            steering = stack.proxy.steer(Rule(DROP, direction=REPLY, procedure=INCREMENT))
            call = asyncio.create_task(stack.counter.COUNTERPROC_INCREMENT(1))
            await stack.proxy.wait_steered(steering)
            assert steering.matched == 1
            assert await call == 1
            idle = stack.proxy.steer(Rule(DROP, procedure=99))
            with pytest.raises(TimeoutError):
                await stack.proxy.wait_steered(idle, timeout=0.05)
            stack.proxy.unsteer(idle)
            assert not idle.live

    asyncio.run(scenario())
