"""XDR codec speed: the generated nfs3 codecs against the same messages coded by hand
with xdrlib3 (the maintained fork of the stdlib's xdrlib).

Rules: both sides start from and end at the same generated dataclass objects, and both
must produce identical bytes (checked before timing), so the comparison is codec against
codec. Messages: a READDIRPLUS3res with 100 entries (name, post_op_attr with fattr3,
post_op_fh3 with a 32-byte handle) and a GETATTR3res with NFS3_OK. Run with
`python -m bench xdr_codec`; the target is ours at least 2x xdrlib3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdrlib3 import Packer, Unpacker

from bench.table import best_rate, print_table
from reference.xdr.gen import nfs3

READDIR_ENTRIES = 100
ROUNDS = {"READDIRPLUS3res": 200, "GETATTR3res": 20_000}


# ---- the messages ------------------------------------------------------------------


def attributes(fileid: int) -> nfs3.fattr3:
    return nfs3.fattr3(
        type=nfs3.ftype3.NF3REG,
        mode=0o644,
        nlink=1,
        uid=1000,
        gid=1000,
        size=fileid * 4096,
        used=fileid * 4096,
        rdev=nfs3.specdata3(0, 0),
        fsid=0x1234,
        fileid=fileid,
        atime=nfs3.nfstime3(1_700_000_000, fileid),
        mtime=nfs3.nfstime3(1_700_000_001, fileid),
        ctime=nfs3.nfstime3(1_700_000_002, fileid),
    )


def readdirplus_reply() -> nfs3.READDIRPLUS3res:
    entries = [
        nfs3.entryplus3(
            fileid=n,
            name=f"entry-{n:05d}.dat".encode(),
            cookie=n + 1,
            name_attributes=nfs3.post_op_attr(True, attributes=attributes(n)),
            name_handle=nfs3.post_op_fh3(True, handle=nfs3.nfs_fh3(n.to_bytes(32, "big"))),
        )
        for n in range(1, READDIR_ENTRIES + 1)
    ]
    return nfs3.READDIRPLUS3res(
        nfs3.NFS3_OK,
        resok=nfs3.READDIRPLUS3resok(
            dir_attributes=nfs3.post_op_attr(True, attributes=attributes(0)),
            cookieverf=b"\0\0\0\0\0\0\0\x01",
            reply=nfs3.dirlistplus3(entries=entries, eof=True),
        ),
    )


def getattr_reply() -> nfs3.GETATTR3res:
    return nfs3.GETATTR3res(nfs3.NFS3_OK, resok=nfs3.GETATTR3resok(attributes(42)))


# ---- the same structures coded by hand with xdrlib3 -----------------------------------


def pack_fattr3(p: Packer, a: nfs3.fattr3) -> None:
    p.pack_enum(a.type)
    p.pack_uint(a.mode)
    p.pack_uint(a.nlink)
    p.pack_uint(a.uid)
    p.pack_uint(a.gid)
    p.pack_uhyper(a.size)
    p.pack_uhyper(a.used)
    p.pack_uint(a.rdev.specdata1)
    p.pack_uint(a.rdev.specdata2)
    p.pack_uhyper(a.fsid)
    p.pack_uhyper(a.fileid)
    for time in (a.atime, a.mtime, a.ctime):
        p.pack_uint(time.seconds)
        p.pack_uint(time.nseconds)


def unpack_nfstime3(u: Unpacker) -> nfs3.nfstime3:
    return nfs3.nfstime3(u.unpack_uint(), u.unpack_uint())


def unpack_fattr3(u: Unpacker) -> nfs3.fattr3:
    return nfs3.fattr3(
        type=nfs3.ftype3(u.unpack_enum()),
        mode=u.unpack_uint(),
        nlink=u.unpack_uint(),
        uid=u.unpack_uint(),
        gid=u.unpack_uint(),
        size=u.unpack_uhyper(),
        used=u.unpack_uhyper(),
        rdev=nfs3.specdata3(u.unpack_uint(), u.unpack_uint()),
        fsid=u.unpack_uhyper(),
        fileid=u.unpack_uhyper(),
        atime=unpack_nfstime3(u),
        mtime=unpack_nfstime3(u),
        ctime=unpack_nfstime3(u),
    )


def pack_post_op_attr(p: Packer, v: nfs3.post_op_attr) -> None:
    p.pack_bool(v.attributes_follow)
    if v.attributes_follow:
        assert v.attributes is not None
        pack_fattr3(p, v.attributes)


def unpack_post_op_attr(u: Unpacker) -> nfs3.post_op_attr:
    if u.unpack_bool():
        return nfs3.post_op_attr(True, attributes=unpack_fattr3(u))
    return nfs3.post_op_attr(False)


def pack_post_op_fh3(p: Packer, v: nfs3.post_op_fh3) -> None:
    p.pack_bool(v.handle_follows)
    if v.handle_follows:
        assert v.handle is not None
        p.pack_opaque(v.handle.data)


def unpack_post_op_fh3(u: Unpacker) -> nfs3.post_op_fh3:
    if u.unpack_bool():
        return nfs3.post_op_fh3(True, handle=nfs3.nfs_fh3(u.unpack_opaque()))
    return nfs3.post_op_fh3(False)


def pack_readdirplus3res(value: nfs3.READDIRPLUS3res) -> bytes:
    p = Packer()
    p.pack_enum(value.status)
    if value.status == nfs3.NFS3_OK:
        resok = value.resok
        assert resok is not None
        pack_post_op_attr(p, resok.dir_attributes)
        p.pack_fopaque(nfs3.NFS3_COOKIEVERFSIZE, resok.cookieverf)
        for entry in resok.reply.entries:
            p.pack_bool(True)
            p.pack_uhyper(entry.fileid)
            p.pack_string(entry.name)
            p.pack_uhyper(entry.cookie)
            pack_post_op_attr(p, entry.name_attributes)
            pack_post_op_fh3(p, entry.name_handle)
        p.pack_bool(False)
        p.pack_bool(resok.reply.eof)
    else:
        assert value.resfail is not None
        pack_post_op_attr(p, value.resfail.dir_attributes)
    return p.get_buffer()


def unpack_readdirplus3res(data: bytes) -> nfs3.READDIRPLUS3res:
    u = Unpacker(data)
    status = nfs3.nfsstat3(u.unpack_enum())
    if status != nfs3.NFS3_OK:
        fail = nfs3.READDIRPLUS3resfail(unpack_post_op_attr(u))
        u.done()
        return nfs3.READDIRPLUS3res(status, resfail=fail)
    dir_attributes = unpack_post_op_attr(u)
    cookieverf = u.unpack_fopaque(nfs3.NFS3_COOKIEVERFSIZE)
    entries = []
    while u.unpack_bool():
        entries.append(
            nfs3.entryplus3(
                fileid=u.unpack_uhyper(),
                name=u.unpack_string(),
                cookie=u.unpack_uhyper(),
                name_attributes=unpack_post_op_attr(u),
                name_handle=unpack_post_op_fh3(u),
            )
        )
    reply = nfs3.dirlistplus3(entries=entries, eof=u.unpack_bool())
    u.done()
    return nfs3.READDIRPLUS3res(
        status, resok=nfs3.READDIRPLUS3resok(dir_attributes, cookieverf, reply)
    )


def pack_getattr3res(value: nfs3.GETATTR3res) -> bytes:
    p = Packer()
    p.pack_enum(value.status)
    if value.status == nfs3.NFS3_OK:
        assert value.resok is not None
        pack_fattr3(p, value.resok.obj_attributes)
    return p.get_buffer()


def unpack_getattr3res(data: bytes) -> nfs3.GETATTR3res:
    u = Unpacker(data)
    status = nfs3.nfsstat3(u.unpack_enum())
    result = nfs3.GETATTR3res(status)
    if status == nfs3.NFS3_OK:
        result = nfs3.GETATTR3res(status, resok=nfs3.GETATTR3resok(unpack_fattr3(u)))
    u.done()
    return result


# ---- measuring -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Codec:
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


@dataclass(frozen=True, slots=True)
class Case:
    message: str
    value: object
    ours: Codec
    xdrlib3: Codec


CASES = [
    Case(
        "READDIRPLUS3res",
        readdirplus_reply(),
        Codec(nfs3.encode_READDIRPLUS3res, nfs3.decode_READDIRPLUS3res),
        Codec(pack_readdirplus3res, unpack_readdirplus3res),
    ),
    Case(
        "GETATTR3res",
        getattr_reply(),
        Codec(nfs3.encode_GETATTR3res, nfs3.decode_GETATTR3res),
        Codec(pack_getattr3res, unpack_getattr3res),
    ),
]


def check_agreement(case: Case) -> bytes:
    """Both codecs give the same bytes and the same value back; else the race is void."""
    ours = case.ours.encode(case.value)
    theirs = case.xdrlib3.encode(case.value)
    if ours != theirs:
        raise AssertionError(f"{case.message}: xdrlib3 and generated encodings differ")
    if not case.ours.decode(ours) == case.xdrlib3.decode(ours) == case.value:
        raise AssertionError(f"{case.message}: xdrlib3 and generated decodings differ")
    return ours


def rates(codec: Codec, value: object, encoded: bytes, rounds: int) -> tuple[float, ...]:
    encode, decode = codec.encode, codec.decode

    def encoding() -> int:
        for _ in range(rounds):
            encode(value)
        return rounds

    def decoding() -> int:
        for _ in range(rounds):
            decode(encoded)
        return rounds

    def both() -> int:
        for _ in range(rounds):
            decode(encode(value))
        return rounds

    return best_rate(encoding), best_rate(decoding), best_rate(both)


def measure() -> list[tuple[str, str, int, float, float, float]]:
    """Rows: message, operation, size in bytes, ours/s, xdrlib3/s, ratio."""
    rows = []
    for case in CASES:
        encoded = check_agreement(case)
        rounds = ROUNDS[case.message]
        ours = rates(case.ours, case.value, encoded, rounds)
        theirs = rates(case.xdrlib3, case.value, encoded, rounds)
        for operation, mine, other in zip(
            ("encode", "decode", "encode+decode"), ours, theirs, strict=True
        ):
            rows.append((case.message, operation, len(encoded), mine, other, mine / other))
    return rows


def main() -> None:
    print_table(
        "XDR codec: generated nfs3 codecs vs hand-written xdrlib3 (messages/s, best of 5)",
        ["message", "operation", "bytes", "ours/s", "xdrlib3/s", "ours/xdrlib3"],
        measure(),
    )
