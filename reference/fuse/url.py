"""The libnfs-style URL that names an NFSv3 export: what `nfsprop mount` accepts.

Rules:
- The form is `nfs://HOST/EXPORT?version=3&nfsport=N&mountport=M`, as `nfsprop serve`
  prints it and libnfs reads it. `nfsport` is required (there is no portmapper lookup);
  `mountport` defaults to `nfsport` (the reference server serves MOUNT on the NFS port);
  `version`, when given, must be 3. Unknown query keys are refused, not ignored.
- Every refusal is a BadNfsUrl whose message is one line naming what is wrong and the
  expected form.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

EXPECTED_FORM = "nfs://HOST/EXPORT?version=3&nfsport=N&mountport=M"
_KEYS = frozenset({"version", "nfsport", "mountport"})


class BadNfsUrl(ValueError):
    """The URL is not of the expected form; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class NfsUrl:
    host: str
    export: str
    nfs_port: int
    mount_port: int


def parse_nfs_url(url: str) -> NfsUrl:
    """The parts of `url`; BadNfsUrl if it is not `EXPECTED_FORM`."""
    parts = urlsplit(url)
    if parts.scheme != "nfs" or not parts.hostname:
        raise _bad(url, "it must start with nfs://HOST/")
    if parts.path in ("", "/"):
        raise _bad(url, "it names no export path")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _bad(url, "its query is not key=value pairs joined by &") from None
    unknown = sorted(set(query) - _KEYS)
    if unknown:
        raise _bad(url, f"unknown query key {unknown[0]!r}")
    repeated = sorted(key for key, values in query.items() if len(values) > 1)
    if repeated:
        raise _bad(url, f"query key {repeated[0]!r} is given twice")
    values = {key: found[0] for key, found in query.items()}
    if values.get("version", "3") != "3":
        raise _bad(url, "only version=3 is supported")
    if "nfsport" not in values:
        raise _bad(url, "nfsport=N is missing (there is no portmapper lookup)")
    nfs_port = _port(url, "nfsport", values["nfsport"])
    mount_port = _port(url, "mountport", values.get("mountport", values["nfsport"]))
    return NfsUrl(parts.hostname, parts.path.rstrip("/") or "/", nfs_port, mount_port)


def _port(url: str, key: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise _bad(url, f"{key} must be a port number 1-65535, not {text!r}")
    return int(text)


def _bad(url: str, why: str) -> BadNfsUrl:
    return BadNfsUrl(f"bad NFS URL {url!r}: {why}; expected {EXPECTED_FORM}")
