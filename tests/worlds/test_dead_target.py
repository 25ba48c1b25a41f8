"""A --target server that dies: the test that meets it fails with one line, the others of
the run are skipped saying why; with --restart-cmd a silent server is restarted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.harness import findings
from properties.harness.findings import Recorder, Verdict
from properties.peers.gonfs import GoNfsServer
from properties.peers.reference_server import ServerProcess
from properties.worlds.dead import TargetDied, TargetDiedInExample
from properties.worlds.options import WorldFlags, WorldOptions
from properties.worlds.registry import choose_worlds
from properties.worlds.shared import SharedServers
from properties.worlds.target import Target
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS3_OK, NFS_V3_Client
from tests.cli.live_target import REPO_ROOT, live_server

OTHER_TEST = "properties/nfs3/test_server.py::test_another[target] (call)"
THIS_TEST = (
    "tests/worlds/test_dead_target.py::"
    "test_a_silent_server_fails_the_test_that_meets_it_and_skips_the_others"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "served") as server:
        yield server


def target_options(url: str, restart_cmd: str | None = None) -> WorldOptions:
    return choose_worlds(WorldFlags("target", url, restart_cmd=restart_cmd))


async def _root(target: Target) -> nfs3.nfs_fh3:
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    assert mounted.mountinfo is not None
    return nfs3.nfs_fh3(mounted.mountinfo.fhandle)


async def _getattr_root(target: Target) -> nfs3.nfsstat3:
    root = await _root(target)
    return (await NFS_V3_Client(target.caller).NFSPROC3_GETATTR(nfs3.GETATTR3args(root))).status


async def _rmdir_dot(target: Target) -> nfs3.nfsstat3:
    where = nfs3.diropargs3(await _root(target), b".")
    return (await NFS_V3_Client(target.caller).NFSPROC3_RMDIR(nfs3.RMDIR3args(where))).status


def test_a_silent_server_fails_the_test_that_meets_it_and_skips_the_others(
    served: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"nfs://127.0.0.1:{served.port}/export?mountport={served.mount_port}"
    options = target_options(url)
    shared = SharedServers(options)
    try:
        shared.example("target", True).close()
        served.kill()
        line = f"the server no longer answers NULL on 127.0.0.1:{served.port}"
        with pytest.raises(TargetDied) as died:
            shared.example("target", True)
        assert str(died.value) == (
            f"target:{options.target}: the target died: {line} (no --restart-cmd to restart it)"
        )
        with pytest.raises(TargetDied):  # the same test again (Hypothesis shrinking)
            shared.example("target", True)
        monkeypatch.setenv("PYTEST_CURRENT_TEST", OTHER_TEST)
        with pytest.raises(pytest.skip.Exception) as gone:
            SharedServers(options).example("target", True)  # another worker's first example
        assert str(gone.value) == (
            f"not run: the target died in {THIS_TEST}: {line} (no --restart-cmd to restart it)"
        )
    finally:
        shared.close()
    served.start()  # on the same port: the next run's pre-run check clears the record
    target_options(url)
    SharedServers(options).example("target", True).close()


def test_a_server_dying_in_an_example_is_its_death(served: ServerProcess) -> None:
    url = f"nfs://127.0.0.1:{served.port}/export?mountport={served.mount_port}"
    with (
        closing(SharedServers(target_options(url))) as shared,
        closing(shared.example("target", True)) as example,
    ):
        assert example.run(_getattr_root(example)) == NFS3_OK
        served.kill()
        with pytest.raises(TargetDiedInExample, match=r"no longer answers NULL on 127\.0\.0\.1:"):
            example.run(_getattr_root(example))


def test_an_export_destroyed_without_a_restart_command_is_the_target_s_death(
    tmp_path: Path,
) -> None:
    """go-nfs deletes its export on RMDIR '.': nothing can restore it without a command."""
    with GoNfsServer(tmp_path / "gonfs") as gonfs:
        url = f"nfs://127.0.0.1:{gonfs.port}/?mountport={gonfs.port}"
        with closing(SharedServers(target_options(url))) as shared:
            with closing(shared.example("target", True)) as example:
                assert example.run(_rmdir_dot(example)) == NFS3_OK
            with pytest.raises(TargetDied) as died:
                shared.example("target", True)
    assert str(died.value).endswith(
        "the target died: emptying the export: the export root answers NFS3ERR_NOTDIR to "
        "READDIRPLUS "
        "(no --restart-cmd to restore it)"
    )


def test_with_a_restart_command_a_silent_server_is_restarted(tmp_path: Path) -> None:
    with live_server(tmp_path, drc=True, separate_mount=False) as server:
        with closing(SharedServers(target_options(server.url, server.restart_cmd))) as shared:
            shared.example("target", True).close()
            server.stop()
            recorder = Recorder("target")
            with findings.recording(recorder):
                example = shared.example("target", True)
            [silent] = recorder.findings.values()
            assert (silent.code, silent.verdict) == ("SERVER-SILENT", Verdict.WARN)
            assert re.search("no longer answers NULL .*; restarted", silent.message)
            with closing(example):
                assert example.run(_getattr_root(example)) == NFS3_OK
        assert len(server.restarts()) == 2  # the pre-run check's, and this one


def test_a_death_between_examples_is_one_failure_for_hypothesis(served: ServerProcess) -> None:
    """Hypothesis runs the failing test's examples again while shrinking: each meets the
    recorded death at the same place, so it reports that one failure, not a flaky test."""
    url = f"nfs://127.0.0.1:{served.port}/export?mountport={served.mount_port}"
    shared = SharedServers(target_options(url))
    examples: list[int] = []

    @settings(max_examples=20, database=None, derandomize=True, deadline=None)
    @given(st.integers(0, 10))
    def use_the_target(number: int) -> None:
        examples.append(number)
        if len(examples) == 4:
            served.kill()
        shared.example("target", True).close()

    try:
        with pytest.raises(TargetDied, match="the target died: the server no longer answers"):
            use_the_target()
    finally:
        shared.close()
    assert len(examples) > 4  # the failing examples ran again


INNER_MACHINE = """
import os
import signal

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from properties.harness.plugin import world_options
from properties.worlds.shared import SharedServers

