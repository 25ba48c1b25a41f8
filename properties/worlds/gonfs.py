"""The go-nfs Target: the server properties against a second server nobody here wrote.

Rules: a private go-nfs (properties/peers/gonfs.py) per target, on a free loopback port
with its own export directory; the client side is the shared SocketTarget. NFSv3 and
MOUNT share the port, and any MNT path names the served directory: the world mounts
"/". go-nfs keeps no duplicate request cache and its handles live in memory, so a crash
(SIGKILL and a restart on the same port) loses them: its Capabilities (GONFS) say so.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from properties.peers.gonfs import GoNfsServer
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import GONFS

EXPORT = b"/"

GoNfsTarget = SocketTarget[GoNfsServer]


def make_gonfs_target(work_dir: Path | None = None) -> GoNfsTarget:
    """A go-nfs target keeping its export and log in `work_dir` (None: a temporary
    directory that `close()` removes)."""
    own_dir = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="nfsprop-gonfs-")) if work_dir is None else work_dir
    server = GoNfsServer(directory)
    server.start()

    def cleanup() -> None:
        server.stop()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)

    return SocketTarget("gonfs", server, EXPORT, GONFS, cleanup)
