"""The options that choose a run's worlds: WorldFlags (the command line's words),
WorldOptions (those words checked), and the `--target` URL of the "target" world.

Rules:
- WorldFlags is what the command line said, as it said it: pytest's options and `nfsprop
  check`'s have the same names, and `flags()` gives them back as arguments (what `nfsprop
  check` hands pytest and prints in its rerun lines).
- WorldOptions is what the command line said, checked (properties/worlds/registry.py
  checks it): the worlds in order, and for the target world its URL, whether it keeps a
  duplicate request cache (the user's word, or with `--target-drc auto` the pre-run
  check's probe: `drc_decided` says which), the command that restarts it, the AUTH_SYS
  uid and gid of every call to it (`credential`; default 0/0, root), the directory of
  its export the suite works in (`scratch_dir`; None: all of the export), and what the
  pre-run check of the target found (properties/worlds/prerun.py). A bad value
  is a WorldError whose message is one line naming the problem and the fix (the pytest
  plugin turns it into a usage error, the `nfsprop` command into exit status 2).
- A target URL is the one NFS URL form of reference/fuse/url.py (what `nfsprop serve`
  prints and `nfsprop mount` takes): `nfs://HOST[:PORT]/EXPORT?[nfsport=N&]mountport=M`,
  "/" included; `str(url)` gives back the canonical form, which replay files keep.
- `check_reachable()` is the only function here that touches the network: it opens a TCP
  connection to the NFS and MOUNT ports (bounded by `timeout`) and closes it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reference.fuse.url import EXPECTED_FORM, BadNfsUrl, parse_nfs_url
from reference.rpc.stubs import AuthSys

if TYPE_CHECKING:  # the registry reads this module; it stays light for `nfsprop --help`
    from properties.worlds.prerun import TargetCheck

DrcDecided = Literal["your word", "probed"]  # how WorldOptions.target_drc was decided

MAX_ID = 0xFFFF_FFFF
NAME_MAX = 255
MACHINE_NAME = b"nfsprop-client"  # the AUTH_SYS machine name of the suite's clients
URL_EXAMPLE = "nfs://127.0.0.1:2049/export?mountport=20048"


class WorldError(ValueError):
    """A bad --world, --target or --target-drc value, or a target that does not answer."""


def parse_id(text: str, option: str) -> int:
    """--uid/--gid: an AUTH_SYS id, 0 to MAX_ID."""
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ID:
        raise WorldError(f"{option} {text!r}: give a number from 0 to {MAX_ID} (0: root)")
    return value


def parse_scratch_dir(text: str) -> bytes:
    """--scratch-dir: one directory name (no '/', not '.' or '..', at most NAME_MAX bytes)."""
    name = text.encode()
    if not name or b"/" in name or b"\0" in name or name in (b".", b"..") or len(name) > NAME_MAX:
        raise WorldError(
            f"--scratch-dir {text!r}: give one directory name (no '/', not '.' or '..', "
            f"at most {NAME_MAX} bytes), made in the export if missing"
        )
    return name


def parse_drc(text: str) -> bool | None:
    """--target-drc: yes, no, or auto (None: the pre-run check probes it)."""
    answer = text.strip().lower()
    if answer not in ("yes", "no", "auto"):
        raise WorldError(f"--target-drc {text!r}: give yes, no or auto")
    return None if answer == "auto" else answer == "yes"


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


def parse_target_url(url: str) -> TargetUrl:
    """The --target URL: the one NFS URL form (reference/fuse/url.py), as a WorldError
    naming the problem and the fix when it is not one."""
    try:
        parsed = parse_nfs_url(url)
    except BadNfsUrl as error:
        raise WorldError(
            f"bad --target {url!r}: {error.why}; give {EXPECTED_FORM}, e.g. {URL_EXAMPLE}"
        ) from None
    return TargetUrl(parsed.host, parsed.nfs_port, parsed.export.encode(), parsed.mount_port)


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
class WorldFlags:
    """The world options as the command line gave them (unchecked)."""

    world: str
    target: str | None = None
    target_drc: str = "yes"
    restart_cmd: str | None = None
    uid: str = "0"
    gid: str = "0"
    scratch_dir: str | None = None

    def flags(self) -> list[str]:
        """These words as command-line arguments, pytest's and `nfsprop check`'s alike
        (--uid/--gid when not the default)."""
        arguments = ["--world", self.world]
        if self.target is not None:
            arguments += ["--target", self.target, "--target-drc", self.target_drc]
        if self.restart_cmd is not None:
            arguments += ["--restart-cmd", self.restart_cmd]
        for option, value in (("--uid", self.uid), ("--gid", self.gid)):
            if value != "0":
                arguments += [option, value]
        if self.scratch_dir is not None:
            arguments += ["--scratch-dir", self.scratch_dir]
        return arguments


@dataclass(frozen=True)
class WorldOptions:
    worlds: tuple[str, ...]
    target: TargetUrl | None = None
    target_drc: bool = True
    restart_cmd: str | None = None
    drc_decided: DrcDecided = "your word"
    uid: int = 0  # the AUTH_SYS identity of every call to the target
    gid: int = 0
    scratch_dir: bytes | None = None  # the directory of the export the suite works in
    checked: TargetCheck | None = None  # the pre-run check's findings

    def claims(self) -> dict[str, str]:
        """The user's word about the target server, by claim (harness/findings.CLAIMS)."""
        drc = "yes" if self.target_drc else "no"
        if self.drc_decided == "probed":
            return {"target_drc": f"--target-drc auto (the probe found DRC {drc})"}
        return {"target_drc": f"--target-drc {drc}"}

    @property
    def credential(self) -> AuthSys:
        return AuthSys(0, MACHINE_NAME, self.uid, self.gid)

    def as_arguments(self) -> list[str]:
        """These options as command-line arguments (pytest's and `nfsprop check`'s alike),
        to repeat a run."""
        arguments = ["--world", ",".join(self.worlds)]
        if self.target is not None:
            arguments += ["--target", str(self.target)]
            arguments += ["--target-drc", "yes" if self.target_drc else "no"]
        if self.restart_cmd is not None:
            arguments += ["--restart-cmd", self.restart_cmd]
        for option, value in (("--uid", self.uid), ("--gid", self.gid)):
            if value != 0:
                arguments += [option, str(value)]
        if self.scratch_dir is not None:
            arguments += ["--scratch-dir", self.scratch_dir.decode()]
        return arguments
