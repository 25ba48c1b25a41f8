"""--world / --target / --target-drc: parsing, and one-line usage errors from pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from properties.peers.ports import free_port
from properties.worlds.options import (
    TargetUrl,
    WorldError,
    WorldOptions,
    check_reachable,
    parse_target_url,
)
from properties.worlds.registry import DEFAULT_WORLDS, WORLDS, parse_worlds
from properties.worlds.target import REAL_SOCKETS, SIMULATED


def test_a_full_target_url_parses_and_prints_canonically() -> None:
    url = parse_target_url("nfs://10.0.0.5:2050/srv/nfs?mountport=20048&version=3")
    assert url == TargetUrl("10.0.0.5", 2050, b"/srv/nfs", 20048)
    assert parse_target_url(str(url)) == url


def test_the_nfs_port_defaults_to_2049() -> None:
    assert parse_target_url("nfs://host/export?mountport=635").port == 2049


def test_the_url_nfsprop_serve_prints_and_the_root_export_are_targets() -> None:
    served = parse_target_url("nfs://127.0.0.1/export?version=3&nfsport=4000&mountport=4000")
    assert served == TargetUrl("127.0.0.1", 4000, b"/export", 4000)
    root = parse_target_url("nfs://127.0.0.1:4000/?mountport=4001")
    assert root == TargetUrl("127.0.0.1", 4000, b"/", 4001)
    assert parse_target_url(str(root)) == root


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://host/export?mountport=1", "not an nfs:// URL"),
        ("nfs://host:99999/export?mountport=1", "port '99999'"),
        ("nfs://host?mountport=1", "no export path"),
        ("nfs://host/export?mountport=1&version=4", "only version=3"),
        ("nfs://host/export?mountport=1&nfsprot=2", "unknown query key 'nfsprot'"),
    ],
)
def test_a_bad_target_url_names_the_problem_and_the_fix(url: str, problem: str) -> None:
    with pytest.raises(WorldError, match=problem) as error:
        parse_target_url(url)
    assert "\n" not in str(error.value)


def test_worlds_are_known_names_given_once() -> None:
    assert parse_worlds("sim,loopback") == ("sim", "loopback")
    with pytest.raises(WorldError, match="unknown world 'simm'"):
        parse_worlds("simm")
    with pytest.raises(WorldError, match="twice"):
        parse_worlds("sim,sim")


def test_capabilities_are_known_without_building_a_target() -> None:
    """Our worlds declare theirs; the target world's follow the user's options."""
    assert DEFAULT_WORLDS == ("sim", "loopback", "ganesha", "gonfs")
    assert set(DEFAULT_WORLDS) < set(WORLDS)
    plain = WorldOptions(("target",), TargetUrl("h", 2049, b"/x", 635))
    assert WORLDS["sim"].capabilities(plain) == SIMULATED
    assert WORLDS["loopback"].capabilities(plain) == REAL_SOCKETS
    assert WORLDS["ganesha"].capabilities(plain) == REAL_SOCKETS
    declared = WORLDS["target"].capabilities(plain)
    assert declared.drc and not (declared.crashes or declared.drc_off or declared.partitions)
    told = WorldOptions(("target",), plain.target, target_drc=False, restart_cmd="true")
    assert WORLDS["target"].capabilities(told).crashes
    assert WORLDS["target"].capabilities(told).drc_off
    assert not WORLDS["target"].capabilities(told).drc
    assert not WORLDS["gonfs"].capabilities(plain).drc


def test_an_unreachable_target_is_named() -> None:
    port = free_port()  # nobody listens there
    with pytest.raises(WorldError, match=f"nothing answers on 127.0.0.1:{port}"):
        check_reachable(TargetUrl("127.0.0.1", port, b"/export", port))


def run_pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--world", "sim,nope"), "unknown world 'nope'"),
        (("--world", "target"), "--world target needs --target"),
        (("--world", "target", "--target", "nfs://h/x?version=4"), "only version=3"),
        (("--world", "sim", "--target", "nfs://h/x?mountport=1"), "without the target world"),
        (("--target-drc", "maybe"), "give yes, no or auto"),
    ],
)
def test_pytest_turns_bad_world_options_into_a_one_line_usage_error(
    args: tuple[str, ...], problem: str
) -> None:
    done = run_pytest("properties/rpc/test_at_most_once.py", *args)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert problem in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_an_unreachable_target_is_a_usage_error() -> None:
    port = free_port()
    url = f"nfs://127.0.0.1:{port}/export?mountport={port}"
    done = run_pytest(
        "properties/rpc/test_at_most_once.py", "--world", "sim,target", "--target", url
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "nothing answers on" in done.stderr and "Traceback" not in done.stderr


def test_the_chosen_worlds_parametrize_the_server_properties() -> None:
    done = run_pytest("properties/nfs3/test_server.py", "--world", "sim", "-k", "forged")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stale[sim]" in done.stdout and "loopback" not in done.stdout


def test_nfsprop_check_refuses_a_bad_target_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from properties.cli import main

    assert main(["check", "--world", "sim,target", "--target", "nfs://h"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nfsprop check: bad --target") and err.count("\n") == 1


def test_the_tests_on_real_sockets_are_collected_first() -> None:
    done = run_pytest(
        "properties/nfs3/test_server.py", "--world", "sim,loopback", "-k", "forged or model"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    worlds = [line.rsplit("[", 1)[1] for line in done.stdout.splitlines() if "::" in line]
    on_sockets = [world.startswith("loopback") for world in worlds]
    assert on_sockets == sorted(on_sockets, reverse=True) and any(on_sockets), worlds
    assert not all(on_sockets), worlds