STEPS = []


@pytest.mark.parametrize("world", ["target"])  # a test of a world's server
def test_a_machine_on_the_target(pytestconfig, world):
    shared = SharedServers(world_options(pytestconfig))

    class OnTheTarget(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.target = shared.example(world, True)

        @rule(number=st.integers(0, 3))
        def step(self, number):
            STEPS.append(number)
            if len(STEPS) == 40:  # the server dies between examples
                os.kill(int(os.environ["NFSPROP_KILL_PID"]), signal.SIGKILL)

        def teardown(self):
            if hasattr(self, "target"):
                self.target.close()

    run_state_machine_as_test(
        OnTheTarget, settings=settings(max_examples=30, derandomize=True, database=None)
    )
"""


def test_a_machine_that_meets_the_death_is_reported_by_its_line(
    tmp_path: Path, served: ServerProcess
) -> None:
    """A stateful test whose server dies after some examples: Hypothesis cannot run them
    again (it calls that flaky); the report is the death's line all the same."""
    (tmp_path / "test_inner.py").write_text(INNER_MACHINE)
    url = f"nfs://127.0.0.1:{served.port}/export?mountport={served.mount_port}"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")),
            *("--world", "target", "--target", url),
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ, NFSPROP_KILL_PID=str(served.pid)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    failure = done.stdout.split("_ test_a_machine_on_the_target[target] _")[1].split("\n", 2)[1]
    assert failure.startswith(
        f"target:{url}&version=3: the target died: the server no longer answers NULL on "
        f"127.0.0.1:{served.port} (no --restart-cmd to restart it)"
    ), done.stdout
    assert "Traceback" not in done.stdout
