"""The RPC engines wired into the simulation world: a client Caller and a server node.

Rules:
- Same engines as on real sockets (reference.rpc.client / .server); only the I/O differs:
  datagrams of the sim world carry whole RPC messages, the clock is the virtual clock,
  retransmission timers are node timers (a crash discards them).
- A server may take `service_time` virtual seconds per call: the call is received (and
  its DRC entry marked in progress) at arrival and answered `service_time` later, so
  duplicates can arrive while it executes. A crash loses everything volatile: the DRC,
  calls in execution, the service state built by `on_start`.
- Every call and its outcome is annotated in the trace, for the sequence chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, TypeVar

from faults.sim.nodes import Address
from faults.sim.scheduler import TimerHandle
from faults.sim.tasks import SimFuture
from faults.sim.world import NodeContext
from reference.rpc.calls import result_of
from reference.rpc.client import Completion, Outgoing, RetryPolicy, RpcClientEngine
from reference.rpc.drc import DuplicateRequestCache
from reference.rpc.server import Drop, Execute, Reply, RpcServer
from reference.rpc.stubs import AuthNone, Credential, Procedure, ProgramVersion

A = TypeVar("A")
R = TypeVar("R")

TRANSPORT = "sim"


class SimRpcServer:
    """An RpcServer listening on `port` of the node `context` belongs to."""

    def __init__(
        self,
        context: NodeContext,
        port: int,
        programs: Iterable[ProgramVersion],
        drc: DuplicateRequestCache | None = None,
        service_time: float = 0.0,
    ) -> None:
        self.context = context
        self.port = port
        self.engine = RpcServer(programs, drc)
        self.service_time = service_time
        context.bind(port, self._on_message)

    def _on_message(self, message: bytes, source: Address) -> None:
        context = self.context
        outcome = self.engine.receive(message, source, TRANSPORT, context.now)
        if isinstance(outcome, Reply):
            context.send(self.port, source, outcome.message)
        elif isinstance(outcome, Execute):
            if self.service_time > 0:
                context.call_later(self.service_time, partial(self._finish, outcome, source))
            else:
                self._finish(outcome, source)
        elif isinstance(outcome, Drop):
            context.note(f"drop xid={_xid(message)}: {outcome.reason}")

    def _finish(self, call: Execute, source: Address) -> None:
        reply = self.engine.complete(call, self.context.now)
        self.context.send(self.port, source, reply)


class SimRpcClient:
    """A Caller (see reference.rpc.stubs) on node `context`, talking to `server`."""

    def __init__(
        self,
        context: NodeContext,
        server: Address,
        port: int,
        policy: RetryPolicy | None = None,
        credential: Credential | None = None,
        first_xid: int = 1,
    ) -> None:
        self.context = context
        self.server = server
        self.port = port
        self.engine = RpcClientEngine(
            policy or RetryPolicy(), credential or AuthNone(), first_xid=first_xid
        )
        self._waiting: dict[int, tuple[Procedure[Any, Any], SimFuture[Any]]] = {}
        self._timer: TimerHandle | None = None
        self._timer_at: float | None = None
        context.bind(port, self._on_message)

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        context = self.context
        outgoing = self.engine.start_call(
            procedure.program,
            procedure.version,
            procedure.number,
            procedure.encode_args(args),
            context.now,
        )
        future: SimFuture[R] = SimFuture()
        self._waiting[outgoing.xid] = (procedure, future)
        context.note(f"call {procedure.name} xid={outgoing.xid}")
        context.send(self.port, self.server, outgoing.message)
        self._arm_timer()
        return await future

    def _on_message(self, message: bytes, source: Address) -> None:
        action = self.engine.receive(message)
        if isinstance(action, Outgoing):
            self.context.note(f"garbage reply, send again xid={action.xid}")
            self.context.send(self.port, self.server, action.message)
        elif action is not None:
            self._complete(action)
        self._arm_timer()

    def _complete(self, completion: Completion) -> None:
        procedure, future = self._waiting.pop(completion.xid)
        outcome = "ok" if completion.error is None else type(completion.error).__name__
        self.context.note(f"reply {procedure.name} xid={completion.xid} {outcome}")
        try:
            future.set_result(result_of(procedure, completion))
        except Exception as error:  # an RpcError or garbage results: the caller gets it
            future.set_exception(error)

    def _arm_timer(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if deadline is None else self.context.call_at(deadline, self._on_timer)
        self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        for action in self.engine.due(self.context.now):
            if isinstance(action, Completion):
                self._complete(action)
            else:
                self.context.note(f"retransmit xid={action.xid}")
                self.context.send(self.port, self.server, action.message)
        self._arm_timer()


def _xid(message: bytes) -> str:
    return message[:4].hex() if len(message) >= 4 else "?"
