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
"""

from __future__ import annotations

from reference.rpc.stubs import CallContext, Caller, ProcedureUnavailable
from reference.xdr.gen.portmap import (
    PMAPPROC_CALLIT,
    PMAP_VERS_Client,
    PMAP_VERS_Server,
    call_args,
    call_result,
    mapping,
    pmaplist,
)


class PortmapService(PMAP_VERS_Server):
    def __init__(self) -> None:
        self.mappings: dict[tuple[int, int, int], int] = {}

    def PMAPPROC_SET(self, args: mapping, ctx: CallContext) -> bool:
        key = (args.prog, args.vers, args.prot)
        if key in self.mappings:
            return False
        self.mappings[key] = args.port
        return True

    def PMAPPROC_UNSET(self, args: mapping, ctx: CallContext) -> bool:
        keys = [key for key in self.mappings if key[:2] == (args.prog, args.vers)]
        for key in keys:
            del self.mappings[key]
        return bool(keys)

    def PMAPPROC_GETPORT(self, args: mapping, ctx: CallContext) -> int:
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
