"""SimRpcClient over the simulated network: a server that answers with garbage replies
(RPC headers cut short) gets the call again, at once, twice, as Linux's client sends it."""

from __future__ import annotations

from faults.sim import NodeContext, SimWorld
from faults.sim.nodes import Address
from faults.sim.rpc import SimRpcClient
from reference.rpc import message as msg
from reference.rpc.client import RetryPolicy
from reference.rpc.errors import RpcGarbageReply
from reference.xdr.gen.counter import COUNTER_V1_Client

SERVER: Address = ("server", 111)
POLICY = RetryPolicy(timeo=60.0, retrans=0)  # no timer retransmission: garbage alone


def run_against_garbage(garbage: int) -> tuple[SimWorld, list[bytes], BaseException | None]:
    """A NULL call to a server that cuts its first `garbage` replies short."""
    world = SimWorld()
    copies: list[bytes] = []

    def start_server(context: NodeContext) -> None:
        def answer(payload: bytes, source: Address) -> None:
            copies.append(payload)
            reply = msg.encode_success(int.from_bytes(payload[:4], "big"), b"")
            context.send(SERVER[1], source, reply[:-4] if len(copies) <= garbage else reply)

        context.bind(SERVER[1], answer)

    world.add_node("server", start_server)
    client = world.add_node("client", lambda context: None)
    stub = COUNTER_V1_Client(SimRpcClient(client, SERVER, 700, POLICY))
    failures: list[BaseException] = []

    async def call() -> bool:
        try:
            await stub.COUNTERPROC_NULL()
        except RpcGarbageReply as error:
            failures.append(error)
        return True

    task = client.spawn(call())
    world.run_until_idle()
    assert task.done() and task.result()
    return world, copies, failures[0] if failures else None


def test_two_garbage_replies_then_a_good_one_complete_the_call() -> None:
    world, copies, error = run_against_garbage(2)
    assert error is None
    assert len(copies) == 3 and len(set(copies)) == 1  # one call, one XID, sent 3 times
    notes = [event.note for event in world.trace if event.note.startswith("garbage reply")]
    assert notes == ["garbage reply, send again xid=1"] * 2


def test_a_third_garbage_reply_fails_the_call() -> None:
    _, copies, error = run_against_garbage(3)
    assert isinstance(error, RpcGarbageReply) and error.xid == 1
    assert len(copies) == 3
