"""The pre-run check of a --target server: refusals named with their fix, the probe, the restart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faults.sim import FaultRates, NoFaults
from properties.nfs3.wire import sattr
from properties.peers.reference_server import ServerProcess
from properties.worlds import prerun
from properties.worlds.external import make_external_target
from properties.worlds.gonfs import make_gonfs_target
from properties.worlds.options import TargetUrl, WorldError, WorldFlags, WorldOptions
from properties.worlds.prerun import describe
from properties.worlds.proxied import proxied_target
from properties.worlds.registry import WORLDS, choose_worlds
from properties.worlds.sockets import ROOT, SocketTarget
from properties.worlds.target import REAL_SOCKETS, Target
from reference.xdr.gen import nfs3
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client
from tests.cli.live_target import REPO_ROOT, live_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    """`nfsprop serve` on a free port, MOUNT on the NFS port, TCP and UDP."""
    with ServerProcess(tmp_path / "served") as server:
        yield server


def url_of(server: ServerProcess, export: str = "/export") -> str:
    return f"nfs://127.0.0.1:{server.port}{export}?mountport={server.mount_port}"


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def run_listing(url: TargetUrl) -> list[bytes]:
    """The names in the export's root (but '.' and '..'), through a fresh client."""
    target = make_external_target(url, None, REAL_SOCKETS, ROOT)
    try:
        return target.run(_names(target))
    finally:
        target.close()


async def _names(target: Target) -> list[bytes]:
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    assert mounted.mountinfo is not None
    root = nfs3.nfs_fh3(mounted.mountinfo.fhandle)
    listed = await NFS_V3_Client(target.caller).NFSPROC3_READDIR(
        nfs3.READDIR3args(root, 0, bytes(8), 4096)
    )
    assert listed.resok is not None
    return [entry.name for entry in listed.resok.reply.entries if entry.name not in (b".", b"..")]


def checked(url: str, **flags: str) -> WorldOptions:
    return choose_worlds(WorldFlags("target", url, **flags))


def test_a_served_export_passes_and_the_header_says_what_was_probed(
    served: ServerProcess,
) -> None:
    options = checked(url_of(served))
    assert options.checked is not None
    count = options.checked.features.smallest_readdir_count
    assert describe(options) == [
        f"nfsprop: target {options.target}: TCP yes, UDP yes, MOUNT on the NFS port, "
        "NFSv2 and MOUNT v1 yes, CREATE EXCLUSIVE yes, LINK yes, SYMLINK yes, MKNOD yes, "
        "modes stored yes, "
        "owners stored yes, times set by SETATTR yes",
        f"nfsprop: target time granularity 1 ns, name_max 255, smallest READDIR count {count}, "
        "DRC yes (your word), AUTH_SYS uid 0 gid 0, "
        "works in the whole export (emptied before every example), "
        "no --restart-cmd (handles across a restart not probed)",
    ]


def test_a_server_without_udp_is_said_to_serve_none(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "tcp-only", extra_args=("--no-udp",)) as server:
        options = checked(url_of(server))
    assert options.checked is not None and not options.checked.features.udp
    assert ", UDP no," in describe(options)[0]


def test_pytest_s_header_and_nfsprop_check_print_the_probe(served: ServerProcess) -> None:
    flags = ["--world", "target", "--target", url_of(served)]
    collected = run([sys.executable, "-m", "pytest", "--co", "properties/rpc", *flags])
    checked_run = run(
        [sys.executable, "-m", "properties.cli", "check", "--workers", "0", *flags, "-k", "nomatch"]
    )
    for output in (collected.stdout, checked_run.stdout):
        lines = [line for line in output.splitlines() if line.startswith("nfsprop: target")]
        assert len(lines) == 2, output
        assert "TCP yes, UDP yes" in lines[0] and "time granularity 1 ns" in lines[1]


