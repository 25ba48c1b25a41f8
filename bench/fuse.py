"""FUSE mount throughput: MB/s of ordinary file I/O on `nfsprop mount` against the reference
server (`nfsprop serve` on 127.0.0.1, SQLite store).

Rules: two mounts of one export, A and B. Each round writes a FILE_MIB MiB file through A
(open, write in CHUNK pieces, close: close-to-open sends and COMMITs before close returns,
so the time covers the server having the data), reads it through B (an open after that
close: B's caches are invalid, every byte comes from the server), then reads it through B
again (unchanged: the client's data cache may answer). Best of ROUNDS rounds (the least
disturbed by the rest of the machine), printed with bench/table.py. Also `--noac` mounts
(synchronous FILE_SYNC writes, no attribute cache), for comparison in the same run.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.table import print_table
from properties.peers.fuse_mount import MountProcess
from properties.peers.reference_server import ServerProcess

FILE_MIB = 32
CHUNK = 1024 * 1024
ROUNDS = 3


def _write(path: Path, data: bytes) -> float:
    start = time.perf_counter()
    with path.open("wb", buffering=0) as file:
        for offset in range(0, len(data), CHUNK):
            file.write(data[offset : offset + CHUNK])
    return time.perf_counter() - start


def _read(path: Path, expected: bytes) -> float:
    start = time.perf_counter()
    pieces = []
    with path.open("rb", buffering=0) as file:
        while piece := file.read(CHUNK):
            pieces.append(piece)
    elapsed = time.perf_counter() - start
    if b"".join(pieces) != expected:
        raise RuntimeError(f"{path} read back different data")
    return elapsed


def measure(server: ServerProcess, work: Path, flags: tuple[str, ...]) -> list[float]:
    """Best MB/s of [write via A, read via B from the server, read via B again]."""
    label = "-".join(flag.strip("-") for flag in flags) or "default"
    best = [0.0, 0.0, 0.0]
    megabytes = FILE_MIB * CHUNK / 1e6
    with (
        MountProcess(server.url, work / f"{label}-a", flags) as a,
        MountProcess(server.url, work / f"{label}-b", flags) as b,
    ):
        for round_number in range(ROUNDS):
            data = os.urandom(FILE_MIB * CHUNK)
            name = f"bench-{label}-{round_number}.bin"
            times = [
                _write(a.mountpoint / name, data),
                _read(b.mountpoint / name, data),
                _read(b.mountpoint / name, data),
            ]
            best = [max(rate, megabytes / spent) for rate, spent in zip(best, times, strict=True)]
            (a.mountpoint / name).unlink()
        a.unmount()
        b.unmount()
    return best


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nfsprop-bench-fuse-") as directory:
        work = Path(directory)
        server = ServerProcess(work / "server")
        server.start()
        try:
            rows = [
                [mount, *measure(server, work, flags)]
                for mount, flags in (("default (cto, ac)", ()), ("noac", ("--noac",)))
            ]
        finally:
            server.stop()
    print_table(
        f"FUSE mount of the reference server, {FILE_MIB} MiB file, {CHUNK // 1024} KiB "
        f"syscalls, best of {ROUNDS} (MB/s)",
        ["mount options", "write (A)", "read from server (B)", "read again (B)"],
        rows,
    )


if __name__ == "__main__":
    main()
