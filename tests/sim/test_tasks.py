"""Coroutine tasks on virtual time."""

import asyncio

import pytest

from faults.sim import (
    NodeContext,
    NodeCrashed,
    SimError,
    SimFuture,
    SimWorld,
    TaskFailed,
    sleep,
)


def world_with(*names: str) -> SimWorld:
    world = SimWorld()
    for name in names:
        world.add_node(name, lambda context: None)
    return world


def test_a_sleeping_task_resumes_at_the_right_virtual_time() -> None:
    world = world_with("client")
    woke: list[float] = []

    async def sleeper() -> str:
        await sleep(world, 1.5)
        woke.append(world.now)
        await world.node("client").sleep(0.25)
        woke.append(world.now)
        return "rested"

    task = world.spawn(sleeper(), "client")
    assert not task.done()
    world.run_until(task.done)
    assert task.result() == "rested"
    assert woke == [1.5, 1.75]


def test_a_task_gets_the_value_or_the_exception_of_what_it_awaits() -> None:
    world = world_with("client")
    answer: SimFuture[int] = SimFuture()
    failure: SimFuture[int] = SimFuture()
    world.call_later(1.0, None, lambda: answer.set_result(42))
    world.call_later(2.0, None, lambda: failure.set_exception(KeyError("gone")))

    async def waiter() -> tuple[int, str]:
        value = await answer
        try:
            await failure
        except KeyError as error:
            return value, str(error)
        return value, "no error"

    task = world.spawn(waiter(), "client")
    world.run_until(task.done)
    assert task.result() == (42, "'gone'")
    assert world.now == 2.0


def test_a_task_can_await_another_task() -> None:
    world = world_with("a", "b")

    async def child() -> int:
        await sleep(world, 3.0)
        return 7

    async def parent() -> int:
        return 1 + await world.spawn(child(), "b")

    task = world.spawn(parent(), "a")
    world.run_until(task.done)
    assert task.result() == 8
    assert world.now == 3.0


def test_awaiting_an_asyncio_object_throws_a_clear_type_error() -> None:
    world = world_with("client")

    async def confused() -> str:
        try:
            await asyncio.sleep(0)
        except TypeError as error:
            return str(error)
        return "no error"

    task = world.spawn(confused(), "client")
    world.run_until(task.done)
    assert "not a SimFuture" in task.result()


def test_a_crash_closes_the_coroutines_of_the_node() -> None:
    world = world_with("server")
    cleaned_up: list[float] = []
    steps: list[float] = []

    async def serve() -> None:
        try:
            while True:
                await sleep(world, 1.0)
                steps.append(world.now)
        finally:
            cleaned_up.append(world.now)

    task = world.spawn(serve(), "server")
    world.call_at(2.5, None, lambda: world.crash("server"))
    world.run_until(lambda: False, deadline=10.0)
    assert steps == [1.0, 2.0]
    assert cleaned_up == [2.5]
    assert isinstance(task.exception(), NodeCrashed)


def test_a_task_that_crashes_its_own_node_ends_with_node_crashed() -> None:
    world = world_with("server")
    after_crash: list[str] = []

    async def suicidal() -> None:
        world.crash("server")
        after_crash.append("still running until the next await")
        await sleep(world, 1.0)
        after_crash.append("never")

    task = world.spawn(suicidal(), "server")
    world.run_until_idle()
    assert after_crash == ["still running until the next await"]
    assert isinstance(task.exception(), NodeCrashed)


def test_a_failing_task_nobody_awaits_fails_the_run() -> None:
    world = world_with("client")

    async def broken() -> None:
        await sleep(world, 1.0)
        raise RuntimeError("bug in node code")

    world.spawn(broken(), "client")
    with pytest.raises(TaskFailed, match="bug in node code") as caught:
        world.run_until_idle()
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_failing_task_that_is_awaited_hands_its_exception_to_the_awaiter() -> None:
    world = world_with("client")

    async def broken() -> None:
        raise RuntimeError("bug")

    async def supervisor() -> str:
        try:
            await world.spawn(broken(), "client")
        except RuntimeError as error:
            return f"caught {error}"
        return "nothing"

    task = world.spawn(supervisor(), "client")
    world.run_until(task.done)
    assert task.result() == "caught bug"


def test_a_future_is_set_once_and_read_only_when_done() -> None:
    future: SimFuture[int] = SimFuture()
    seen: list[int] = []
    future.add_done_callback(lambda done: seen.append(done.result()))
    with pytest.raises(SimError, match="not done yet"):
        future.result()
    future.set_result(5)
    future.add_done_callback(lambda done: seen.append(done.result() * 10))
    assert seen == [5, 50]
    assert future.exception() is None
    with pytest.raises(SimError, match="set only once"):
        future.set_result(6)


def test_spawn_from_a_node_context_traces_the_task() -> None:
    world = SimWorld()
    names: list[str] = []

    async def job() -> None:
        return None

    def on_start(context: NodeContext) -> None:
        names.append(context.spawn(job()).name)

    world.add_node("server", on_start)
    world.run_until_idle()
    assert names == ["server/test_spawn_from_a_node_context_traces_the_task.<locals>.job"]
    assert world.trace[-1].note == names[0]
