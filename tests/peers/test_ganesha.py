"""NFS-Ganesha as a real peer: it starts on 127.0.0.1, answers NULL for NFS v3 and MOUNT v3
over TCP and UDP (pinged with rpcinfo, which needs no portmapper given the address), takes
the configuration keys we write, survives SIGKILL + restart on the same ports with a new
epoch, and reports failures with its log. A missing Ganesha fails with the install hint."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.peers import processes
from properties.peers.ganesha import GaneshaError, GaneshaServer
from properties.peers.ganesha_config import GaneshaConfig
from properties.peers.processes import PeerNotInstalled, find_binary
from properties.peers.rpcping import null_call
from reference.xdr.gen.mount3 import MOUNT_PROGRAM
from reference.xdr.gen.nfs3 import NFS_PROGRAM


@pytest.fixture(scope="module")
def ganesha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GaneshaServer]:
    with GaneshaServer(tmp_path_factory.mktemp("ganesha")) as server:
        yield server


def universal_address(port: int) -> str:
    """rpcinfo's universal address of 127.0.0.1:`port` (RFC 5665: h1.h2.h3.h4.p1.p2)."""
    return f"127.0.0.1.{port >> 8}.{port & 0xFF}"


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("program", [NFS_PROGRAM, MOUNT_PROGRAM])
def test_rpcinfo_pings_nfs3_and_mount3(
    ganesha: GaneshaServer, program: int, transport: str
) -> None:
    port = ganesha.nfs_port if program == NFS_PROGRAM else ganesha.mount_port
    rpcinfo = find_binary("rpcinfo", "rpcbind (rpcinfo)")
    result = subprocess.run(
        [rpcinfo, "-a", universal_address(port), "-T", transport, str(program), "3"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"program {program} version 3 ready and waiting" in result.stdout


LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, ::ffff:127.0.0.1
UNBOUND_STATES = {"tcp": "0A", "udp": "07"}  # LISTEN; UDP's "closed" state of a bound socket


def bound_addresses(protocol: str, port: int) -> set[str]:
    """The local addresses (kernel hex) of sockets bound to `port` and not connected, from
    /proc/net/{tcp,tcp6,udp,udp6}."""
    found: set[str] = set()
    for table in (Path(f"/proc/net/{protocol}"), Path(f"/proc/net/{protocol}6")):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == UNBOUND_STATES[protocol]:
                found.add(address)
    return found


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_ganesha_binds_loopback_only(ganesha: GaneshaServer, protocol: str) -> None:
    for port in (ganesha.nfs_port, ganesha.mount_port):
        addresses = bound_addresses(protocol, port)
        assert addresses, f"nothing bound to {protocol} port {port}"
        assert addresses <= LOOPBACK_HEX


def test_ganesha_accepts_every_configuration_key(tmp_path: Path) -> None:
    with GaneshaServer(tmp_path, drc_disabled=True, attr_expiration_time=0) as server:
        config = server.config_path.read_text()
        log = server.log_path.read_text()
    assert "DRC_Disabled = true;" in config
    assert "Attr_Expiration_Time = 0;" in config
    assert "Unknown parameter" not in log
    assert "Unknown block" not in log


def test_sigkill_and_restart_keep_the_ports_and_move_the_epoch(tmp_path: Path) -> None:
    with GaneshaServer(tmp_path) as server:
        ports, epoch, pid = (server.nfs_port, server.mount_port), server.epoch, server.pid
        server.kill()
        assert not server.running
        assert not null_call(("127.0.0.1", server.nfs_port), NFS_PROGRAM, 3, timeout=0.5)
        server.start()
        assert (server.nfs_port, server.mount_port) == ports
        assert server.epoch > epoch
        assert server.pid != pid
        assert null_call(("127.0.0.1", server.nfs_port), NFS_PROGRAM, 3)
        server.restart()
        assert server.epoch > epoch + 1
        assert null_call(("127.0.0.1", server.mount_port), MOUNT_PROGRAM, 3, transport="udp")
        assert server.starts == 3


def test_stop_ends_the_server(tmp_path: Path) -> None:
    server = GaneshaServer(tmp_path)
    with server:
        assert server.running
    assert not server.running
    assert server.pid is None
    assert not null_call(("127.0.0.1", server.nfs_port), NFS_PROGRAM, 3, timeout=0.5)
    assert "regular exit" in server.log_path.read_text()


def test_a_failed_start_reports_the_end_of_the_log(tmp_path: Path) -> None:
    with GaneshaServer(tmp_path) as server:
        server.kill()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
            squatter.bind(("127.0.0.1", server.nfs_port))
            with pytest.raises(GaneshaError) as failure:
                server.start()
    message = str(failure.value)
    assert f"last lines of {server.log_path}" in message
    assert "Address already in use" in message


def test_a_first_start_moves_off_a_port_taken_meanwhile(tmp_path: Path) -> None:
    server = GaneshaServer(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", server.nfs_port))
        taken = server.nfs_port
        with server:
            assert server.nfs_port != taken
            assert null_call(("127.0.0.1", server.nfs_port), NFS_PROGRAM, 3)


def test_missing_ganesha_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(processes, "_EXTRA_DIRS", ())
    with pytest.raises(
        PeerNotInstalled, match=r"NFS-Ganesha not installed.*bash scripts/bootstrap"
    ):
        GaneshaServer(tmp_path).start()


def test_paths_that_would_need_quoting_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        GaneshaConfig(
            nfs_port=1,
            mount_port=2,
            export_dir=tmp_path / "with space",
            recovery_dir=tmp_path,
            plugins_dir=tmp_path,
        )
