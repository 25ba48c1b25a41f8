"""NfsClient against the reference server in the simulation world: the file API, its
errors, and the caching semantics (attribute cache, lookup cache, close-to-open, noac,
nocto, write-behind, COMMIT and resend after a verifier change, soft timeouts)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from faults.sim import NoFaults
from properties.nfs_client.world import SIM_MOUNT, ClientWorld
from reference.client import ClientBugs, MountOptions, NfsClient, OpenFile, StaleFileHandle
from reference.xdr.gen.mount3 import MOUNT_V3_Client
from reference.xdr.gen.nfs3 import NFS_V3_Client

T = TypeVar("T")
CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def world_of(*options: MountOptions) -> ClientWorld:
    return ClientWorld(NoFaults(), options or (SIM_MOUNT, SIM_MOUNT), watch=("a", "b"))


def on(world: ClientWorld, index: int, operation: Coroutine[Any, Any, T]) -> T:
    return world.run(index, operation)


async def put(client: NfsClient, path: str, data: bytes) -> None:
    file = await client.open(path, CREATE)
    await client.write(file, data)
    await client.close(file)


async def get(client: NfsClient, path: str) -> bytes:
    file = await client.open(path)
    try:
        return await client.read(file, 1 << 20)
    finally:
        await client.close(file)


def rpcs(client: NfsClient, name: str) -> int:
    return client.rpc.calls[f"NFSPROC3_{name}"]


# -- the file API ---------------------------------------------------------------------------


def test_what_one_client_closes_another_opens() -> None:
    world = world_of()
    on(world, 0, put(world.client(0), "a", b"hello"))
    assert on(world, 1, get(world.client(1), "a")) == b"hello"
    assert world.server_state().files["a"] == b"hello"


def test_reads_and_writes_at_offsets_across_pages() -> None:
    world = world_of()
    client = world.client(0)
    data = bytes(range(256)) * 40  # 10240 bytes: three pages

    async def scenario() -> tuple[bytes, bytes, bytes, int]:
        file = await client.open("a", os.O_RDWR | os.O_CREAT)
        await client.write(file, data)
        await client.write(file, b"XYZ", 4094)
        await client.close(file)
        file = await client.open("a")
        whole = await client.read(file, 1 << 20)
        middle = await client.read(file, 6, 4092)
        file.position = 10238
        tail = await client.read(file, 100)
        await client.close(file)
        return whole, middle, tail, file.position

    whole, middle, tail, position = on(world, 0, scenario())
    expected = data[:4094] + b"XYZ" + data[4097:]
    assert whole == expected and world.server_state().files["a"] == expected
    assert middle == expected[4092:4098]
    assert tail == expected[10238:] and position == 10240


def test_a_client_reads_its_own_unsent_writes() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> tuple[bytes, int, int]:
        file = await client.open("a", os.O_RDWR | os.O_CREAT)
        await client.write(file, b"abc")
        await client.write(file, b"Z", 5)
        seen = await client.read(file, 10, 0)
        size = (await client.stat("a")).size
        writes = rpcs(client, "WRITE")
        await client.close(file)
        return seen, size, writes

    seen, size, writes_before_close = on(world, 0, scenario())
    assert seen == b"abc\0\0Z" and size == 6
    assert writes_before_close == 0
    assert world.server_state().files["a"] == b"abc\0\0Z"


def test_append_and_truncate() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> bytes:
        await put(client, "a", b"12345")
        file = await client.open("a", os.O_WRONLY | os.O_APPEND)
        await client.write(file, b"678")
        await client.close(file)
        await client.truncate("a", 7)
        return await get(client, "a")

    assert on(world, 0, scenario()) == b"1234567"
    assert on(world, 1, get(world.client(1), "a")) == b"1234567"


def test_directories_names_and_links() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> dict[str, object]:
        await client.mkdir("d")
        await put(client, "d/f", b"data")
        await client.rename("d/f", "d/g")
        await client.link("d/g", "h")
        await client.symlink("d/g", "s")
        await client.symlink("/d", "ds")
        return {
            "root": sorted(await client.listdir("/")),
            "d": await client.listdir("d"),
            "via link": await get(client, "h"),
            "via symlink": await get(client, "s"),
            "via dir symlink": await get(client, "ds/g"),
            "readlink": await client.readlink("s"),
            "nlink": (await client.stat("h")).nlink,
            "lstat": (await client.stat("s", follow_symlinks=False)).is_symlink,
            "dotdot": await get(client, "d/../d/./g"),
        }

    seen = on(world, 0, scenario())
    assert seen == {
        "root": ["d", "ds", "h", "s"],
        "d": ["g"],
        "via link": b"data",
        "via symlink": b"data",
        "via dir symlink": b"data",
        "readlink": "d/g",
        "nlink": 2,
        "lstat": True,
        "dotdot": b"data",
    }
    assert sorted(on(world, 1, world.client(1).listdir("/"))) == ["d", "ds", "h", "s"]


def test_remove_and_rmdir() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> list[str]:
        await client.mkdir("d")
        await put(client, "d/f", b"x")
        await client.remove("d/f")
        await client.rmdir("d")
        return await client.listdir("/")

    assert on(world, 0, scenario()) == []


@pytest.mark.parametrize(
    ("setup", "operation", "error", "code"),
    [
        ("", "open_missing", FileNotFoundError, errno.ENOENT),
        ("file", "mkdir_existing", FileExistsError, errno.EEXIST),
        ("file", "open_exclusive", FileExistsError, errno.EEXIST),
        ("dir", "open_dir", IsADirectoryError, errno.EISDIR),
        ("file", "listdir_file", NotADirectoryError, errno.ENOTDIR),
        ("file", "open_below_file", NotADirectoryError, errno.ENOTDIR),
        ("full dir", "rmdir_full", OSError, errno.ENOTEMPTY),
        ("dir", "remove_dir", IsADirectoryError, errno.EISDIR),
        ("file", "readlink_file", OSError, errno.EINVAL),
        ("loop", "open_loop", OSError, errno.ELOOP),
    ],
)
def test_failures_are_oserrors_with_the_errno_of_the_nfs_status(
    setup: str, operation: str, error: type[OSError], code: int
) -> None:
    world = world_of()
    client = world.client(0)

    async def prepare() -> None:
        if setup == "file":
            await put(client, "f", b"x")
        elif setup in ("dir", "full dir"):
            await client.mkdir("f")
            if setup == "full dir":
                await put(client, "f/g", b"x")
        elif setup == "loop":
            await client.symlink("l2", "l1")
            await client.symlink("l1", "l2")

    async def fail() -> object:
        if operation in ("open_missing", "open_dir"):
            return await client.open("f")
        if operation == "mkdir_existing":
            await client.mkdir("f")
        if operation == "open_exclusive":
            return await client.open("f", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        if operation == "listdir_file":
            return await client.listdir("f")
        if operation == "open_below_file":
            return await client.open("f/g")
        if operation == "rmdir_full":
            await client.rmdir("f")
        if operation == "remove_dir":
            await client.remove("f")
        if operation == "readlink_file":
            return await client.readlink("f")
        if operation == "open_loop":
            return await client.open("l1")
        return None

    on(world, 0, prepare())
    with pytest.raises(error) as raised:
        on(world, 0, fail())
    assert raised.value.errno == code


def test_a_closed_file_refuses_every_use() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> OpenFile:
        file = await client.open("a", CREATE)
        await client.close(file)
        return file

    file = on(world, 0, scenario())
    for operation in (client.read(file, 1), client.write(file, b"x"), client.close(file)):
        with pytest.raises(OSError) as raised:
            on(world, 0, operation)
        assert raised.value.errno == errno.EBADF


def test_exclusive_create_sets_the_mode() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> int:
        file = await client.open("a", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        await client.close(file)
        return (await client.stat("a")).mode

    assert on(world, 0, scenario()) == 0o640


def test_chmod_chown_and_utime_reach_the_server() -> None:
    world = world_of()
    writer, reader = world.client(0), world.client(1)
    on(world, 0, put(writer, "a", b"data"))
    gid = on(world, 0, writer.stat("a")).gid

    async def change() -> None:
        await writer.chmod("a", stat.S_IFREG | 0o4600)
        await writer.chown("a", 1234, -1)
        await writer.utime("a", 5_000_000_007, 6_000_000_009)

    on(world, 0, change())
    seen = on(world, 1, reader.stat("a"))  # a client that had not seen it: the server's
    assert (seen.mode, seen.uid, seen.gid) == (0o4600, 1234, gid)
    assert (seen.atime_ns, seen.mtime_ns) == (5_000_000_007, 6_000_000_009)
    world.advance(60)  # past the reader's attribute cache
    on(world, 0, writer.utime("a", mtime=None))  # the server's time, the mtime left alone
    seen = on(world, 1, reader.stat("a"))
    assert seen.mtime_ns == 6_000_000_009 and seen.atime_ns == seen.ctime_ns


def test_utime_sends_unsent_writes_first_so_the_time_set_stays() -> None:
    world = world_of()
    client = world.client(0)

    async def scenario() -> None:
        file = await client.open("a", CREATE)
        await client.write(file, b"buffered")
        await client.utime("a", 1_000_000_000, 2_000_000_000)
        await client.close(file)

    on(world, 0, scenario())
    assert world.server_state().files["a"] == b"buffered"
    assert on(world, 1, world.client(1).stat("a")).mtime_ns == 2_000_000_000


def test_chmod_keeps_the_cached_pages() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b"x" * 10_000))
    on(world, 0, get(client, "a"))
    reads = rpcs(client, "READ")
    on(world, 0, client.chmod("a", 0o600))
    assert on(world, 0, get(client, "a")) == b"x" * 10_000
    assert rpcs(client, "READ") == reads


def test_a_time_nfs3_cannot_carry_is_einval_before_any_call() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b""))
    with pytest.raises(OSError) as raised:
        on(world, 0, client.utime("a", -1, None))
    assert raised.value.errno == errno.EINVAL and rpcs(client, "SETATTR") == 0


def test_statvfs_is_the_servers_fsstat() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b"x" * 5000))
    usage = on(world, 0, client.statvfs("a"))
    expected = world.server.fs.fsstat(client.root)
    assert (usage.total_bytes, usage.free_bytes, usage.avail_bytes) == (
        expected.total_bytes,
        expected.free_bytes,
        expected.avail_bytes,
    )
    assert (usage.total_files, usage.free_files, usage.avail_files) == (
        expected.total_files,
        expected.free_files,
        expected.avail_files,
    )
    assert usage.free_bytes < usage.total_bytes and usage.free_files < usage.total_files


# -- caching --------------------------------------------------------------------------------


def test_the_attribute_cache_answers_stat_until_acregmin() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b"x"))
    getattrs = rpcs(client, "GETATTR")
    on(world, 0, client.stat("a"))
    on(world, 0, client.stat("a"))
    assert rpcs(client, "GETATTR") == getattrs
    world.advance(3.0)
    on(world, 0, client.stat("a"))
    assert rpcs(client, "GETATTR") == getattrs + 1


def test_a_held_file_shows_another_clients_change_once_its_attributes_expire() -> None:
    world = world_of()
    reader, writer = world.client(0), world.client(1)
    on(world, 1, put(writer, "a", b"old"))
    held = on(world, 0, reader.open("a"))
    assert on(world, 0, reader.read(held, 10, 0)) == b"old"
    on(world, 1, put(writer, "a", b"new!"))
    world.advance(1.0)
    assert on(world, 0, reader.read(held, 10, 0)) == b"old"  # trusted for acregmin (3 s)
    world.advance(2.5)
    assert on(world, 0, reader.read(held, 10, 0)) == b"new!"


def test_unchanged_attributes_are_trusted_longer_and_longer() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b"x"))
    start = rpcs(client, "GETATTR")
    for _ in range(60):  # one stat a second for a minute
        world.advance(1.0)
        on(world, 0, client.stat("a"))
    # The file is revalidated at 3, 9 (after 6 s), 21 (after 12 s) and 45 s (after 24 s):
    # the timeout doubles. The root directory once, at acdirmin (30 s).
    assert rpcs(client, "GETATTR") - start == 4 + 1


def test_the_lookup_cache_saves_lookups_and_reopening_revalidates() -> None:
    world = world_of()
    client = world.client(0)
    on(world, 0, put(client, "a", b"x"))
    lookups, getattrs = rpcs(client, "LOOKUP"), rpcs(client, "GETATTR")
    for _ in range(3):
        on(world, 0, get(client, "a"))
    assert rpcs(client, "LOOKUP") == lookups
    assert rpcs(client, "GETATTR") == getattrs + 3  # close-to-open: one per open
    assert rpcs(client, "READ") == 0  # its own write filled the page cache
    assert client.stats.lookup_hits >= 3 and client.stats.page_hits >= 3


def test_an_open_finds_a_file_replaced_behind_its_cached_name() -> None:
    world = world_of()
    first, second = world.client(0), world.client(1)
    on(world, 0, put(first, "a", b"one"))
    on(world, 1, second.remove("a"))
    on(world, 1, put(second, "a", b"two"))
    assert on(world, 0, get(first, "a")) == b"two"  # STALE handle, then a new LOOKUP


def test_a_held_file_of_a_removed_name_ends_stale() -> None:
    world = world_of()
    first, second = world.client(0), world.client(1)
    on(world, 0, put(first, "a", b"one"))
    held = on(world, 0, first.open("a"))
    on(world, 1, second.remove("a"))
    world.advance(61.0)
    with pytest.raises(StaleFileHandle):
        on(world, 0, first.read(held, 10, 0))


def test_listings_are_cached_for_acdirmin() -> None:
    world = world_of()
    first, second = world.client(0), world.client(1)
    on(world, 0, put(first, "a", b"1"))
    assert on(world, 0, first.listdir("/")) == ["a"]
    on(world, 1, put(second, "b", b"2"))
    world.advance(10.0)
    assert on(world, 0, first.listdir("/")) == ["a"]
    world.advance(25.0)
    assert sorted(on(world, 0, first.listdir("/"))) == ["a", "b"]
    assert first.stats.listing_hits == 1


def test_noac_revalidates_every_use_and_writes_synchronously() -> None:
    world = world_of(replace(SIM_MOUNT, noac=True), SIM_MOUNT)
    client, other = world.client(0), world.client(1)

    async def scenario() -> None:
        file = await client.open("a", CREATE)
        await client.write(file, b"sync")
        assert world.server_state().files["a"] == b"sync"  # before close
        await client.close(file)

    on(world, 0, scenario())
    assert rpcs(client, "COMMIT") == 0
    getattrs = rpcs(client, "GETATTR")
    on(world, 0, client.stat("a"))
    on(world, 0, client.stat("a"))
    assert rpcs(client, "GETATTR") >= getattrs + 2
    on(world, 1, put(other, "a", b"changed"))
    assert on(world, 0, get(client, "a")) == b"changed"


def test_nocto_keeps_written_data_until_fsync() -> None:
    world = world_of(replace(SIM_MOUNT, cto=False), SIM_MOUNT)
    writer, reader = world.client(0), world.client(1)

    async def write() -> OpenFile:
        file = await writer.open("a", CREATE)
        await writer.write(file, b"late")
        await writer.close(file)
        return file

    file = on(world, 0, write())
    assert on(world, 1, get(reader, "a")) == b""  # close() sent nothing
    file.closed = False  # fsync needs an open file: reopen the same description
    on(world, 0, writer.fsync(file))
    world.advance(4.0)
    assert on(world, 1, get(reader, "a")) == b"late"


def test_writes_beyond_the_write_behind_limit_go_out_before_close() -> None:
    world = world_of(replace(SIM_MOUNT, write_behind=8, wsize=4), SIM_MOUNT)
    client = world.client(0)

    async def scenario() -> int:
        file = await client.open("a", CREATE)
        await client.write(file, b"0123456789")
        sent = rpcs(client, "WRITE")
        await client.close(file)
        return sent

    assert on(world, 0, scenario()) == 3  # 10 bytes in WRITEs of wsize 4
    assert rpcs(client, "COMMIT") == 1
    assert world.server_state().files["a"] == b"0123456789"


def crash_between_write_and_commit(bugs: ClientBugs) -> tuple[ClientWorld, NfsClient]:
    world = world_of(replace(SIM_MOUNT, write_behind=1, bugs=bugs))
    client = world.client(0)

    async def write() -> OpenFile:
        file = await client.open("a", CREATE)
        await client.write(file, b"precious")  # over the limit: sent UNSTABLE now
        return file

    file = on(world, 0, write())
    assert rpcs(client, "WRITE") == 1 and rpcs(client, "COMMIT") == 0
    world.crash_server()  # the unstable data is lost with the server's memory
    on(world, 0, client.close(file))
    world.crash_server()
    return world, client


def test_a_changed_verifier_makes_the_client_resend_what_was_lost() -> None:
    world, client = crash_between_write_and_commit(ClientBugs())
    assert client.stats.verifier_changes == 1 and client.stats.resent_writes == 1
    assert world.server_state().files["a"] == b"precious"


def test_the_planted_bug_ignores_the_verifier_and_loses_the_data() -> None:
    world, client = crash_between_write_and_commit(ClientBugs(ignore_verifier=True))
    assert client.stats.resent_writes == 0
    assert world.server_state().files["a"] == b""


def test_a_soft_mount_gives_up_with_eio() -> None:
    soft = replace(SIM_MOUNT, hard=False, retrans=2)
    world = world_of(soft)
    client = world.client(0)
    world.world.crash("server")
    with pytest.raises(OSError) as raised:
        on(world, 0, client.stat("missing"))  # not cached: a LOOKUP nobody answers
    assert raised.value.errno == errno.EIO
    assert "not responding" in str(raised.value)


def test_unmount_sends_what_was_written_and_says_goodbye() -> None:
    world = world_of(replace(SIM_MOUNT, cto=False))
    client = world.client(0)

    async def scenario() -> None:
        file = await client.open("a", CREATE)
        await client.write(file, b"bye")
        await client.close(file)
        await client.unmount()

    on(world, 0, scenario())
    assert client.rpc.calls["MOUNTPROC3_UMNT"] == 1
    assert world.server_state().files["a"] == b"bye"


def test_mounting_a_path_outside_the_export_is_refused() -> None:
    world = world_of()
    node = world.nodes[0]

    async def mount() -> NfsClient:
        return await NfsClient.mount(
            NFS_V3_Client(node.caller),
            MOUNT_V3_Client(node.caller),
            "/elsewhere",
            lambda: world.now,
            SIM_MOUNT,
        )

    with pytest.raises(PermissionError, match="MNT3ERR_ACCES"):
        on(world, 0, mount())
