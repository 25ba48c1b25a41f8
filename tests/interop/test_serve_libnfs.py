"""libnfs (an independent NFSv3 client) against `nfsprop serve`: a 1.5 MiB file written with
nfs-cp reads back byte-identical with nfs-cat and nfs-cp, shows in nfs-ls, survives a
SIGKILL of the server; nfs-ls lists a directory tree made through our own client. A
missing tool fails with the install hint (see tests/peers/test_libnfs_ganesha.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.nfs3.calls import Stubs, TargetStubs, create, mkdir, mount_root, write
from properties.peers.libnfs import nfs_cat, nfs_cp, nfs_ls
from properties.peers.reference_server import ServerProcess
from properties.worlds.loopback import LoopbackTarget, make_loopback_target
from reference.xdr.gen.nfs3 import stable_how

SIZE = 3 * 512 * 1024  # 1.5 MiB: more than one 1 MiB WRITE, and not a round number of them


@pytest.fixture
def payload(tmp_path: Path) -> bytes:
    return random.Random(20_240_612).randbytes(SIZE)


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[LoopbackTarget]:
    target = make_loopback_target(tmp_path / "loopback")
    try:
        yield target
    finally:
        target.close()


def names_listed(output: bytes) -> list[str]:
    """The last column (the name) of each line nfs-ls prints."""
    return [line.split()[-1] for line in output.decode().splitlines() if line.strip()]


def test_nfs_cp_writes_and_nfs_cat_reads_back(
    reference_server: ServerProcess, payload: bytes, tmp_path: Path
) -> None:
    local = tmp_path / "payload.bin"
    local.write_bytes(payload)
    url = reference_server.file_url("payload.bin")
    copied = nfs_cp(str(local), url)
    assert copied.returncode == 0, copied.stderr

    read = nfs_cat(url)
    assert read.returncode == 0, read.stderr
    assert read.stdout == payload

    fetched = tmp_path / "fetched.bin"
    back = nfs_cp(url, str(fetched))
    assert back.returncode == 0, back.stderr
    assert fetched.read_bytes() == payload

    listing = nfs_ls(reference_server.url)
    assert listing.returncode == 0, listing.stderr
    assert names_listed(listing.stdout) == ["payload.bin"]
    assert str(SIZE) in listing.stdout.decode()


def test_what_nfs_cp_wrote_survives_sigkill(
    reference_server: ServerProcess, payload: bytes, tmp_path: Path
) -> None:
    local = tmp_path / "kept.bin"
    local.write_bytes(payload)
    url = reference_server.file_url("kept.bin")
    assert nfs_cp(str(local), url).returncode == 0
    reference_server.restart()
    read = nfs_cat(url)
    assert read.returncode == 0, read.stderr
    assert read.stdout == payload


def test_nfs_ls_lists_directories(loopback: LoopbackTarget) -> None:
    async def make_tree(target: Stubs) -> None:
        root = await mount_root(target)
        docs = await mkdir(target, root, b"docs")
        deep = await mkdir(target, docs, b"deep")
        await mkdir(target, root, b"empty")
        note = await create(target, deep, b"note.txt")
        await write(target, note, 0, b"twelve bytes", stable_how.FILE_SYNC)
        await create(target, root, b"top.txt")

    loopback.run(make_tree(TargetStubs(loopback)))
    url = loopback.server.url
    top = nfs_ls(url)
    assert top.returncode == 0, top.stderr
    assert sorted(names_listed(top.stdout)) == ["docs", "empty", "top.txt"]
    assert any(line.startswith("d") for line in top.stdout.decode().splitlines())

    deep = nfs_ls(loopback.server.file_url("docs/deep"))
    assert deep.returncode == 0, deep.stderr
    assert names_listed(deep.stdout) == ["note.txt"]
    assert " 12 " in deep.stdout.decode()

    recursive = nfs_ls(url, recursive=True)
    assert recursive.returncode == 0, recursive.stderr
    listed = recursive.stdout.decode()
    for name in ("docs", "deep", "note.txt", "empty", "top.txt"):
        assert name in listed


def test_a_missing_file_is_a_failed_exit_status(reference_server: ServerProcess) -> None:
    result = nfs_cat(reference_server.file_url("absent.bin"))
    assert result.returncode != 0
    assert result.stdout == b""
