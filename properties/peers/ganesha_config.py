"""The ganesha.conf of one private NFS-Ganesha: NFSv3 only, 127.0.0.1 only, one VFS export.

Rules (checked against Ganesha 4.3 on Debian 12, see /work/shared/FACTS.md):
- NFS_CORE_PARAM binds 127.0.0.1 on the given NFS and MOUNT ports, TCP and UDP, with NLM,
  RQUOTA and NFSv4 off; `mount_path_pseudo = false`, so MNT takes the export's real
  directory path. `DRC_Disabled` (a NFS_CORE_PARAM key) turns the duplicate request cache
  off.
- NFSv4 is Graceless with its recovery directory inside the work dir; Kerberos is off.
- The EXPORT serves one directory read-write to everyone (AUTH_SYS or AUTH_NONE, root not
  squashed) over TCP and UDP. `Attr_Expiration_Time` is an export option: 0 makes Ganesha
  notice changes made behind its back.
- Ganesha only WARNs about unknown keys, so every key here was checked in its log.
- Paths are written into the file and into libnfs URLs unquoted, so they are restricted to
  characters that need no quoting in either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")


@dataclass(frozen=True, slots=True)
class GaneshaConfig:
    nfs_port: int
    mount_port: int
    export_dir: Path
    recovery_dir: Path
    plugins_dir: Path
    drc_disabled: bool = False
    attr_expiration_time: int | None = None
    export_id: int = 1
    pseudo_path: str = "/export"

    def __post_init__(self) -> None:
        for path in (self.export_dir, self.recovery_dir, self.plugins_dir):
            check_plain_path(path)
        if self.attr_expiration_time is not None and self.attr_expiration_time < -1:
            raise ValueError(
                f"attr_expiration_time must be -1 or more, not {self.attr_expiration_time}"
            )

    def render(self) -> str:
        """The configuration file's text."""
        export_options = ""
        if self.attr_expiration_time is not None:
            export_options = f"    Attr_Expiration_Time = {self.attr_expiration_time};\n"
        return (
            "NFS_CORE_PARAM {\n"
            "    Protocols = 3;\n"
            "    Bind_addr = 127.0.0.1;\n"
            f"    NFS_Port = {self.nfs_port};\n"
            f"    MNT_Port = {self.mount_port};\n"
            "    Enable_NLM = false;\n"
            "    Enable_RQUOTA = false;\n"
            "    Enable_UDP = true;\n"
            "    mount_path_pseudo = false;\n"
            f'    Plugins_Dir = "{self.plugins_dir}";\n'
            f"    DRC_Disabled = {_boolean(self.drc_disabled)};\n"
            "}\n"
            "NFSv4 {\n"
            "    Graceless = true;\n"
            f'    RecoveryRoot = "{self.recovery_dir}";\n'
            "}\n"
            "NFS_KRB5 {\n"
            "    Active_krb5 = false;\n"
            "}\n"
            "EXPORT {\n"
            f"    Export_Id = {self.export_id};\n"
            f'    Path = "{self.export_dir}";\n'
            f'    Pseudo = "{self.pseudo_path}";\n'
            "    Protocols = 3;\n"
            "    Transports = TCP, UDP;\n"
            "    Access_Type = RW;\n"
            "    Squash = No_Root_Squash;\n"
            "    SecType = sys, none;\n"
            f"{export_options}"
            "    FSAL {\n"
            "        Name = VFS;\n"
            "    }\n"
            "}\n"
        )


def check_plain_path(path: Path) -> None:
    """Raise ValueError unless `path` is absolute and made of [A-Za-z0-9._+/-] only."""
    if not _PLAIN_PATH.fullmatch(str(path)):
        raise ValueError(
            f"{str(path)!r} must be an absolute path of letters, digits and ._+/- only "
            "(it goes unquoted into ganesha.conf and libnfs URLs)"
        )


def _boolean(value: bool) -> str:
    return "true" if value else "false"
