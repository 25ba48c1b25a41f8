"""The NFSv2 protocol layer on both stores: every call goes through the generated codecs
(arguments encoded and decoded, the reply encoded and decoded), so a reply v2 cannot
carry fails here too. Covers the 18 procedures, the status mapping, sattr's "unchanged"
fields and server-time convention, 32-bit limits, READDIR paging with 4-byte cookies,
special files through CREATE, and handles shared with NFSv3."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from reference.nfs.access import ROOT_IDENTITY
from reference.nfs.attributes import NO_CHANGES, Attributes
from reference.nfs.fs import FileSystem
from reference.nfs.handles import to_v2
from reference.nfs.nfs2_service import (
    ALL_ONES,
    BLOCK_SIZE,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFREG,
    NfsV2Service,
    encode_rdev,
    fattr2,
    v2_status,
)
from reference.nfs.nfs3_service import NfsV3Service
from reference.rpc.stubs import AuthNone, AuthSys, CallContext, Credential
from reference.xdr.gen import nfs3
from reference.xdr.gen.nfs2 import (
    MAXDATA,
    NFS_VERSION_PROCEDURES,
    attrstat,
    createargs,
    diropargs,
    diropres,
    fattr,
    ftype,
    linkargs,
    readargs,
    readdirargs,
    readdirres,
    readlinkres,
    readres,
    renameargs,
    sattr,
    sattrargs,
    stat,
    statfsres,
    symlinkargs,
    timeval,
    writeargs,
)
from tests.nfs.conftest import Backend, StepClock

ROOT_CREDENTIAL = AuthSys(0, b"test", 0, 0)
ALICE = AuthSys(0, b"test", 1000, 1000)
UNSET = timeval(ALL_ONES, ALL_ONES)
NO_CHANGE = sattr(ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, UNSET, UNSET)


def attributes(mode: int = ALL_ONES, size: int = ALL_ONES) -> sattr:
    return sattr(mode, ALL_ONES, ALL_ONES, size, UNSET, UNSET)


class Wire:
    """Calls NfsV2Service procedures the way the RPC server does, through the codecs."""

    def __init__(self, fs: FileSystem, credential: Credential = ROOT_CREDENTIAL) -> None:
        self.fs = fs
        self.service = NfsV2Service(fs)
        self.credential = credential
        self.root = to_v2(fs.root_handle())

    def call(self, number: int, args: Any, credential: Credential | None = None) -> Any:
        procedure = NFS_VERSION_PROCEDURES[number]
        decoded_args = procedure.decode_args(procedure.encode_args(args))
        context = CallContext(7, ("client", 700), "sim", credential or self.credential)
        result = self.service.handler(number)(decoded_args, context)
        return procedure.decode_result(procedure.encode_result(result))

    def getattr(self, handle: bytes) -> attrstat:
        result: attrstat = self.call(1, handle)
        return result

    def lookup(self, directory: bytes, name: bytes) -> diropres:
        result: diropres = self.call(4, diropargs(directory, name))
        return result

    def create(self, name: bytes, new: sattr = NO_CHANGE, directory: bytes = b"") -> diropres:
        result: diropres = self.call(9, createargs(diropargs(directory or self.root, name), new))
        return result

    def created(self, name: bytes, new: sattr = NO_CHANGE, directory: bytes = b"") -> bytes:
        """The handle of a new file (the CREATE must succeed)."""
        result = self.create(name, new, directory)
        assert result.status == stat.NFS_OK and result.diropok is not None
        return result.diropok.file

    def mkdir(self, name: bytes, directory: bytes = b"") -> bytes:
        result: diropres = self.call(
            14, createargs(diropargs(directory or self.root, name), NO_CHANGE)
        )
        assert result.status == stat.NFS_OK and result.diropok is not None
        return result.diropok.file

    def write(self, handle: bytes, offset: int, data: bytes) -> attrstat:
        result: attrstat = self.call(8, writeargs(handle, 0, offset, 0, data))
        return result

    def read(self, handle: bytes, offset: int, count: int) -> readres:
        result: readres = self.call(6, readargs(handle, offset, count, 0))
        return result

    def setattr(self, handle: bytes, new: sattr) -> attrstat:
        result: attrstat = self.call(2, sattrargs(handle, new))
        return result

    def readdir(self, directory: bytes, cookie: int, count: int) -> readdirres:
        result: readdirres = self.call(16, readdirargs(directory, struct.pack(">I", cookie), count))
        return result

    def names(self, directory: bytes, count: int = 4096) -> list[bytes]:
        """Every name in `directory`, listed page by page."""
        found: list[bytes] = []
        cookie = 0
        for _ in range(1000):
            page = self.readdir(directory, cookie, count)
            assert page.status == stat.NFS_OK and page.readdirok is not None
            found += [e.name for e in page.readdirok.entries]
            if page.readdirok.eof:
                return found
            cookie = struct.unpack(">I", page.readdirok.entries[-1].cookie)[0]
        raise AssertionError("READDIR never reached eof")


@pytest.fixture
def wire(fs: FileSystem) -> Wire:
    return Wire(fs)


def ok_attributes(result: attrstat) -> fattr:
    assert result.status == stat.NFS_OK, result.status
    assert result.attributes is not None
    return result.attributes


def test_root_attributes_carry_the_directory_type_bits(wire: Wire) -> None:
    root = ok_attributes(wire.getattr(wire.root))
    assert root.type == ftype.NFDIR
    assert root.mode & 0o170000 == S_IFDIR
    assert root.fileid == 1
    assert len(wire.root) == 32


def test_write_then_read_back_and_the_size_follows(wire: Wire) -> None:
    handle = wire.created(b"file")
    written = ok_attributes(wire.write(handle, 0, b"hello, v2"))
    assert written.size == 9
    assert written.mode & 0o170000 == S_IFREG
    assert ok_attributes(wire.write(handle, 100, b"x")).size == 101
    read = wire.read(handle, 0, 9)
    assert read.status == stat.NFS_OK and read.reply is not None
    assert read.reply.data == b"hello, v2"
    assert read.reply.attributes.size == 101


def test_v2_writes_are_durable_at_once(wire: Wire, backend: Backend) -> None:
    handle = wire.created(b"sync")
    wire.write(handle, 0, b"stable")
    restarted = FileSystem(backend.reopen(), StepClock())
    assert restarted.read(handle, 0, 10, ROOT_IDENTITY).data == b"stable"


def test_read_is_capped_at_maxdata(wire: Wire) -> None:
    handle = wire.created(b"big")
    for offset in range(0, 3 * MAXDATA, MAXDATA):
        wire.write(handle, offset, bytes([offset // MAXDATA + 1]) * MAXDATA)
    read = wire.read(handle, 100, 3 * MAXDATA)
    assert read.reply is not None
    assert len(read.reply.data) == MAXDATA


def test_lookup_returns_the_v2_form_of_the_v3_handle(wire: Wire) -> None:
    handle = wire.created(b"shared")
    found = wire.lookup(wire.root, b"shared")
    assert found.status == stat.NFS_OK and found.diropok is not None
    assert found.diropok.file == handle
    v3_handle = wire.fs.lookup(wire.fs.root_handle(), b"shared", ROOT_IDENTITY).handle
    assert to_v2(v3_handle) == handle
    v3 = NfsV3Service(wire.fs)
    context = CallContext(1, ("client", 1), "sim", ROOT_CREDENTIAL)
    reply = v3.NFSPROC3_GETATTR(nfs3.GETATTR3args(nfs3.nfs_fh3(handle)), context)
    assert reply.status == nfs3.NFS3_OK


def test_sattr_all_ones_changes_nothing_and_set_fields_change(wire: Wire, clock: StepClock) -> None:
    handle = wire.created(b"attrs")
    wire.write(handle, 0, b"0123456789")
    before = ok_attributes(wire.getattr(handle))
    unchanged = ok_attributes(wire.setattr(handle, NO_CHANGE))
    assert (unchanged.mode, unchanged.size, unchanged.mtime) == (
        before.mode,
        before.size,
        before.mtime,
    )
    new = sattr(S_IFDIR | 0o600, ALL_ONES, ALL_ONES, 4, timeval(1000, 250), timeval(2000, 5))
    after = ok_attributes(wire.setattr(handle, new))
    assert after.mode == S_IFREG | 0o600  # type bits in a SETATTR mode are ignored
    assert after.size == 4
    assert after.atime == timeval(1000, 250)
    assert after.mtime == timeval(2000, 5)


def test_useconds_one_million_means_the_server_time(wire: Wire, clock: StepClock) -> None:
    handle = wire.created(b"touch")
    clock.advance(5_000_000_000)
    now = timeval(*divmod(clock.now_ns, 1_000_000_000))
    server_time = timeval(0, 1_000_000)
    after = ok_attributes(
        wire.setattr(handle, sattr(ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, server_time, UNSET))
    )
    assert after.atime.seconds == now.seconds
    bad = timeval(0, 1_000_001)
    refused = wire.setattr(handle, sattr(ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, bad, UNSET))
    assert refused.status == stat.NFSERR_IO


def test_times_are_microseconds(wire: Wire, clock: StepClock) -> None:
    clock.advance(123_456_789)
    handle = wire.created(b"micro")
    created = ok_attributes(wire.getattr(handle))
    seconds, nanoseconds = divmod(clock.now_ns, 1_000_000_000)
    assert created.ctime.seconds == seconds
    assert created.ctime.useconds == nanoseconds // 1000 < 1_000_000


@pytest.mark.parametrize(
    ("v3_status", "expected"),
    [
        (nfs3.NFS3ERR_NOENT, stat.NFSERR_NOENT),
        (nfs3.NFS3ERR_STALE, stat.NFSERR_STALE),
        (nfs3.NFS3ERR_BADHANDLE, stat.NFSERR_STALE),
        (nfs3.NFS3ERR_XDEV, stat.NFSERR_ACCES),
        (nfs3.NFS3ERR_INVAL, stat.NFSERR_IO),
        (nfs3.NFS3ERR_MLINK, stat.NFSERR_IO),
        (nfs3.NFS3ERR_NOT_SYNC, stat.NFSERR_IO),
        (nfs3.NFS3ERR_BAD_COOKIE, stat.NFSERR_IO),
        (nfs3.NFS3ERR_TOOSMALL, stat.NFSERR_IO),
        (nfs3.NFS3ERR_SERVERFAULT, stat.NFSERR_IO),
        (nfs3.NFS3ERR_BADTYPE, stat.NFSERR_IO),
        (nfs3.NFS3ERR_JUKEBOX, stat.NFSERR_IO),
        (nfs3.NFS3ERR_NAMETOOLONG, stat.NFSERR_NAMETOOLONG),
        (nfs3.NFS3ERR_DQUOT, stat.NFSERR_DQUOT),
    ],
)
def test_status_mapping(v3_status: int, expected: stat) -> None:
    assert v2_status(v3_status) == expected


def test_forged_and_unknown_handles_are_stale(wire: Wire) -> None:
    assert wire.getattr(bytes(32)).status == stat.NFSERR_STALE
    flipped = bytearray(wire.root)
    flipped[10] ^= 1
    assert wire.getattr(bytes(flipped)).status == stat.NFSERR_STALE
    handle = wire.created(b"doomed")
    assert wire.call(10, diropargs(wire.root, b"doomed")) == stat.NFS_OK
    assert wire.getattr(handle).status == stat.NFSERR_STALE


def test_errors_of_names(wire: Wire) -> None:
    assert wire.lookup(wire.root, b"absent").status == stat.NFSERR_NOENT
    assert wire.lookup(wire.root, b"a/b").status == stat.NFSERR_IO  # INVAL in v3
    assert wire.create(b"x" * 255).status == stat.NFS_OK
    directory = wire.mkdir(b"dir")
    assert wire.call(10, diropargs(wire.root, b"dir")) == stat.NFSERR_ISDIR
    wire.created(b"inside", directory=directory)
    assert wire.call(15, diropargs(wire.root, b"dir")) == stat.NFSERR_NOTEMPTY
    assert wire.lookup(wire.root, b"dir").status == stat.NFS_OK


def test_create_of_an_existing_file_truncates_it(wire: Wire) -> None:
    handle = wire.created(b"again")
    wire.write(handle, 0, b"contents")
    again = wire.create(b"again", attributes(size=0))
    assert again.status == stat.NFS_OK and again.diropok is not None
    assert again.diropok.file == handle
    assert again.diropok.attributes.size == 0


def test_create_applies_mode_and_ownership_of_the_caller(wire: Wire) -> None:
    created = wire.call(9, createargs(diropargs(wire.root, b"alice's"), attributes(0o640)), ALICE)
    assert created.status == stat.NFS_OK
    assert created.diropok.attributes.mode == S_IFREG | 0o640
    assert created.diropok.attributes.uid == 1000


def test_nobody_may_not_create_in_a_directory_without_write_permission(wire: Wire) -> None:
    directory = wire.mkdir(b"closed")
    refused = wire.call(9, createargs(diropargs(directory, b"f"), NO_CHANGE), AuthNone())
    assert refused.status == stat.NFSERR_ACCES


def test_symlink_readlink_link_rename_rmdir(wire: Wire) -> None:
    assert wire.call(13, symlinkargs(diropargs(wire.root, b"ln"), b"../target", NO_CHANGE)) == (
        stat.NFS_OK
    )
    link = wire.lookup(wire.root, b"ln")
    assert link.diropok is not None and link.diropok.attributes.type == ftype.NFLNK
    target: readlinkres = wire.call(5, link.diropok.file)
    assert target == readlinkres(stat.NFS_OK, b"../target")

    handle = wire.created(b"original")
    assert wire.call(12, linkargs(handle, diropargs(wire.root, b"second"))) == stat.NFS_OK
    assert ok_attributes(wire.getattr(handle)).nlink == 2

    moved = renameargs(diropargs(wire.root, b"second"), diropargs(wire.root, b"third"))
    assert wire.call(11, moved) == stat.NFS_OK
    assert wire.lookup(wire.root, b"second").status == stat.NFSERR_NOENT
    third = wire.lookup(wire.root, b"third")
    assert third.diropok is not None and third.diropok.file == handle

    wire.mkdir(b"empty")
    assert wire.call(15, diropargs(wire.root, b"empty")) == stat.NFS_OK
    assert wire.lookup(wire.root, b"empty").status == stat.NFSERR_NOENT
    assert wire.call(5, handle).status == stat.NFSERR_IO  # READLINK of a file: INVAL in v3


def test_readlink_of_a_target_v2_cannot_carry(wire: Wire) -> None:
    long_target = b"t" * 2000
    wire.fs.symlink(wire.fs.root_handle(), b"long", long_target, NO_CHANGES, ROOT_IDENTITY)
    link = wire.lookup(wire.root, b"long")
    assert link.diropok is not None
    assert wire.call(5, link.diropok.file).status == stat.NFSERR_NAMETOOLONG


def test_readdir_pages_with_four_byte_cookies(wire: Wire) -> None:
    names = [f"entry-{i:03d}".encode() for i in range(150)]
    for name in names:
        wire.created(name)
    wire.call(10, diropargs(wire.root, b"entry-007"))
    listed = wire.names(wire.root, count=256)
    expected = [b".", b".."] + [n for n in names if n != b"entry-007"]
    assert listed == expected
    first = wire.readdir(wire.root, 0, 256)
    assert first.readdirok is not None
    assert all(len(e.cookie) == 4 for e in first.readdirok.entries)
    assert len(first.encode()) <= 256


def test_readdir_with_a_count_too_small_for_one_entry(wire: Wire) -> None:
    assert wire.readdir(wire.root, 0, 20).status == stat.NFSERR_IO


def test_readdir_count_is_capped_at_maxdata(wire: Wire) -> None:
    for i in range(600):
        wire.created(f"n{i:04d}".encode())
    page = wire.readdir(wire.root, 0, 1 << 20)
    assert page.readdirok is not None and not page.readdirok.eof
    assert len(page.encode()) <= MAXDATA


def test_create_special_files_by_mode_type_bits(wire: Wire) -> None:
    device = wire.create(b"tty", attributes(S_IFCHR | 0o600, size=(4 << 8) | 1))
    assert device.status == stat.NFS_OK and device.diropok is not None
    assert device.diropok.attributes.type == ftype.NFCHR
    assert device.diropok.attributes.rdev == encode_rdev(4, 1)
    assert wire.fs.getattr(device.diropok.file).rdev == (4, 1)

    fifo = wire.create(b"pipe", attributes(S_IFCHR | 0o600))
    assert fifo.diropok is not None
    assert wire.fs.getattr(fifo.diropok.file).type == nfs3.ftype3.NF3FIFO
    assert fifo.diropok.attributes.type == ftype.NFCHR
    assert fifo.diropok.attributes.rdev == ALL_ONES
    assert fifo.diropok.attributes.mode & 0o170000 == S_IFIFO

    assert wire.create(b"notdir", attributes(S_IFDIR | 0o755)).status == stat.NFSERR_IO
    assert wire.create(b"odd", attributes(0o030000 | 0o644)).status == stat.NFSERR_IO
    refused = wire.call(
        9, createargs(diropargs(wire.root, b"dev"), attributes(S_IFCHR, size=1)), ALICE
    )
    assert refused.status == stat.NFSERR_PERM


def test_write_beyond_four_gibibytes_is_fbig(wire: Wire) -> None:
    handle = wire.created(b"far")
    assert wire.write(handle, ALL_ONES - 1, b"ab").status == stat.NFSERR_FBIG
    assert wire.write(handle, ALL_ONES - 2, b"ab").status == stat.NFS_OK


def test_attributes_that_do_not_fit_32_bits() -> None:
    huge = Attributes(
        type=nfs3.ftype3.NF3REG,
        mode=0o644,
        nlink=1,
        uid=1,
        gid=1,
        size=1 << 50,
        used=1 << 50,
        rdev=(0, 0),
        fsid=7,
        fileid=(1 << 32) + 5,
        atime_ns=0,
        mtime_ns=0,
        ctime_ns=0,
    )
    encoded = fattr2(huge)
    assert encoded.size == ALL_ONES
    assert encoded.blocks == ALL_ONES
    assert encoded.fileid == 5
    small = fattr2(Attributes(**{**_fields(huge), "size": 5000, "used": 5000}))
    assert (small.blocksize, small.blocks) == (BLOCK_SIZE, 2)


def _fields(attributes: Attributes) -> dict[str, Any]:
    return {name: getattr(attributes, name) for name in Attributes.__slots__}


def test_statfs_and_the_obsolete_procedures(wire: Wire) -> None:
    info: statfsres = wire.call(17, wire.root)
    assert info.status == stat.NFS_OK and info.info is not None
    assert info.info.tsize == MAXDATA
    assert info.info.bsize == BLOCK_SIZE
    assert info.info.blocks == wire.fs.capacity.bytes // BLOCK_SIZE
    assert info.info.bfree <= info.info.blocks
    assert wire.call(3, None) is None  # ROOT
    assert wire.call(7, None) is None  # WRITECACHE
    assert wire.call(0, None) is None  # NULL
