"""What a run of foreign worlds only leaves out: with no world of our own in `--world`
(sim, loopback), the tests that never touch a world's server (this project's own stack:
XDR, record marking, the RPC runtime, the caching client, AFS, the simulation-only
properties) are deselected, and the run says which modules it did not run and why.

Rules: a test touches a world when it is parametrized by `world`; everything else is
ours. The deselected tests go through pytest's own `pytest_deselected` hook, so counts
stay right, and the terminal summary names each module once with the reason.
"""

from __future__ import annotations

import pytest

from properties.harness.recording import world_of

WHY = "tests this project's own stack, not a server: add --world sim to run it"


class ForeignOnly:
    """Registered only when every world of the run is somebody else's server."""

    def __init__(self) -> None:
        self.not_run: dict[str, None] = {}

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept = [item for item in items if world_of(item) is not None]
        left = [item for item in items if world_of(item) is None]
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = kept
        for item in left:
            self.not_run[item.nodeid.split("::", 1)[0]] = None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.not_run:
            terminalreporter.write_line(f"nfsprop: not run ({WHY}):")
            for module in self.not_run:
                terminalreporter.write_line(f"  {module}")
