"""Fixtures for the interop tests: the reference server as a real `nfsprop serve` process.

`reference_server` starts one per test on a fresh SQLite store in the test's tmp_path, on
a free port (MOUNT shares it), and stops it (SIGTERM, then SIGKILL) afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.peers.reference_server import ServerProcess


@pytest.fixture
def reference_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "server")
    server.start()
    try:
        yield server
    finally:
        server.stop()
