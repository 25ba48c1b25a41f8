"""A pytest plugin for tests/cli/test_target_world.py's inner runs: the --target server
dies after one test.

Rules: with `-p tests.cli.stop_target`, the launcher at NFSPROP_STOP_PORT
(tests/cli/serve_launcher.py) is asked to kill the server and start none after what
NFSPROP_STOP_AFTER names: a test (its name, parameters included: in its teardown, in the
process that ran it) or PRE_RUN (in the controller's session start, after the pre-run
check and before xdist's workers start). Loaded by every xdist worker too.
"""

from __future__ import annotations

import os

import pytest

from tests.cli.live_target import stop_server

PRE_RUN = "the pre-run check"


@pytest.hookimpl(tryfirst=True)  # before xdist starts its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    controller = not hasattr(session.config, "workerinput")
    if controller and os.environ.get("NFSPROP_STOP_AFTER") == PRE_RUN:
        _stop()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if item.name == os.environ.get("NFSPROP_STOP_AFTER"):
        _stop()


def _stop() -> None:
    stop_server(int(os.environ["NFSPROP_STOP_PORT"]))
