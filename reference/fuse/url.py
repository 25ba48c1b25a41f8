"""The URL that names an NFSv3 export: one form for `nfsprop mount`, `nfsprop check
--target` and replay files alike.

Rules:
- The form is `nfs://HOST[:PORT]/EXPORT?[nfsport=N][&mountport=M][&version=3]`: the
  libnfs URL `nfsprop serve` prints (`nfsport=`) and the short one with the port in the
  authority are both accepted. The NFS port is PORT or nfsport (both given, they must
  agree), else 2049, NFS's own port; `mountport` defaults to the NFS port (the reference
  server and go-nfs serve MOUNT there). There is no portmapper lookup.
- EXPORT is an absolute path; "/" is an export like any other (many servers export it).
  A trailing slash is dropped.
- `version`, when given, must be 3. Unknown query keys are refused, not ignored, and so
  is a key given twice.
- Every refusal is a BadNfsUrl whose message is one line naming what is wrong and the
  expected form.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

NFS_PORT = 2049
EXPECTED_FORM = "nfs://HOST[:PORT]/EXPORT?[nfsport=N&]mountport=M[&version=3]"
_KEYS = frozenset({"version", "nfsport", "mountport"})


class BadNfsUrl(ValueError):
    """The URL is not of the expected form; the message says why, in one line (`why`
    alone, for callers that name the URL their own way)."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"bad NFS URL {url!r}: {why}; expected {EXPECTED_FORM}")
        self.why = why


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
        raise _bad(url, "not an nfs:// URL (it must start with nfs://HOST/)")
    if not parts.path.startswith("/"):
        raise _bad(url, "it names no export path (give / for the root)")
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
    _, _, authority_port = parts.netloc.rpartition("@")[2].partition(":")
    given = _port(url, "port", authority_port) if authority_port else None
    named = _port(url, "nfsport", values["nfsport"]) if "nfsport" in values else None
    if given is not None and named is not None and given != named:
        raise _bad(url, f"port {given} and nfsport={named} disagree")
    nfs_port = named or given or NFS_PORT
    mount_port = _port(url, "mountport", values["mountport"]) if "mountport" in values else nfs_port
    return NfsUrl(parts.hostname, parts.path.rstrip("/") or "/", nfs_port, mount_port)


def _port(url: str, key: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise _bad(url, f"{key} {text!r} is not a port from 1 to 65535")
    return int(text)


def _bad(url: str, why: str) -> BadNfsUrl:
    return BadNfsUrl(url, why)
