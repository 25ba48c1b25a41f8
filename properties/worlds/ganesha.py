"""The NFS-Ganesha Target: the server properties against somebody else's server.

Rules: a private ganesha.nfsd (VFS FSAL) per target, started by properties.peers.ganesha
on free loopback ports with its own export directory; the client side is the shared
SocketTarget. Ganesha serves MOUNT on a port of its own and takes the export's real
directory as the MNT path. `drc=False` starts it with `DRC_Disabled = true`. A crash is
SIGKILL and a restart with a new epoch (`-E`), so the write verifier changes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from properties.peers.ganesha import GaneshaServer
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import REAL_SOCKETS


class GaneshaControl:
    """The ServerControl a SocketTarget needs, over a running GaneshaServer."""

    def __init__(self, ganesha: GaneshaServer) -> None:
        self.ganesha = ganesha

    @property
    def port(self) -> int:
        return self.ganesha.nfs_port

    @property
    def mount_port(self) -> int:
        return self.ganesha.mount_port

    def restart(self) -> None:
        self.ganesha.restart()


GaneshaTarget = SocketTarget[GaneshaControl]


def make_ganesha_target(work_dir: Path | None = None, drc: bool = True) -> GaneshaTarget:
    """A Ganesha target keeping its config, log and export in `work_dir` (None: a
    temporary directory that `close()` removes)."""
    own_dir = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="nfsprop-ganesha-")) if work_dir is None else work_dir
    ganesha = GaneshaServer(directory, drc_disabled=not drc)
    ganesha.start()

    def cleanup() -> None:
        ganesha.stop()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)

    export = ganesha.export_path.encode()
    return SocketTarget("ganesha", GaneshaControl(ganesha), export, REAL_SOCKETS, cleanup)