@pytest.mark.parametrize(
    ("export", "said"),
    [
        ("/elsewhere", "answered MNT3ERR_ACCES: export it to 127.0.0.1 / this host"),
        ("/export/missing", "answered MNT3ERR_NOENT: no such export; check the path in the URL"),
    ],
)
def test_a_refused_mnt_is_named_with_the_fix(served: ServerProcess, export: str, said: str) -> None:
    with pytest.raises(WorldError) as error:
        checked(url_of(served, export))
    assert said in str(error.value)
    assert f"MNT '{export}' on 127.0.0.1:{served.mount_port}" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_restart_command_is_run_once_and_handles_are_tried_across_it(
    tmp_path: Path,
) -> None:
    """nfsprop serve keeps its handles across a restart: the header and the target world's
    Capabilities say so; the scratch file is gone."""
    with live_server(tmp_path, drc=True, separate_mount=True) as server:
        options = checked(server.url, restart_cmd=server.restart_cmd)
        restarts = server.restarts()
        assert options.target is not None
        left = run_listing(options.target)
    assert len(restarts) == 1 and left == []
    header = describe(options)
    assert header[1].endswith(", --restart-cmd checked, handles survive a restart")
    assert f"MOUNT port {options.target.mount_port}" in header[0]
    assert options.checked is not None and options.checked.handles_survive_restart
    assert WORLDS["target"].capabilities(options).handles_survive_restart is True


def test_handles_lost_in_a_restart_are_named_by_the_answer(tmp_path: Path) -> None:
    """go-nfs keeps its handles in memory: the old handle's GETATTR answer is the finding."""
    target = make_gonfs_target(tmp_path)
    try:
        url = TargetUrl("127.0.0.1", target.server.port, b"/", target.server.port)
        after = prerun._restart(target, url, prerun._mount(target, url))
    finally:
        target.close()
    assert after == "NFS3ERR_STALE"
    assert not (tmp_path / "export" / ".nfsprop-restart").exists()


def test_without_a_restart_command_handles_across_restarts_are_not_known(
    served: ServerProcess,
) -> None:
    options = checked(url_of(served))
    assert options.checked is not None and options.checked.handles_survive_restart is None
    assert WORLDS["target"].capabilities(options).handles_survive_restart is None
    assert describe(options)[1].endswith("no --restart-cmd (handles across a restart not probed)")


def test_a_failing_restart_command_is_named_with_its_status_and_output(
    served: ServerProcess,
) -> None:
    with pytest.raises(WorldError) as error:
        checked(url_of(served), restart_cmd="echo cannot restart >&2; exit 7")
    message = str(error.value)
    assert message.startswith(f"--target nfs://127.0.0.1:{served.port}/export")
    assert "exited with status 7; its last output: cannot restart" in message
    assert "\n" not in message


def test_pytest_and_nfsprop_check_refuse_a_refused_mnt_in_one_line(served: ServerProcess) -> None:
    url = url_of(served, "/elsewhere")
    flags = ["--world", "target", "--target", url]
    pytest_run = run([sys.executable, "-m", "pytest", "--co", "-q", "properties/rpc", *flags])
    check_run = run([sys.executable, "-m", "properties.cli", "check", *flags])
    assert pytest_run.returncode == pytest.ExitCode.USAGE_ERROR, pytest_run.stderr
    assert "MNT3ERR_ACCES: export it to 127.0.0.1" in pytest_run.stderr
    assert "Traceback" not in pytest_run.stdout + pytest_run.stderr
    assert check_run.returncode == 2, check_run.stdout + check_run.stderr
    assert check_run.stderr.startswith("nfsprop check: --target ")
    assert check_run.stderr.count("\n") == 1 and "MNT3ERR_ACCES" in check_run.stderr


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("drc", [True, False], ids=["cache", "no-cache"])
def test_target_drc_auto_probes_the_cache(tmp_path: Path, transport: str, drc: bool) -> None:
    """MKDIR twice with one XID: the first reply again is a cache, NFS3ERR_EXIST none;
    over UDP where the server serves it, else over TCP; the probe leaves nothing behind."""
    extra = [*(["--no-udp"] if transport == "tcp" else []), *([] if drc else ["--no-drc"])]
    with ServerProcess(tmp_path / "served", extra_args=tuple(extra)) as server:
        options = checked(url_of(server), target_drc="auto")
        left = run_listing(TargetUrl("127.0.0.1", server.port, b"/export", server.mount_port))
    assert (options.target_drc, options.drc_decided) == (drc, "probed")
    assert f", DRC {'yes' if drc else 'no'} (probed)," in describe(options)[1]
    assert left == []


