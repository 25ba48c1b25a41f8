"""The client's local copies, in memory and in a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.afs.local_files import CachedFile, DirectoryFiles, LocalFiles, MemoryFiles


@pytest.fixture(params=["memory", "directory"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> LocalFiles:
    if request.param == "memory":
        return MemoryFiles()
    return DirectoryFiles(tmp_path / "cache")


def test_a_copy_is_kept_replaced_and_discarded(files: LocalFiles) -> None:
    assert files.get(b"f") is None
    files.put(b"f", CachedFile(3, b"one"))
    files.put(b"f", CachedFile(7, b"two"))
    assert files.get(b"f") == CachedFile(7, b"two")
    files.discard(b"f")
    files.discard(b"f")
    assert files.get(b"f") is None


def test_any_path_is_a_safe_name(files: LocalFiles) -> None:
    odd = [b"../../etc/passwd", b"a/b", b"\x00\xff", b"n" * 1024]
    for number, path in enumerate(odd):
        files.put(path, CachedFile(number, path))
    assert [files.get(path) for path in odd] == [
        CachedFile(number, path) for number, path in enumerate(odd)
    ]


def test_a_directory_keeps_its_copies_for_the_next_client(tmp_path: Path) -> None:
    DirectoryFiles(tmp_path).put(b"f", CachedFile(2**40, b"data"))
    assert DirectoryFiles(tmp_path).get(b"f") == CachedFile(2**40, b"data")
    assert not list(tmp_path.glob("*.tmp"))
