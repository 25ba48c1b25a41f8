"""The options that choose a run's worlds: WorldOptions, and the `--target` URL of the
"target" world.

Rules:
- WorldOptions is what the command line said, checked (properties/worlds/registry.py
  checks it): the worlds in order, and for the target world its URL, whether it keeps a
  duplicate request cache (the user's word) and the command that restarts it. A bad value
  is a WorldError whose message is one line naming the problem and the fix (the pytest
  plugin turns it into a usage error, the `nfsprop` command into exit status 2).
- A target URL is `nfs://HOST[:PORT]/EXPORT?mountport=N[&version=3]`: PORT defaults to
  2049, MOUNT must be given (the suite uses no portmapper), only version 3 is accepted,
  the export is an absolute path; unknown query keys are refused, so a typo is never
  silently ignored. `str(url)` gives back the canonical form, which replay files keep.
- `check_reachable()` is the only function here that touches the network: it opens a TCP
  connection to the NFS and MOUNT ports (bounded by `timeout`) and closes it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

NFS_PORT = 2049
URL_FORM = "nfs://HOST[:PORT]/EXPORT?mountport=N[&version=3]"
URL_EXAMPLE = "nfs://127.0.0.1:2049/export?mountport=20048"


class WorldError(ValueError):
    """A bad --world, --target or --target-drc value, or a target that does not answer."""


def parse_yes_no(text: str, option: str) -> bool:
    answer = text.strip().lower()
    if answer not in ("yes", "no"):
        raise WorldError(f"{option} {text!r}: give yes or no")
    return answer == "yes"


@dataclass(frozen=True, slots=True)
class TargetUrl:
    host: str
    port: int
    export: bytes
    mount_port: int

    def __str__(self) -> str:
        return (
            f"nfs://{self.host}:{self.port}{self.export.decode()}"
            f"?mountport={self.mount_port}&version=3"
        )


def _port(text: str, what: str, url: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise WorldError(f"bad --target {url!r}: {what} {text!r} is not a port from 1 to 65535")
    return int(text)


def parse_target_url(url: str) -> TargetUrl:
    problem = f"bad --target {url!r}"
    fix = f"give {URL_FORM}, e.g. {URL_EXAMPLE}"
    parts = urlsplit(url)
    if parts.scheme != "nfs" or not parts.netloc:
        raise WorldError(f"{problem}: not an nfs:// URL; {fix}")
    host, _, port_text = parts.netloc.partition(":")
    if not host:
        raise WorldError(f"{problem}: no host; {fix}")
    port = _port(port_text, "port", url) if port_text else NFS_PORT
    if not parts.path.startswith("/") or parts.path == "/":
        raise WorldError(f"{problem}: no export path; {fix}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - {"mountport", "version"})
    if unknown:
        raise WorldError(f"{problem}: unknown query key {unknown[0]!r}; {fix}")
    if query.get("version", "3") != "3":
        raise WorldError(f"{problem}: only NFS version 3 is tested; drop version= or give 3")
    if "mountport" not in query:
        raise WorldError(f"{problem}: no mountport (the suite uses no portmapper); {fix}")
    mount_port = _port(query["mountport"], "mountport", url)
    return TargetUrl(host, port, parts.path.encode(), mount_port)


def check_reachable(target: TargetUrl, timeout: float = 5.0) -> None:
    """WorldError unless both the NFS and the MOUNT port accept a TCP connection."""
    for port, what in ((target.port, "NFS"), (target.mount_port, "MOUNT")):
        try:
            socket.create_connection((target.host, port), timeout=timeout).close()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise WorldError(
                f"--target {target}: nothing answers on {target.host}:{port} ({what}, TCP): "
                f"{reason}; start the server or fix the port in the URL"
            ) from None


@dataclass(frozen=True)
class WorldOptions:
    worlds: tuple[str, ...]
    target: TargetUrl | None = None
    target_drc: bool = True
    restart_cmd: str | None = None

    def as_arguments(self) -> list[str]:
        """These options as command-line arguments (pytest's and `nfsprop check`'s alike),
        to repeat a run."""
        arguments = ["--world", ",".join(self.worlds)]
        if self.target is not None:
            arguments += ["--target", str(self.target)]
            arguments += ["--target-drc", "yes" if self.target_drc else "no"]
        if self.restart_cmd is not None:
            arguments += ["--restart-cmd", self.restart_cmd]
        return arguments