def test_target_drc_yes_or_no_is_the_user_s_word(served: ServerProcess) -> None:
    options = checked(url_of(served), target_drc="no")
    assert (options.target_drc, options.drc_decided) == (False, "your word")
    assert ", DRC no (your word)," in describe(options)[1]


def test_the_workers_of_a_run_get_the_probed_answer(tmp_path: Path) -> None:
    """Under xdist the workers do not probe: they read what the controller saved, and a
    server found without a cache skips the property that needs one."""
    with ServerProcess(tmp_path / "served", extra_args=("--no-drc",)) as server:
        done = run(
            [
                *(sys.executable, "-m", "pytest", "-n", "2", "-rA"),
                *("properties/nfs3/test_server.py", "--hypothesis-profile=ci"),
                *("--world", "target", "--target", url_of(server), "--target-drc", "auto"),
                *("-k", "retransmissions_with_the_cache"),
            ]
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DRC no (probed)" in done.stdout
    assert "SKIPPED" in done.stdout and "keeps no duplicate request cache" in done.stdout


def test_uid_and_gid_are_the_identity_of_every_call(served: ServerProcess) -> None:
    """The probe runs as the chosen identity (a non-root caller cannot give a file away),
    and the world's targets, proxied ones too, call NFS and MOUNT with it."""
    options = checked(url_of(served), uid="1234", gid="5678")
    assert options.checked is not None
    answers = dict(options.checked.features.answers)
    assert answers["stores_owner"] == "SETATTR of the owner answered NFS3ERR_PERM"
    assert ", AUTH_SYS uid 1234 gid 5678," in describe(options)[1]
    assert options.as_arguments()[-4:] == ["--uid", "1234", "--gid", "5678"]
    start = WORLDS["target"].start
    assert start is not None
    target = start(True, options)
    proxied = proxied_target(target, NoFaults(), FaultRates())
    try:
        for each in (target, proxied):
            assert each.run(_created_owner(each)) == (1234, 5678)
            callers = (each.client, each.mount_client)
            assert {caller.engine.credential for caller in callers} == {options.credential}
    finally:
        proxied.close()
        target.close()


async def _created_owner(target: SocketTarget[Any]) -> tuple[int, int]:
    """The owner of a file the target makes in the export (and removes)."""
    mounted = await MOUNT_V3_Client(target.mount_caller).MOUNTPROC3_MNT(target.export)
    assert mounted.mountinfo is not None
    nfs = NFS_V3_Client(target.caller)
    where = nfs3.diropargs3(nfs3.nfs_fh3(mounted.mountinfo.fhandle), b"owned")
    how = nfs3.createhow3(nfs3.UNCHECKED, obj_attributes=sattr())
    made = await nfs.NFSPROC3_CREATE(nfs3.CREATE3args(where, how))
    assert made.resok is not None and made.resok.obj_attributes.attributes is not None
    await nfs.NFSPROC3_REMOVE(nfs3.REMOVE3args(where))
    attributes = made.resok.obj_attributes.attributes
    return attributes.uid, attributes.gid


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--uid", "x"], "--uid 'x': give a number from 0 to 4294967295"),
        (["--gid", "4294967296"], "--gid '4294967296': give a number from 0 to 4294967295"),
        (["--uid", "-1"], "--uid '-1': give a number"),
    ],
)
def test_a_bad_uid_or_gid_is_a_one_line_usage_error(flags: list[str], problem: str) -> None:
    target = ["--world", "target", "--target", "nfs://127.0.0.1:1/export"]
    with_pytest = run(
        [sys.executable, "-m", "pytest", "--co", "-q", "properties/rpc", *target, *flags]
    )
    with_check = run([sys.executable, "-m", "properties.cli", "check", *target, *flags])
    assert with_pytest.returncode == pytest.ExitCode.USAGE_ERROR, with_pytest.stderr
    assert problem in with_pytest.stderr and "Traceback" not in with_pytest.stderr
    assert with_check.returncode == 2 and with_check.stderr.count("\n") == 1
    assert with_check.stderr.startswith(f"nfsprop check: {problem}")


def test_uid_without_the_target_world_is_refused() -> None:
    with pytest.raises(WorldError, match="given without the target world"):
        choose_worlds(WorldFlags("sim", uid="1000"))
