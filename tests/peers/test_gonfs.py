"""go-nfs as a real peer: nfsprop-gonfs starts on 127.0.0.1, answers NULL for NFS v3 and
MOUNT v3 on one TCP port and nothing over UDP, takes "/" as the MNT path, keeps its port
across a SIGKILL and restart (its handles do not survive it), and deletes the served
directory itself on RMDIR "." in the export root, which a start makes again (and the gonfs
world restarts it, saying so). A missing binary fails with the install hint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.harness import findings
from properties.harness.findings import Recorder, Verdict
from properties.peers import processes
from properties.peers.gonfs import GoNfsServer
from properties.peers.processes import PeerNotInstalled
from properties.peers.rpcping import null_call
from properties.worlds.gonfs import GoNfsTarget, make_gonfs_target
from properties.worlds.options import WorldOptions
from properties.worlds.shared import SharedServers
from properties.worlds.target import Target
from reference.xdr.gen.mount3 import MNT3_OK, MOUNT_PROGRAM, MOUNT_V3_Client
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS_PROGRAM,
    GETATTR3args,
    NFS_V3_Client,
    RMDIR3args,
    diropargs3,
    nfs_fh3,
)


@pytest.fixture
def gonfs(tmp_path: Path) -> Iterator[GoNfsTarget]:
    target = make_gonfs_target(tmp_path)
    try:
        yield target
    finally:
        target.close()


def mount_root(target: Target) -> nfs_fh3:
    reply = target.run(MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export))
    assert reply.fhs_status == MNT3_OK and reply.mountinfo is not None, reply.fhs_status
    return nfs_fh3(reply.mountinfo.fhandle)


@pytest.mark.parametrize("program", [NFS_PROGRAM, MOUNT_PROGRAM])
def test_it_answers_null_over_tcp_only(gonfs: GoNfsTarget, program: int) -> None:
    address = ("127.0.0.1", gonfs.server.port)
    assert null_call(address, program, 3, transport="tcp")
    assert not null_call(address, program, 3, transport="udp", timeout=0.5)


def test_a_restart_keeps_the_port_and_loses_the_handles(gonfs: GoNfsTarget) -> None:
    root = mount_root(gonfs)
    port, first_pid = gonfs.server.port, gonfs.server.pid
    gonfs.crash_and_restart()
    assert (gonfs.server.port, gonfs.server.starts) == (port, 2)
    assert gonfs.server.pid not in (None, first_pid)
    answer = gonfs.run(NFS_V3_Client(gonfs.caller).NFSPROC3_GETATTR(GETATTR3args(root)))
    assert answer.status != NFS3_OK  # go-nfs keeps its handles in memory


def test_rmdir_dot_in_the_root_deletes_the_export_and_a_start_makes_it_again(
    gonfs: GoNfsTarget,
) -> None:
    root = mount_root(gonfs)
    nfs = NFS_V3_Client(gonfs.caller)
    removed = gonfs.run(nfs.NFSPROC3_RMDIR(RMDIR3args(diropargs3(root, b"."))))
    assert removed.status == NFS3_OK  # RFC 1813 forbids it: "." cannot be removed
    assert not gonfs.server.export_present()
    gonfs.crash_and_restart()
    assert gonfs.server.export_present()


def test_a_missing_binary_names_bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(processes, "_EXTRA_DIRS", ())
    with pytest.raises(PeerNotInstalled, match="bash scripts/bootstrap"):
        GoNfsServer(tmp_path).start()


def test_a_world_survives_the_export_it_lost_and_says_so() -> None:
    """The gonfs world's next example after RMDIR "." gets a restarted server with its
    export back, and a WARN finding naming the call that found the export gone."""
    shared = SharedServers(WorldOptions(("gonfs",)))
    try:
        first = shared.example("gonfs", drc=True)
        root = mount_root(first)
        nfs = NFS_V3_Client(first.caller)
        removed = first.run(nfs.NFSPROC3_RMDIR(RMDIR3args(diropargs3(root, b"."))))
        assert removed.status == NFS3_OK
        recorder = Recorder("gonfs")
        with findings.recording(recorder):
            second = shared.example("gonfs", drc=True)
        [lost] = recorder.findings.values()
        assert (lost.code, lost.verdict) == ("EXPORT-LOST", Verdict.WARN)
        assert re.search("emptying the export.*the server was restarted", lost.message)
        mount_root(second)
    finally:
        shared.close()
