"""The port mapper, version 2 (RFC 1833 section 3): a server and two client helpers.

Rules:
- A mapping is keyed by (prog, vers, prot) and names one port. SET refuses (answers
  FALSE) a key that is already mapped, even to the same port; UNSET removes the mappings
  of (prog, vers) for every protocol, ignoring the argument's prot and port, and answers
  whether there were any; GETPORT ignores the argument's port and answers 0 for an
  unmapped key; DUMP lists every mapping in the order it was set.
- CALLIT (forward a call to a local program) is not supported: it answers PROC_UNAVAIL.
  Forwarding would make this reference a relay for amplified UDP traffic, and no test
  needs it.
- There is no access control: any caller may SET and UNSET. This portmapper is for tests
  on loopback, not for a real host.
- The state is volatile, as a real portmapper's is: a restart forgets every mapping.
- PortmapBugs are planted bugs of the service and of the rebinding client, each off by
  default and only ever turned on by tests (properties/portmap).
- RebindingCaller is a Caller for a program found through the port mapper, as Linux's
  RPC client rebinds: it asks GETPORT before its first call (again, `policy.patience`
  apart, while the answer is 0 or none comes), and whenever a call has gone unanswered for
  `policy.patience` seconds it asks again and moves the call, with its XID, to the port
  the answer names (`Rebindable.rebind`), so a duplicate request cache still knows it.
  After `policy.rebinds` asks for one call it gives up (ServiceUnreachable); the call it
  gave up on is left to its transport. It is sans-I/O in time: it waits only through
  its Patience (virtual time in the simulation) and never reads a clock itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from reference.rpc.errors import RpcError
from reference.rpc.stubs import CallContext, Caller, Procedure, ProcedureUnavailable
from reference.xdr.gen.portmap import (
    PMAPPROC_CALLIT,
    PMAP_VERS_Client,
    PMAP_VERS_Server,
    call_args,
    call_result,
    mapping,
    pmaplist,
)

A = TypeVar("A")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True, slots=True)
class PortmapBugs:
    """Switchable planted bugs of the port mapper and of RebindingCaller (tests only)."""

    # SET of a key already mapped replaces its port and answers TRUE (PMAP-SET-OVERWRITES)
    set_overwrites: bool = False
    # UNSET removes (prog, vers, prot) of its argument only (PMAP-UNSET-ONE-PROTOCOL)
    unset_one_protocol: bool = False
    # GETPORT answers the port of (prog, vers) under any protocol (PMAP-GETPORT-ANY-PROTOCOL)
    getport_any_protocol: bool = False
    # RebindingCaller asks GETPORT once and keeps that port forever (PMAP-REBIND-KEEPS-PORT)
    client_keeps_port: bool = False


NO_PORTMAP_BUGS = PortmapBugs()  # what every port mapper and client runs with


class PortmapService(PMAP_VERS_Server):
    def __init__(self, bugs: PortmapBugs = NO_PORTMAP_BUGS) -> None:
        self.mappings: dict[tuple[int, int, int], int] = {}
        self.bugs = bugs

    def PMAPPROC_SET(self, args: mapping, ctx: CallContext) -> bool:
        key = (args.prog, args.vers, args.prot)
        if key in self.mappings and not self.bugs.set_overwrites:
            return False
        self.mappings[key] = args.port
        return True

    def PMAPPROC_UNSET(self, args: mapping, ctx: CallContext) -> bool:
        keys = [key for key in self.mappings if key[:2] == (args.prog, args.vers)]
        if self.bugs.unset_one_protocol:
            keys = [key for key in keys if key[2] == args.prot]
        for key in keys:
            del self.mappings[key]
        return bool(keys)

    def PMAPPROC_GETPORT(self, args: mapping, ctx: CallContext) -> int:
        if self.bugs.getport_any_protocol:
            pair = (args.prog, args.vers)
            ports = [port for key, port in self.mappings.items() if key[:2] == pair]
            return ports[0] if ports else 0
        return self.mappings.get((args.prog, args.vers, args.prot), 0)

    def PMAPPROC_DUMP(self, args: None, ctx: CallContext) -> list[pmaplist]:
        return [
            pmaplist(mapping(prog, vers, prot, port))
            for (prog, vers, prot), port in self.mappings.items()
        ]

    def PMAPPROC_CALLIT(self, args: call_args, ctx: CallContext) -> call_result:
        raise ProcedureUnavailable(PMAPPROC_CALLIT)


async def register(caller: Caller, prog: int, vers: int, prot: int, port: int) -> bool:
    """SET (prog, vers, prot) -> port on the portmapper `caller` reaches; False if that key
    is already mapped."""
    return await PMAP_VERS_Client(caller).PMAPPROC_SET(mapping(prog, vers, prot, port))


async def getport(caller: Caller, prog: int, vers: int, prot: int) -> int:
    """The port (prog, vers, prot) is mapped to; 0 if it is not."""
    return await PMAP_VERS_Client(caller).PMAPPROC_GETPORT(mapping(prog, vers, prot, 0))


class ServiceUnreachable(RpcError):
    """RebindingCaller gave up: the port mapper named no port that answered in time."""

    def __init__(self, program: int, version: int, asks: int) -> None:
        super().__init__(
            f"program {program} version {version}: no reply after {asks} tries of the port"
            " the port mapper named"
        )
        self.program = program
        self.version = version
        self.asks = asks


class Rebindable(Caller, Protocol):
    """A transport whose calls can move to another port of the same host."""

    def rebind(self, port: int) -> None:
        """Send every later call, and each pending one at once with its XID, to `port`."""
        ...


class Running(Protocol[R_co]):
    """A call running on its own (a task)."""

    def done(self) -> bool: ...

    def result(self) -> R_co: ...


class Patience(Protocol):
    """How a client waits in its world (virtual time in the simulation)."""

    def start(self, call: Coroutine[Any, Any, R]) -> Running[R]:
        """Run `call` on its own."""
        ...

    def wait(self, running: Running[Any], seconds: float) -> Awaitable[None]:
        """Return when `running` is done or `seconds` have passed, whichever is first."""
        ...

    def sleep(self, seconds: float) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class RebindPolicy:
    patience: float = 1.0  # seconds a call may go unanswered before GETPORT is asked again
    rebinds: int = 10  # GETPORTs for one call, its first included, before giving up

    def __post_init__(self) -> None:
        if self.patience <= 0 or self.rebinds < 1:
            raise ValueError(f"bad rebind policy {self}: need patience > 0 and rebinds >= 1")


DEFAULT_REBIND_POLICY = RebindPolicy()


class RebindingCaller:
    """A Caller of (program, version, protocol) at the port the port mapper names (see the
    module rules)."""

    def __init__(
        self,
        portmapper: Caller,
        transport: Rebindable,
        key: tuple[int, int, int],
        patience: Patience,
        policy: RebindPolicy = DEFAULT_REBIND_POLICY,
        bugs: PortmapBugs = NO_PORTMAP_BUGS,
    ) -> None:
        self.portmapper = PMAP_VERS_Client(portmapper)
        self.transport = transport
        self.key = key
        self.patience = patience
        self.policy = policy
        self.bugs = bugs
        self.port = 0  # 0: not known yet

    async def call(self, procedure: Procedure[A, R], args: A) -> R:
        asks = 0
        while self.port == 0:
            asks = await self._ask(asks)
            if self.port == 0:
                await self.patience.sleep(self.policy.patience)
        running = self.patience.start(self.transport.call(procedure, args))
        while True:
            await self.patience.wait(running, self.policy.patience)
            if running.done():
                return running.result()
            asks = await self._ask(asks)

    async def _ask(self, asks: int) -> int:
        """Ask GETPORT (the call's `asks`-th ask) and move to the port it names, if any;
        ServiceUnreachable once the policy's asks are spent."""
        program, version, protocol = self.key
        if asks == self.policy.rebinds:
            raise ServiceUnreachable(program, version, asks)
        if self.bugs.client_keeps_port and self.port != 0:
            return asks + 1  # the planted bug: the port it has is the port forever
        try:
            port = await self.portmapper.PMAPPROC_GETPORT(mapping(program, version, protocol, 0))
        except RpcError:
            port = 0  # no answer: keep the port known, if any
        if port not in (0, self.port):
            self.port = port
            self.transport.rebind(port)
        return asks + 1
