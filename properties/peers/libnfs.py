"""The libnfs command-line tools (nfs-ls, nfs-cp, nfs-cat) as an independent NFSv3 client.

Rules: each helper runs one tool once, with a timeout, and returns its CompletedProcess
(bytes out and err, the exit status unchecked: callers assert on it). A tool that does not
finish in time is killed and LibnfsTimeout is raised; a missing tool raises
PeerNotInstalled naming `bash scripts/bootstrap`. URLs look like
`nfs://127.0.0.1/EXPORT/path?version=3&nfsport=P&mountport=M` (with both ports libnfs needs
no portmapper).
"""

from __future__ import annotations

import subprocess

from properties.peers.processes import find_binary

_PEER = "libnfs-utils"


class LibnfsTimeout(RuntimeError):
    """A libnfs tool did not finish within its timeout (and was killed)."""


def nfs_ls(
    url: str, *, recursive: bool = False, timeout: float = 30.0
) -> subprocess.CompletedProcess[bytes]:
    """`nfs-ls [-R] URL`: one line per directory entry on stdout."""
    return _run("nfs-ls", *(["-R"] if recursive else []), url, timeout=timeout)


def nfs_cp(
    source: str, destination: str, *, timeout: float = 60.0
) -> subprocess.CompletedProcess[bytes]:
    """`nfs-cp SOURCE DESTINATION`: either may be a local path or an nfs:// URL."""
    return _run("nfs-cp", source, destination, timeout=timeout)


def nfs_cat(url: str, *, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
    """`nfs-cat URL`: the file's bytes on stdout."""
    return _run("nfs-cat", url, timeout=timeout)


def _run(tool: str, *arguments: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
    command = [find_binary(tool, _PEER), *arguments]
    try:
        return subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        raise LibnfsTimeout(f"{' '.join(command)} did not finish within {timeout} s") from expired
