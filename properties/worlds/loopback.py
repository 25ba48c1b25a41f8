"""The loopback-world Target: the reference server (`nfsprop serve`, a ServerProcess from
properties.peers.reference_server) on 127.0.0.1, reached over real sockets, crashed with
SIGKILL and restarted on the same SQLite store and port.

Rules:
- The target is a SocketTarget (properties/worlds/sockets.py) over one ServerProcess: the
  reference client over TCP, raw UDP for same-XID retransmissions, crash = SIGKILL +
  restart on the same store and port.
- The work dir holds the server's store and log; without one, a temporary directory is
  made and `close()` removes it. `close()` always stops the server.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from properties.peers.reference_server import ServerProcess
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import REAL_SOCKETS

LoopbackTarget = SocketTarget[ServerProcess]


def make_loopback_target(work_dir: Path | None = None, drc: bool = True) -> LoopbackTarget:
    """A loopback target whose server keeps its store and log in `work_dir` (None: a
    temporary directory that `close()` removes)."""
    own_dir = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="nfsprop-loopback-")) if work_dir is None else work_dir
    server = ServerProcess(directory, drc=drc)
    server.start()

    def cleanup() -> None:
        server.stop()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)

    return SocketTarget("loopback", server, b"/export", REAL_SOCKETS, cleanup)
