"""`nfsprop mount`: real programs (cp, cat, cmp, ls, mkdir, mv, rm, touch, chmod, chown,
df) on a FUSE mount of the reference server, and close-to-open across two mounts of one
export.

Every mount is a `nfsprop mount --foreground` subprocess (MountProcess), unmounted with
fusermount3 -u and ended by its pid; the server is `nfsprop serve` (ServerProcess). A
machine without FUSE fails these tests, naming `bash scripts/bootstrap`: never a skip.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from properties.peers.fuse_mount import FuseUnavailable, MountProcess, require_fuse
from properties.peers.reference_server import ServerProcess
from reference.fuse.url import EXPECTED_FORM

TWO_MIB = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    try:
        require_fuse()
    except FuseUnavailable as error:
        pytest.fail(f"FUSE is unavailable: {error}", pytrace=False)
    with ServerProcess(tmp_path_factory.mktemp("fuse-server")) as process:
        yield process


def run(*command: str | Path) -> str:
    """Run a program; its stdout. A non-zero exit fails the test with its stderr."""
    done = subprocess.run([str(c) for c in command], capture_output=True, timeout=120)
    assert done.returncode == 0, f"{command} exited {done.returncode}: {done.stderr.decode()}"
    return done.stdout.decode()


def test_ordinary_programs_use_the_mount(server: ServerProcess, tmp_path: Path) -> None:
    original = tmp_path / "random.bin"
    original.write_bytes(os.urandom(TWO_MIB))
    with MountProcess(server.url, tmp_path / "mnt") as mount:
        root = mount.mountpoint
        run("cp", original, root / "copy.bin")
        run("cmp", original, root / "copy.bin")
        assert subprocess.run(["cat", root / "copy.bin"], capture_output=True).stdout == (
            original.read_bytes()
        )
        assert run("ls", root).split() == ["copy.bin"]
        run("mkdir", root / "dir")
        run("mv", root / "copy.bin", root / "dir" / "moved.bin")
        assert run("ls", root).split() == ["dir"]
        assert run("ls", root / "dir").split() == ["moved.bin"]
        assert os.stat(root / "dir" / "moved.bin").st_size == TWO_MIB
        run("rm", root / "dir" / "moved.bin")
        run("rmdir", root / "dir")
        assert run("ls", "-A", root) == ""
        assert mount.unmount() == 0
    assert not os.path.ismount(tmp_path / "mnt")


def test_touch_chmod_chown_cp_p_and_df_use_the_mount(server: ServerProcess, tmp_path: Path) -> None:
    original = tmp_path / "original.txt"
    original.write_text("kept\n")
    os.chmod(original, 0o640)
    os.utime(original, ns=(3_000_000_001, 4_000_000_002))
    with MountProcess(server.url, tmp_path / "mnt") as mount:
        root = mount.mountpoint
        before = os.statvfs(root)
        run("touch", root / "new")  # create, then set both times to now
        run("touch", "-m", "-d", "@1000000000.5", root / "new")  # mtime only
        run("chmod", "600", root / "new")
        run("chown", "1234:5678", root / "new")
        run("cp", "-p", original, root / "copy.txt")  # mode and times preserved
        run("dd", "if=/dev/zero", f"of={root / 'big'}", "bs=1M", "count=2", "status=none")
        after = os.statvfs(root)
        df = run("df", "--output=size,used", "-B1", root).split()
        assert mount.unmount() == 0
    with MountProcess(server.url, tmp_path / "again") as mount:  # fresh caches: the server's
        new = os.stat(mount.mountpoint / "new")
        assert new.st_mtime_ns == 1_000_000_000_500_000_000
        assert new.st_atime_ns != new.st_mtime_ns  # atime stayed at the first touch
        assert (stat.S_IMODE(new.st_mode), new.st_uid, new.st_gid) == (0o600, 1234, 5678)
        copy = os.stat(mount.mountpoint / "copy.txt")
        assert stat.S_IMODE(copy.st_mode) == 0o640
        assert (copy.st_atime_ns, copy.st_mtime_ns) == (3_000_000_001, 4_000_000_002)
        run("rm", *(mount.mountpoint / name for name in ("new", "copy.txt", "big")))
        assert mount.unmount() == 0
    assert before.f_blocks > 0 and before.f_files > 0 and before.f_frsize == 4096
    assert before.f_bfree - after.f_bfree >= 2 * 1024 * 1024 // 4096
    assert before.f_ffree - after.f_ffree == 3
    assert int(df[2]) == after.f_blocks * 4096 and int(df[3]) > 2 * 1024 * 1024


def test_the_data_is_on_the_server_after_a_remount(server: ServerProcess, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    with MountProcess(server.url, tmp_path / "first") as mount:
        (mount.mountpoint / "kept.bin").write_bytes(payload)
        run("ln", "-s", "kept.bin", mount.mountpoint / "link")
        assert mount.unmount() == 0
    with MountProcess(server.url, tmp_path / "second") as mount:
        assert (mount.mountpoint / "kept.bin").read_bytes() == payload
        assert os.readlink(mount.mountpoint / "link") == "kept.bin"
        assert (mount.mountpoint / "link").read_bytes() == payload
        run("rm", mount.mountpoint / "kept.bin", mount.mountpoint / "link")
        assert mount.unmount() == 0


def test_close_to_open_across_two_mounts(server: ServerProcess, tmp_path: Path) -> None:
    with (
        MountProcess(server.url, tmp_path / "writer") as writer,
        MountProcess(server.url, tmp_path / "reader") as reader,
    ):
        shared_by_writer = writer.mountpoint / "shared.txt"
        shared_by_reader = reader.mountpoint / "shared.txt"
        for version in range(1, 6):  # the reader holds the previous version in its caches
            text = f"version {version}\n"
            with shared_by_writer.open("w") as file:  # open, write, close: close returned
                file.write(text)
            assert run("cat", shared_by_reader) == text  # an open after that close
        assert writer.unmount() == 0
        assert reader.unmount() == 0


def test_sigterm_unmounts_cleanly(server: ServerProcess, tmp_path: Path) -> None:
    mount = MountProcess(server.url, tmp_path / "mnt")
    with mount:
        (mount.mountpoint / "before-term.txt").write_text("written\n")
        pid = mount.pid
        assert pid is not None
        os.kill(pid, 15)
        assert mount.wait() == 0
        assert not os.path.ismount(mount.mountpoint)


def test_a_bad_url_is_one_line_naming_the_expected_form(tmp_path: Path) -> None:
    url = "nfs://127.0.0.1/export?nfsport=x"
    command = [sys.executable, "-m", "properties.cli", "mount", url]
    done = subprocess.run([*command, str(tmp_path)], capture_output=True, timeout=60)
    assert done.returncode == 2
    message = done.stderr.decode()
    assert message.count("\n") == 1
    assert "nfsport 'x' is not a port" in message
    assert EXPECTED_FORM in message
