"""A private asyncio event loop on its own thread, for synchronous callers (FUSE callbacks).

Rules:
- The loop thread owns every socket and timer of the NFS client: each coroutine is handed
  over with asyncio.run_coroutine_threadsafe and the calling thread blocks on its result.
  Between calls the loop keeps running, so reconnections and retransmissions proceed.
- `run()` re-raises what the coroutine raised; it has no timeout of its own (a hard mount
  waits for its server, as Linux's does).
- `stop()` stops the loop, joins the thread and closes the loop; it is idempotent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Start it, `run()` coroutines on it from any other thread, then `stop()` it."""

    def __init__(self, name: str = "nfsprop-mount-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._stopped = False

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        """The result of `operation`, run on the loop thread (never call this from it)."""
        return asyncio.run_coroutine_threadsafe(operation, self.loop).result()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
        self.loop.close()
