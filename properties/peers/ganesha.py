"""NFS-Ganesha as a real NFSv3 peer: one private server per work dir, on 127.0.0.1 only.

Rules:
- A GaneshaServer owns one work dir: ganesha.conf, ganesha.log (appended across restarts),
  ganesha.pid, ganesha.out (stdout and stderr), export/ (the served directory) and
  recovery/. Ports are picked free before the first start (TCP and UDP alike) and kept
  across restarts, so clients reconnect to the same address.
- Start-up runs inside `rpcbind_for_startup` (Ganesha will not start without an rpcbind;
  see properties.peers.rpcbind) and is done when Ganesha has logged INITIALIZED (its
  start-up's last line) and NFS v3 and MOUNT v3 both answer a NULL call over TCP, within
  `start_timeout` seconds. Answering is not enough: Ganesha answers NULL before it has
  registered every program with rpcbind, and exits ("Cannot register MNT V3 on UDPv6")
  if the start-up rpcbind is gone by then. A first start whose port was taken in the
  meantime is retried on new ports; any other failure raises GaneshaError with the last
  20 lines of the log.
- Every start passes a new epoch (`-E`), strictly greater than the last one: Ganesha's
  write verifier derives from it, so two starts within one second still get different
  verifiers.
- It is a PeerProcess: `kill` is SIGKILL (a crash), `stop` is SIGTERM then SIGKILL,
  `restart` is kill + start on the same ports with a new epoch; all act on the pid this
  object started and on nothing else.
- MNT takes the export's real directory path (`export_path`); `url` is the libnfs URL.
"""

from __future__ import annotations

import glob
import subprocess
import time
from pathlib import Path

from properties.peers.ganesha_config import GaneshaConfig
from properties.peers.ports import LOOPBACK, free_ports
from properties.peers.processes import (
    PeerNotInstalled,
    PeerProcess,
    answers_while_running,
    find_binary,
    kill_process,
    tail,
)
from properties.peers.rpcbind import rpcbind_for_startup
from properties.peers.rpcping import null_call
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3

_PLUGIN_GLOBS = ("/usr/lib/*/ganesha/libfsalvfs.so", "/usr/lib64/ganesha/libfsalvfs.so")
_PORT_TAKEN = "Address already in use"
_INITIALIZED = "NFS SERVER INITIALIZED"
_FIRST_START_ATTEMPTS = 3
_LOG_LINES = 20


class GaneshaError(RuntimeError):
    """Ganesha failed to start or stop; the message carries the end of its log."""


class GaneshaServer(PeerProcess):
    """A private NFS-Ganesha serving `work_dir/export` over NFSv3 on 127.0.0.1."""

    def __init__(
        self,
        work_dir: Path,
        *,
        drc_disabled: bool = False,
        attr_expiration_time: int | None = None,
        start_timeout: float = 20.0,
    ) -> None:
        self.work_dir = work_dir
        self.drc_disabled = drc_disabled
        self.attr_expiration_time = attr_expiration_time
        self.start_timeout = start_timeout
        self.export_dir = work_dir / "export"
        self.config_path = work_dir / "ganesha.conf"
        self.log_path = work_dir / "ganesha.log"
        self.pid_path = work_dir / "ganesha.pid"
        self.output_path = work_dir / "ganesha.out"
        self.nfs_port, self.mount_port = free_ports(2, udp=True)
        self.epoch = int(time.time()) & 0xFFFF_FFFF
        self.starts = 0

    @property
    def export_path(self) -> str:
        """The path a MOUNT v3 MNT call takes (the export's real directory)."""
        return str(self.export_dir)

    @property
    def url(self) -> str:
        """The libnfs URL of the export's root."""
        return self.file_url("")

    def file_url(self, path: str) -> str:
        """The libnfs URL of `path` (relative to the export's root)."""
        suffix = f"/{path.lstrip('/')}" if path else ""
        query = f"version=3&nfsport={self.nfs_port}&mountport={self.mount_port}"
        return f"nfs://{LOOPBACK}{self.export_path}{suffix}?{query}"

    def start(self) -> None:
        """Start ganesha.nfsd and wait until NFS and MOUNT answer; raises GaneshaError."""
        if self.running:
            raise GaneshaError(f"Ganesha is already running (pid {self.pid})")
        binary = find_binary("ganesha.nfsd", "NFS-Ganesha")
        plugins_dir = _plugins_dir()
        self.export_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "recovery").mkdir(exist_ok=True)
        attempts = _FIRST_START_ATTEMPTS if self.starts == 0 else 1
        for attempt in range(1, attempts + 1):
            self._write_config(plugins_dir)
            self.epoch = max(self.epoch + 1, int(time.time()) & 0xFFFF_FFFF)
            log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
            process = self._launch_and_wait(binary, log_size)
            if process.poll() is None:
                self._process = process
                self.starts += 1
                return
            if attempt < attempts and _PORT_TAKEN in self._log_since(log_size):
                self.nfs_port, self.mount_port = free_ports(2, udp=True)
                continue
            raise GaneshaError(
                f"Ganesha did not answer NULL on 127.0.0.1:{self.nfs_port} (NFS) and "
                f":{self.mount_port} (MOUNT) within {self.start_timeout} s (exit status "
                f"{process.returncode}); last lines of {self.log_path}:\n"
                f"{tail(self.log_path, _LOG_LINES)}\n{self.output_path}:\n"
                f"{tail(self.output_path, _LOG_LINES)}"
            )

    def _write_config(self, plugins_dir: Path) -> None:
        config = GaneshaConfig(
            nfs_port=self.nfs_port,
            mount_port=self.mount_port,
            export_dir=self.export_dir,
            recovery_dir=self.work_dir / "recovery",
            plugins_dir=plugins_dir,
            drc_disabled=self.drc_disabled,
            attr_expiration_time=self.attr_expiration_time,
        )
        self.config_path.write_text(config.render())

    def _launch_and_wait(self, binary: str, log_size: int) -> subprocess.Popen[bytes]:
        """Launch Ganesha and wait until it has started (its log past `log_size` says
        INITIALIZED) and answers (the process is then still running) or exits or the
        start-up timeout passes (then it is killed and reaped)."""

        def started() -> bool:
            return _INITIALIZED in self._log_since(log_size) and self._answers()

        with rpcbind_for_startup():
            process = self._launch(binary)
            if answers_while_running(process, started, self.start_timeout):
                return process
        kill_process(process)
        return process

    def _launch(self, binary: str) -> subprocess.Popen[bytes]:
        command = [
            binary,
            "-F",
            "-f",
            str(self.config_path),
            "-L",
            str(self.log_path),
            "-p",
            str(self.pid_path),
            "-N",
            "NIV_EVENT",
            "-E",
            str(self.epoch),
        ]
        with self.output_path.open("ab") as output:
            return subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )

    def _answers(self) -> bool:
        return null_call((LOOPBACK, self.nfs_port), NFS_PROGRAM, NFS_V3) and null_call(
            (LOOPBACK, self.mount_port), MOUNT_PROGRAM, MOUNT_V3
        )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


def _plugins_dir() -> Path:
    for pattern in _PLUGIN_GLOBS:
        for found in sorted(glob.glob(pattern)):
            return Path(found).parent
    raise PeerNotInstalled(
        "NFS-Ganesha's VFS backend not installed (libfsalvfs.so not found): "
        "run `bash scripts/bootstrap`"
    )
