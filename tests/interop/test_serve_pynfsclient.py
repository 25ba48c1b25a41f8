"""pyNfsClient (an old, independent pure-Python NFSv3 client) against `nfsprop serve`: MNT,
CREATE, LOOKUP, WRITE (FILE_SYNC, and UNSTABLE + COMMIT), READ, READDIR, and errors it
decodes. It talks TCP straight to the ports in the URL (no portmapper), as root: it binds a
privileged source port (and would retry forever without root, so the tests fail first).

pyNfsClient quirks the tests live with: every call's XID is int(time.time()), so calls
within one second share an XID (our duplicate request cache tells them apart by their
arguments' checksum); WRITE takes text (it encodes str(content)); results are dicts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

try:
    from pyNfsClient import (
        FILE_SYNC,
        MNT3_OK,
        NFS3_OK,
        NFS3ERR_NOENT,
        UNCHECKED,
        UNSTABLE,
        Mount,
        NFSv3,
    )
except ImportError as missing:  # fail loudly with the fix, never skip
    raise ImportError(
        "pyNfsClient not installed: run `bash scripts/bootstrap` (it installs the dev extras)"
    ) from missing

from properties.peers.reference_server import ServerProcess

HOST = "127.0.0.1"
TIMEOUT = 10
AUTH = {"flavor": 1, "machine_name": "pynfsclient", "uid": 0, "gid": 0, "aux_gid": [], "stamp": 1}


@pytest.fixture(autouse=True)
def privileged() -> None:
    """pyNfsClient binds a source port in 500-1023 and, if it cannot, retries forever."""
    if os.geteuid() != 0:
        pytest.fail("pyNfsClient needs root (it binds a source port below 1024): run as root")


@pytest.fixture
def mounted(reference_server: ServerProcess) -> Iterator[tuple[NFSv3, bytes]]:
    """A connected pyNfsClient NFSv3 client and the export's root handle."""
    mount = Mount(host=HOST, port=reference_server.mount_port, timeout=TIMEOUT, auth=AUTH)
    mount.connect()
    nfs = NFSv3(HOST, reference_server.port, TIMEOUT, AUTH)
    try:
        result = mount.mnt("/export")
        assert result["status"] == MNT3_OK, result
        nfs.connect()
        yield nfs, result["mountinfo"]["fhandle"]
    finally:
        if nfs.client is not None:
            nfs.disconnect()
        mount.disconnect()


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == NFS3_OK, result
    resok: dict[str, Any] = result["resok"]
    return resok


def test_mount_returns_a_handle_and_the_flavors(reference_server: ServerProcess) -> None:
    mount = Mount(host=HOST, port=reference_server.mount_port, timeout=TIMEOUT, auth=AUTH)
    mount.connect()
    try:
        result = mount.mnt("/export")
        outside = mount.mnt("/elsewhere")
    finally:
        mount.disconnect()
    assert result["status"] == MNT3_OK
    assert len(result["mountinfo"]["fhandle"]) == 25
    assert result["mountinfo"]["auth_flavors"] == [1, 0]
    assert outside["status"] != MNT3_OK


def test_create_lookup_write_read(mounted: tuple[NFSv3, bytes]) -> None:
    nfs, root = mounted
    created = ok(nfs.create(root, "hello.txt", UNCHECKED, mode=0o640))
    handle = created["obj"]["handle"]["data"]
    assert ok(nfs.lookup(root, "hello.txt"))["object"]["data"] == handle

    text = "hello from pyNfsClient\n" * 100
    written = ok(nfs.write(handle, 0, len(text), text, FILE_SYNC))
    assert written["count"] == len(text)
    assert written["committed"] == FILE_SYNC
    assert written["file_wcc"]["after"]["attributes"]["size"] == len(text)

    read = ok(nfs.read(handle, 0, 1 << 20))
    assert read["data"] == text.encode()
    assert read["eof"] is True
    partial = ok(nfs.read(handle, 6, 4))
    assert (partial["data"], partial["eof"]) == (b"from", False)

    got = nfs.getattr(handle)
    assert got["status"] == NFS3_OK, got
    attributes = got["attributes"]
    assert attributes["mode"] == 0o640
    assert attributes["size"] == len(text)


def test_unstable_write_then_commit(mounted: tuple[NFSv3, bytes]) -> None:
    nfs, root = mounted
    handle = ok(nfs.create(root, "unstable.txt", UNCHECKED))["obj"]["handle"]["data"]
    written = ok(nfs.write(handle, 0, 5, "abcde", UNSTABLE))
    assert written["committed"] == UNSTABLE
    committed = ok(nfs.commit(handle))
    assert committed["verf"] == written["verf"]
    assert ok(nfs.read(handle, 0, 100))["data"] == b"abcde"


def test_readdir_and_a_missing_name(mounted: tuple[NFSv3, bytes]) -> None:
    nfs, root = mounted
    for name in ("a", "b", "c"):
        ok(nfs.create(root, name, UNCHECKED))
    listing = ok(nfs.readdir(root))
    names: list[bytes] = []
    entries = listing["reply"]["entries"]
    while entries:
        names.append(entries[0]["name"])
        entries = entries[0]["nextentry"]
    assert names == [b".", b"..", b"a", b"b", b"c"]
    assert listing["reply"]["eof"] is True
    assert nfs.lookup(root, "absent")["status"] == NFS3ERR_NOENT
