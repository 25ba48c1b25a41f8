"""Mount options of the caching NFS client, and its planted bugs.

Rules:
- MountOptions mirrors nfs(5) of the Linux client: acregmin/acregmax bound the attribute
  cache of regular files (and symlinks), acdirmin/acdirmax that of directories; `actimeo`
  sets all four; `noac` turns attribute caching off (every use revalidates) and makes
  writes synchronous (FILE_SYNC, no write-behind), as Linux does. `cto` (default on) is
  close-to-open: a GETATTR on every open and a flush with COMMIT on every close; `nocto`
  (cto=False) skips both, leaving dirty data to fsync(), sync() or the write-behind limit.
- Times are seconds of the injected clock. `timeo`/`retrans`/`hard`/`max_timeo` are the
  RPC retransmission policy: the caller (SimRpcClient, RpcSocketClient) is built with
  `retry_policy()`; a soft call that gives up surfaces as EIO.
- `write_behind` bytes of dirty data per file are buffered before they are sent early
  (UNSTABLE); `wsize`/`rsize` cap one WRITE/READ (further capped by the server's FSINFO).
- ClientBugs are the suite's self-test: each flag plants one documented bug that a
  property must catch. They are off by default and never on in a real mount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.rpc.client import RetryPolicy


@dataclass(frozen=True, slots=True)
class ClientBugs:
    """Switchable planted bugs (mutants). Each one names the property that catches it."""

    # Attribute, lookup and data caches never expire, and open() skips its GETATTR:
    # caught by bounded staleness, close-to-open and convergence.
    never_revalidate: bool = False
    # COMMIT's verifier is not compared with the WRITE replies': uncommitted writes are
    # forgotten even after a server restart lost them. Caught by durability.
    ignore_verifier: bool = False
    # Every change reported in wcc_data is taken for our own, without comparing the pre-op
    # attributes with the cache: another client's write goes unnoticed. Caught by bounded
    # staleness and convergence.
    trust_wcc: bool = False
    # close() neither flushes nor commits, even with cto. Caught by close-to-open.
    skip_flush_on_close: bool = False


@dataclass(frozen=True, slots=True)
class MountOptions:
    acregmin: float = 3.0
    acregmax: float = 60.0
    acdirmin: float = 30.0
    acdirmax: float = 60.0
    actimeo: float | None = None
    noac: bool = False
    cto: bool = True
    hard: bool = True
    timeo: float = 1.1
    retrans: int = 3
    max_timeo: float = 60.0
    rsize: int = 1024 * 1024
    wsize: int = 1024 * 1024
    write_behind: int = 1024 * 1024
    bugs: ClientBugs = field(default_factory=ClientBugs)

    def __post_init__(self) -> None:
        bounds = (self.acregmin, self.acregmax, self.acdirmin, self.acdirmax)
        if min(bounds) < 0 or (self.actimeo is not None and self.actimeo < 0):
            raise ValueError(f"attribute cache times must be >= 0 seconds: {self}")
        if self.acregmin > self.acregmax or self.acdirmin > self.acdirmax:
            raise ValueError(f"acregmin/acdirmin must not exceed acregmax/acdirmax: {self}")
        if self.rsize <= 0 or self.wsize <= 0 or self.write_behind < 0:
            raise ValueError(f"rsize and wsize must be > 0, write_behind >= 0: {self}")

    def attribute_bounds(self, directory: bool) -> tuple[float, float]:
        """(min, max) attribute cache timeout for a directory or any other object."""
        if self.noac:
            return 0.0, 0.0
        if self.actimeo is not None:
            return self.actimeo, self.actimeo
        if directory:
            return self.acdirmin, self.acdirmax
        return self.acregmin, self.acregmax

    @property
    def staleness_bound(self) -> float:
        """The longest any cached attribute is trusted (the bounded-staleness window)."""
        return max(self.attribute_bounds(False)[1], self.attribute_bounds(True)[1])

    def retry_policy(self) -> RetryPolicy:
        """The RPC retransmission policy to build this mount's Caller with."""
        return RetryPolicy(self.timeo, self.retrans, self.hard, max(self.max_timeo, self.timeo))
