"""One example at a time on a server that every pytest-xdist worker shares (--target),
and the other files the processes of a run share about that server.

Rules:
- `shared_file(key, kind)` is the file of one kind about `key` (the server's URL) that
  the processes of one run share: in the temporary directory, named after a hash of the
  key and the kind ("lock"; the pre-run check's "check.json", properties/worlds/
  prerun.py; the record of the server's death, "dead", properties/worlds/dead.py).
- `exclusive(key)` holds an exclusive lock (fcntl.flock) on the key's lock file for the
  length of a `with` block, so the examples of the processes of one run, which empty and
  crash the same export, never overlap. The wait is bounded: the lock is polled every
  POLL seconds for at most `timeout` seconds, then TimeoutError names the server and the
  wait. The lock goes with the process that held it, so a killed worker blocks nobody.
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


def shared_file(key: str, kind: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nfsprop-{digest}.{kind}"


@contextmanager
def exclusive(key: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock of `key` (see the module rules)."""
    with shared_file(key, "lock").open("a") as handle:
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
