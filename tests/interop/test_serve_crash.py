"""The loopback target against `nfsprop serve` as a real subprocess: SIGKILL after a FILE_SYNC
write and a COMMIT loses neither, old handles still work after the restart (through the
same hard-mounted RpcSocketClient, which reconnects by itself), the write verifier
changes; a REMOVE retransmitted with one XID over UDP is answered from the duplicate
request cache, and executed twice without it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.nfs3.calls import (
    Stubs,
    TargetStubs,
    create,
    lookup,
    mount_root,
    read,
    write,
)
from properties.worlds.loopback import LoopbackTarget, make_loopback_target
from properties.worlds.probe import REFERENCE
from properties.worlds.target import Target
from reference.rpc.auth import encode_credential
from reference.rpc.message import SUCCESS, encode_call, parse_reply
from reference.rpc.stubs import AuthSys
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_NOENT,
    NFS_PROGRAM,
    NFS_V3,
    NFSPROC3_REMOVE,
    diropargs3,
    nfs_fh3,
    stable_how,
)


@pytest.fixture(params=[True, False], ids=["drc", "no-drc"])
def loopback(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoopbackTarget]:
    target = make_loopback_target(tmp_path / "loopback", drc=request.param)
    try:
        yield target
    finally:
        target.close()


def test_the_loopback_target_is_a_target(loopback: LoopbackTarget) -> None:
    target: Target = loopback
    assert (target.name, target.capabilities.crashes, target.export) == (
        "loopback",
        True,
        b"/export",
    )
    assert loopback.server.pid is not None


def test_sigkill_keeps_file_sync_and_committed_data_and_handles(
    loopback: LoopbackTarget,
) -> None:
    async def before(target: Stubs) -> tuple[bytes, bytes, bytes, bytes]:
        root = await mount_root(target)
        synced = await create(target, root, b"synced")
        written = await write(target, synced, 0, b"durable at once", stable_how.FILE_SYNC)
        assert written.committed == stable_how.FILE_SYNC
        committed = await create(target, root, b"committed")
        await write(target, committed, 0, b"durable after COMMIT", stable_how.UNSTABLE)
        done = await target.nfs.NFSPROC3_COMMIT(nfs3.COMMIT3args(nfs_fh3(committed), 0, 0))
        assert done.status == NFS3_OK and done.resok is not None
        assert done.resok.verf == written.verf
        return root, synced, committed, written.verf

    root, synced, committed, verifier = loopback.run(before(TargetStubs(loopback)))
    first_pid = loopback.server.pid
    loopback.crash_and_restart()
    assert loopback.server.pid not in (None, first_pid)

    async def after(target: Stubs) -> bytes:
        assert await read(target, synced, 0, 100) == b"durable at once"
        assert await read(target, committed, 0, 100) == b"durable after COMMIT"
        assert await lookup(target, root, b"synced") == synced
        written = await write(target, synced, 0, b"D", stable_how.FILE_SYNC)
        return written.verf

    assert loopback.run(after(TargetStubs(loopback))) != verifier
    assert loopback.caller.reconnects >= 1


def remove_call(xid: int, directory: bytes, name: bytes) -> bytes:
    args = nfs3.REMOVE3args(diropargs3(nfs_fh3(directory), name)).encode()
    credential = encode_credential(AuthSys(0, b"raw", 0, 0))
    return encode_call(xid, NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE, credential, args)


def remove_status(reply: bytes | None) -> int:
    assert reply is not None, "no reply to a raw call"
    header = parse_reply(reply)
    assert header.accepted and header.stat == SUCCESS
    return nfs3.REMOVE3res.decode(reply[header.results_offset :]).status


@pytest.mark.parametrize("udp", [True, False], ids=["udp", "tcp"])
def test_a_retransmitted_remove(loopback: LoopbackTarget, udp: bool) -> None:
    """Over UDP, and over TCP (the same record twice on one connection) as for a server
    that serves no UDP: with the cache the second reply is the first's."""
    loopback.features = dataclasses.replace(REFERENCE, udp=udp)

    async def scenario(target: Target) -> tuple[bytes | None, bytes | None]:
        stubs = TargetStubs(target)
        root = await mount_root(stubs)
        await create(stubs, root, b"victim")
        call = remove_call(target.next_xid(), root, b"victim")
        return await target.send_raw(call), await target.send_raw(call)

    first, second = loopback.run(scenario(loopback))
    assert remove_status(first) == NFS3_OK
    if loopback.server.drc:
        assert second == first
    else:
        assert remove_status(second) == NFS3ERR_NOENT


def test_next_xid_never_repeats(loopback: LoopbackTarget) -> None:
    xids = [loopback.next_xid() for _ in range(100)]
    assert len(set(xids)) == 100
