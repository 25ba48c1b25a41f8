"""libnfs (an independent NFSv3 client) against NFS-Ganesha: a 1.5 MiB file written with
nfs-cp reads back byte-identical with nfs-cat, shows in nfs-ls and in the server's
directory, and is still there, unchanged, after Ganesha is SIGKILLed and restarted.
Missing tools fail with the install hint."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.peers import processes
from properties.peers.ganesha import GaneshaServer
from properties.peers.libnfs import LibnfsTimeout, nfs_cat, nfs_cp, nfs_ls
from properties.peers.processes import PeerNotInstalled

SIZE = 3 * 512 * 1024  # 1.5 MiB: several READ/WRITE-sized pieces, and not a round number of them


@pytest.fixture
def ganesha(tmp_path: Path) -> Iterator[GaneshaServer]:
    with GaneshaServer(tmp_path / "ganesha") as server:
        yield server


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    local = tmp_path / "payload.bin"
    local.write_bytes(random.Random(20_240_611).randbytes(SIZE))
    return local


def test_nfs_cp_writes_and_nfs_cat_reads_back(ganesha: GaneshaServer, payload: Path) -> None:
    copied = nfs_cp(str(payload), ganesha.file_url("payload.bin"))
    assert copied.returncode == 0, copied.stderr
    assert (ganesha.export_dir / "payload.bin").read_bytes() == payload.read_bytes()

    read = nfs_cat(ganesha.file_url("payload.bin"))
    assert read.returncode == 0, read.stderr
    assert read.stdout == payload.read_bytes()

    listing = nfs_ls(ganesha.url)
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[-1] for line in listing.stdout.decode().splitlines()]
    assert names == ["payload.bin"]
    assert str(SIZE) in listing.stdout.decode()


def test_the_file_survives_sigkill_and_restart(ganesha: GaneshaServer, payload: Path) -> None:
    assert nfs_cp(str(payload), ganesha.file_url("kept.bin")).returncode == 0
    ganesha.restart()
    read = nfs_cat(ganesha.file_url("kept.bin"))
    assert read.returncode == 0, read.stderr
    assert read.stdout == payload.read_bytes()


def test_nfs_cp_reads_from_ganesha_into_a_local_file(
    ganesha: GaneshaServer, payload: Path, tmp_path: Path
) -> None:
    (ganesha.export_dir / "served.bin").write_bytes(payload.read_bytes())
    local = tmp_path / "fetched.bin"
    fetched = nfs_cp(ganesha.file_url("served.bin"), str(local))
    assert fetched.returncode == 0, fetched.stderr
    assert local.read_bytes() == payload.read_bytes()


def test_a_missing_file_is_a_failed_exit_status(ganesha: GaneshaServer) -> None:
    result = nfs_cat(ganesha.file_url("absent.bin"))
    assert result.returncode != 0
    assert result.stdout == b""


def test_a_server_that_is_gone_is_a_failure(tmp_path: Path) -> None:
    with GaneshaServer(tmp_path / "ganesha") as server:
        url = server.url
        server.kill()
    # Nothing listens on the ports any more: libnfs fails fast or hangs; both are bounded
    # here and neither may pass as success.
    try:
        result = nfs_ls(url, timeout=10.0)
    except LibnfsTimeout as timeout:
        assert "did not finish within 10.0 s" in str(timeout)
    else:
        assert result.returncode != 0


def test_missing_libnfs_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(processes, "_EXTRA_DIRS", ())
    with pytest.raises(PeerNotInstalled, match=r"libnfs-utils not installed.*bash scripts/boot"):
        nfs_ls("nfs://127.0.0.1/x?version=3&nfsport=1&mountport=2")
