"""The server's durable file table: one version counter, one boot counter."""

from __future__ import annotations

import pytest

from reference.afs.files import FileTable


def test_every_store_gets_a_larger_version_whatever_the_file() -> None:
    table = FileTable()
    versions = [table.store(path, b"x").version for path in (b"a", b"b", b"a")]
    assert versions == [1, 2, 3]
    assert table.get(b"a") is not None and table.get(b"a") == table.files[b"a"]
    assert table.get(b"missing") is None


def test_each_boot_is_a_new_larger_epoch() -> None:
    table = FileTable()
    assert [table.boot(), table.boot()] == [1, 2]


def test_an_empty_path_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        FileTable().store(b"", b"x")
