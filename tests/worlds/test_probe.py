"""Probing a server's optional features: our reference server supports every one; go-nfs
answers without UDP, EXCLUSIVE create, LINK (its reply does not decode), MKNOD, stored
modes (CREATE with a mode answers NFS3ERR_IO) or stored owners, each reported with the
RFC's words and the server's answer; and the NFSv3 machine draws no LINK, SYMLINK or
EXCLUSIVE create and sends no mode to a server without them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import settings

from faults.sim import FaultRates, FaultSource
from properties.harness import findings
from properties.harness.findings import Baseline
from properties.harness.steps import RunLog
from properties.nfs3.machine import MachineConfig, explored, run_machine
from properties.nfs3.optional import report_unsupported
from properties.worlds.gonfs import make_gonfs_target
from properties.worlds.loopback import make_loopback_target
from properties.worlds.probe import REFERENCE, Features, probe
from properties.worlds.sim import SimTarget, make_sim_target
from properties.worlds.sockets import SocketTarget
from properties.worlds.target import Target


def probed(target: SocketTarget[Any]) -> Features:
    try:
        return probe(target, target.host, target.server.port, target.server.mount_port)
    finally:
        target.close()


def test_the_reference_server_supports_every_optional_feature(tmp_path: Path) -> None:
    features = probed(make_loopback_target(tmp_path))
    assert dataclasses.replace(features, smallest_readdir_count=None, answers=()) == (
        dataclasses.replace(REFERENCE, smallest_readdir_count=None)
    )
    with findings.recording(findings.Recorder()) as recorder:
        report_unsupported(features)
    assert recorder.findings == {}


def test_go_nfs_leaves_out_what_it_does_not_support_and_says_why(tmp_path: Path) -> None:
    features = probed(make_gonfs_target(tmp_path))
    assert (features.symlink, features.mount_port_shared) == (True, True)
    with findings.recording(findings.Recorder()) as recorder:
        report_unsupported(features)
    reported = list(recorder.findings.values())
    assert [finding.code for finding in reported] == [
        "OPTIONAL-UDP",
        "OPTIONAL-NFS2",
        "OPTIONAL-EXCLUSIVE-CREATE",
        "OPTIONAL-LINK",
        "OPTIONAL-MKNOD",
        "OPTIONAL-STORES-MODE",
        "OPTIONAL-STORES-OWNER",
        "OPTIONAL-SETS-TIMES",
    ]
    assert {finding.verdict for finding in reported} == {findings.Verdict.UNSUPPORTED}
    answers = dict(features.answers)
    assert answers["exclusive_create"] == "NFS3ERR_NOTSUPP"
    assert answers["link"].startswith("unparsable reply")
    assert answers["stores_mode"] == "CREATE with a mode answered NFS3ERR_IO"
    assert answers["sets_times"] == "NFS3ERR_NOTSUPP"
    # it answers NULL of any version, then v3 replies to MOUNT v1
    assert answers["nfs2"].startswith("unparsable reply"), answers["nfs2"]
    assert "RFC 1813 §3.3.8" in findings.RULES["OPTIONAL-EXCLUSIVE-CREATE"].rfc


WITHOUT = dataclasses.replace(
    REFERENCE, exclusive_create=False, link=False, symlink=False, stores_mode=False
)


def limited_sim_target(
    faults: FaultSource, drc: bool = True, rates: FaultRates | None = None
) -> Target:
    target: SimTarget = make_sim_target(faults, drc, rates)
    target.features = WITHOUT
    return target


def test_the_machine_draws_only_what_the_server_supports() -> None:
    log = RunLog()
    search = settings(max_examples=100, stateful_step_count=50, database=None, derandomize=True)
    run_machine(MachineConfig(), limited_sim_target, search, log=log)
    steps = [step for run in log.logs for step in run]
    assert len(steps) > 500, len(steps)
    assert not [step for step in steps if step.split()[0] in {"LINK", "SYMLINK"}]
    assert not [step for step in steps if step.startswith("CREATE EXCLUSIVE")]
    assert not [step for step in steps if "mode=0o" in step]  # SETATTRs carry no mode
    assert any(step.startswith("CREATE UNCHECKED") for step in steps)


def test_a_baseline_leaves_the_triggers_of_its_known_findings_out_of_the_draws() -> None:
    """A world whose baseline knows STALE-REUSED draws no removed objects, one that knows
    NOTDIR no non-directories as directories (their own checks test them); others do."""
    known = Baseline({"STALE-REUSED": "handles name paths", "NOTDIR": "follows links"})
    config = explored(MachineConfig(), known)
    assert (config.removed_handles, config.odd_directories) == (False, False)
    assert explored(MachineConfig(), Baseline()) == MachineConfig()
    search = settings(max_examples=100, stateful_step_count=50, database=None, derandomize=True)
    for drawn, expected in ((MachineConfig(), True), (config, False)):
        log = RunLog()
        run_machine(drawn, make_sim_target, search, log=log)
        steps = [step for run in log.logs for step in run]
        assert any("removed)" in step for step in steps) is expected, len(steps)
