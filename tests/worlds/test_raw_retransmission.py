"""Raw retransmissions over TCP: the same record again on one connection, and after a
reconnect from the same local port, both reach a duplicate request cache keyed on the
client's address and port (our own server's); with the cache off, the reconnected copy
runs the call again. The raw call carries the target's credential (--uid/--gid)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from properties.nfs3.handles import mount
from properties.nfs3.wire import MKDIR, decode_reply, raw_call, sattr
from properties.worlds.loopback import make_loopback_target
from reference.rpc.stubs import AuthSys
from reference.xdr.gen.nfs3 import NFS3_OK, NFS3ERR_EXIST, MKDIR3args, diropargs3

USER = AuthSys(0, b"nfsprop-test", 1234, 1234)


@pytest.mark.parametrize("drc", [True, False], ids=["cache", "no-cache"])
def test_a_copy_sent_after_a_reconnect_reaches_the_cache(tmp_path: Path, drc: bool) -> None:
    target = make_loopback_target(tmp_path, drc=drc)
    try:
        target.features = dataclasses.replace(target.features, udp=False)  # raw over TCP
        target.credential = USER  # as --uid 1234 --gid 1234 give it
        root = mount(target)
        call = raw_call(
            target.next_xid(),
            MKDIR,
            MKDIR3args(diropargs3(root, b"x"), sattr()),
            target.credential,
        )
        first = target.run(target.send_raw(call))
        again = target.run(target.send_raw(call, reconnect=True))
    finally:
        target.close()
    assert first is not None and again is not None
    made = decode_reply(MKDIR, first)
    assert made.status == NFS3_OK and made.resok is not None
    attributes = made.resok.obj_attributes.attributes
    assert attributes is not None and (attributes.uid, attributes.gid) == (1234, 1234)
    if drc:
        assert again == first  # the cache knew the reconnected client
    else:
        assert decode_reply(MKDIR, again).status == NFS3ERR_EXIST  # it ran again
