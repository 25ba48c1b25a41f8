"""One example at a time on a server that every pytest-xdist worker shares (--target).

Rules: `exclusive(key)` holds an exclusive lock (fcntl.flock) on a file in the temporary
directory named after a hash of `key` (the server's URL) for the length of a `with` block,
so the examples of the processes of one run, which empty and crash the same export, never
overlap. The wait is bounded: the lock is polled every POLL seconds for at most
`timeout` seconds, then TimeoutError names the server and the wait. The lock goes with
the process that held it, so a killed worker blocks nobody.
"""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_TIMEOUT = 3600.0
POLL = 0.2


def lock_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nfsprop-{digest}.lock"


@contextmanager
def exclusive(key: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock of `key` (see the module rules)."""
    with lock_path(key).open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"waited {timeout:g} s for another test of {key} to finish"
                    ) from None
                time.sleep(POLL)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
