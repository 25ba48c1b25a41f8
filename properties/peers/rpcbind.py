"""An rpcbind for Ganesha's start-up, private to this machine's loopback world.

Rules:
- Ganesha refuses to start unless an rpcbind answers on /run/rpcbind.sock, and registers
  its programs through that socket; once it has started (properties/peers/ganesha.py: it
  logs INITIALIZED; answering NULL is earlier), it no longer needs rpcbind. Debian's
  rpcbind cannot be bound to loopback only, so ours runs in a private network namespace
  (`unshare --net`): the unix socket is its only reachable endpoint.
- The socket path is machine-wide, so start-ups are serialised across processes
  (pytest-xdist workers) by an fcntl lock on one lock file. Inside the lock: if something
  already answers on the socket (a system rpcbind), it is used and left alone; otherwise
  ours starts, serves the caller's start-up, and is stopped by pid before the lock is
  released. Registrations made through it die with it; nothing here needs them.
- Every wait is bounded; failures raise RpcbindError with what went wrong.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from properties.peers.processes import (
    answers_while_running,
    find_binary,
    stop_process,
    wait_until,
)
from properties.peers.rpcping import null_call
from reference.xdr.gen.portmap import PMAP_PROG, PMAP_VERS

RPCBIND_SOCKET = "/run/rpcbind.sock"
LOCK_FILE = Path(tempfile.gettempdir()) / "nfsprop-rpcbind.lock"


class RpcbindError(RuntimeError):
    """The start-up rpcbind could not be provided; the message says why."""


def rpcbind_answers() -> bool:
    """True if an rpcbind answers a NULL call on /run/rpcbind.sock."""
    return null_call(RPCBIND_SOCKET, PMAP_PROG, PMAP_VERS, transport="unix")


@contextmanager
def rpcbind_for_startup(lock_timeout: float = 120.0, start_timeout: float = 10.0) -> Iterator[None]:
    """Hold the machine-wide start-up lock with an rpcbind answering on /run/rpcbind.sock
    for the duration of the block."""
    with _startup_lock(lock_timeout):
        if rpcbind_answers():
            yield
            return
        process = _start_private_rpcbind(start_timeout)
        try:
            yield
        finally:
            stop_process(process)


@contextmanager
def _startup_lock(timeout: float) -> Iterator[None]:
    descriptor = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if not wait_until(lambda: _try_lock(descriptor), timeout):
            raise RpcbindError(f"another process held {LOCK_FILE} for {timeout} s")
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _start_private_rpcbind(timeout: float) -> subprocess.Popen[bytes]:
    unshare = find_binary("unshare", "util-linux (unshare)")
    ip = find_binary("ip", "iproute2 (ip)")
    rpcbind = find_binary("rpcbind", "rpcbind")
    script = f"{ip} link set lo up && exec {rpcbind} -f"
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [unshare, "--net", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        started = time.monotonic()
        if answers_while_running(process, rpcbind_answers, timeout):
            return process
        stop_process(process)
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    waited = time.monotonic() - started
    raise RpcbindError(
        f"private rpcbind (`unshare --net sh -c {script!r}`) did not answer on "
        f"{RPCBIND_SOCKET} within {waited:.1f} s (exit status {process.returncode}): "
        f"{message or 'no output'}; it needs root (CAP_SYS_ADMIN) for the network namespace"
    )
