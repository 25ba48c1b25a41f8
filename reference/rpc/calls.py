"""From a stub's call to the engine and back: what every Caller implementation shares.

Rules: arguments are encoded before anything is sent, so a value that cannot be encoded
fails at once with XdrError; results that do not decode are RpcGarbageReply; an engine
error (timeout, denied, accept error) is raised as it is.
"""

from __future__ import annotations

from typing import TypeVar

from reference.rpc.client import Completion
from reference.rpc.errors import RpcGarbageReply
from reference.rpc.stubs import Procedure
from reference.xdr import XdrError

A = TypeVar("A")
R = TypeVar("R")


def result_of(procedure: Procedure[A, R], completion: Completion) -> R:
    if completion.error is not None:
        raise completion.error
    assert completion.results is not None
    try:
        return procedure.decode_result(completion.results)
    except XdrError as error:
        raise RpcGarbageReply(f"{procedure.name} results: {error}", completion.xid) from None
