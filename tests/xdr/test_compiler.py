"""The XDR stub compiler: every construct of RFC 4506 section 6 compiles to a module whose
codecs produce exactly the bytes XDR prescribes (checked against hand-computed hex),
broken input raises XdrError, broken specs name file:line:column, programs get stubs and
skeletons, the committed modules are current, and `nfsprop rpcgen` works end to end."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import sys
import tracemalloc
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from properties import cli
from reference.rpc.stubs import AuthNone, CallContext, Procedure, ProcedureUnavailable
from reference.xdr import XdrError
from reference.xdr.compiler import compile_spec
from reference.xdr.gen import nfs3
from reference.xdr.parser import XdrSpecError
from reference.xdr.regen import stale_modules

DEMO_SPEC = """\
/* demo.x: one of each construct of RFC 4506 section 6. */
const SMALL = 4;
const HEX = 0x10;       // hexadecimal: 16
const OCT = 017;        /* octal: 15 */
const NEG = -3;

enum color { RED, GREEN = 5, BLUE };   /* implicit values: 0, then previous + 1 */

typedef opaque handle[3];
typedef opaque blob<SMALL>;
typedef string name<SMALL>;
typedef string text<>;
typedef text texts<>;
typedef int pair[2];
typedef unsigned int counts<SMALL>;
typedef hyper bigs<>;
typedef color palette<>;
typedef bool flags<>;

struct point {
    int x;
    unsigned int y;
};

typedef point points<>;

struct numbers {
    hyper h;
    unsigned hyper uh;
    float f;
    double d;
    bool flag;
};

struct outer {
    struct { int a; string label<>; } inner;
    point *maybe;
    point corners[2];
    point path<>;
};

struct node {
    int value;
    node *next;
};

struct holder {
    node *items;
    bool done;
};

union result switch (color c) {
case RED:
case GREEN:
    int code;
case BLUE:
    void;
};

union reply switch (int kind) {
case 1:
    string message<SMALL>;
case 2:
    void;
default:
    hyper other;
};

union choice switch (unsigned int which) {
case 0:
    int zero;
case 1:
case 2:
    hyper small;
};

union answer switch (bool ok) {
case TRUE:
    point p;
case FALSE:
    void;
};

/* Type names that start with a keyword are names, not keywords. */
typedef int interval;
typedef double doubles;
struct boolean { interval integer; doubles unsignedness; };

program DEMO_PROG {
    version DEMO_V1 {
        void DEMO_NULL(void) = 0;
        point DEMO_MOVE(point) = 1;
        reply DEMO_ASK(name) = 2;
    } = 1;
} = 0x20000222;
"""


def load(text: str, name: str) -> types.ModuleType:
    """Compile RPC language `text` (as file `name`.x) and execute it as module `name`."""
    source = compile_spec(text, f"{name}.x")
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while building classes
    try:
        exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def demo() -> types.ModuleType:
    return load(DEMO_SPEC, "demo")


def wire(hex_words: str) -> bytes:
    return bytes.fromhex(hex_words.replace(" ", ""))


# ---- constants, enums, typedefs --------------------------------------------------


def test_constants_in_decimal_hex_and_octal(demo: Any) -> None:
    assert (demo.SMALL, demo.HEX, demo.OCT, demo.NEG) == (4, 16, 15, -3)


def test_enum_values_implicit_and_explicit(demo: Any) -> None:
    assert [(c.name, c.value) for c in demo.color] == [("RED", 0), ("GREEN", 5), ("BLUE", 6)]
    assert demo.BLUE is demo.color.BLUE
    assert demo.encode_color(demo.color.BLUE) == wire("00000006")
    assert demo.decode_color(wire("00000005")) is demo.color.GREEN


def test_keyword_prefixed_names_are_names(demo: Any) -> None:
    value = demo.boolean(integer=-2, unsignedness=0.5)
    assert demo.encode_boolean(value) == wire("fffffffe 3fe0000000000000")
    assert demo.encode_interval(7) == wire("00000007")


# ---- wire bytes ------------------------------------------------------------------

WIRE_CASES: list[tuple[str, Callable[[Any], object], str]] = [
    ("handle", lambda m: b"xyz", "78797a00"),
    ("blob", lambda m: b"\x01", "00000001 01000000"),
    ("blob", lambda m: b"", "00000000"),
    ("name", lambda m: b"ab", "00000002 61620000"),
    ("name", lambda m: b"abcd", "00000004 61626364"),
    ("text", lambda m: b"abcde", "00000005 61626364 65000000"),
    ("pair", lambda m: [1, -1], "00000001 ffffffff"),
    ("counts", lambda m: [7, 0xFFFFFFFF], "00000002 00000007 ffffffff"),
    ("bigs", lambda m: [1], "00000001 00000000 00000001"),
    ("palette", lambda m: [m.RED, m.BLUE], "00000002 00000000 00000006"),
    ("flags", lambda m: [True, False], "00000002 00000001 00000000"),
    ("point", lambda m: m.point(1, 2), "00000001 00000002"),
    ("point", lambda m: m.point(-1, 0xFFFFFFFF), "ffffffff ffffffff"),
    ("points", lambda m: [m.point(3, 4)], "00000001 00000003 00000004"),
    (
        "numbers",
        lambda m: m.numbers(h=-2, uh=(1 << 64) - 1, f=1.5, d=-2.0, flag=True),
        "ffffffff fffffffe ffffffff ffffffff 3fc00000 c0000000 00000000 00000001",
    ),
    (
        "outer",
        lambda m: m.outer(
            inner=m.outer_inner(a=1, label=b"a"),
            maybe=None,
            corners=[m.point(1, 2), m.point(3, 4)],
            path=[m.point(5, 6)],
        ),
        "00000001 00000001 61000000  00000000  00000001 00000002 00000003 00000004"
        "  00000001 00000005 00000006",
    ),
    (
        "outer",
        lambda m: m.outer(
            inner=m.outer_inner(a=-1, label=b""),
            maybe=m.point(7, 8),
            corners=[m.point(0, 0), m.point(0, 0)],
            path=[],
        ),
        "ffffffff 00000000  00000001 00000007 00000008  00000000 00000000 00000000 00000000"
        "  00000000",
    ),
    (
        "holder",
        lambda m: m.holder(items=[m.node(1), m.node(2)], done=True),
        "00000001 00000001  00000001 00000002  00000000  00000001",
    ),
    ("holder", lambda m: m.holder(items=[], done=False), "00000000 00000000"),
    ("node", lambda m: m.node(9), "00000009 00000000"),
    ("result", lambda m: m.result(m.RED, code=9), "00000000 00000009"),
    ("result", lambda m: m.result(m.GREEN, code=-1), "00000005 ffffffff"),
    ("result", lambda m: m.result(m.BLUE), "00000006"),
    ("reply", lambda m: m.reply(1, message=b"hi"), "00000001 00000002 68690000"),
    ("reply", lambda m: m.reply(2), "00000002"),
    ("reply", lambda m: m.reply(7, other=-1), "00000007 ffffffff ffffffff"),
    ("reply", lambda m: m.reply(-9, other=1), "fffffff7 00000000 00000001"),
    ("choice", lambda m: m.choice(0, zero=3), "00000000 00000003"),
    ("choice", lambda m: m.choice(2, small=3), "00000002 00000000 00000003"),
    ("answer", lambda m: m.answer(True, p=m.point(1, 2)), "00000001 00000001 00000002"),
    ("answer", lambda m: m.answer(False), "00000000"),
]


@pytest.mark.parametrize(
    ("type_name", "make", "hex_words"), WIRE_CASES, ids=[case[0] for case in WIRE_CASES]
)
def test_exact_wire_bytes_and_back(
    demo: Any, type_name: str, make: Callable[[Any], object], hex_words: str
) -> None:
    value = make(demo)
    encoded = getattr(demo, f"encode_{type_name}")(value)
    assert encoded == wire(hex_words)
    assert getattr(demo, f"decode_{type_name}")(encoded) == value


def test_structs_and_unions_have_methods(demo: Any) -> None:
    point = demo.point(1, 2)
    assert point.encode() == wire("00000001 00000002")
    assert demo.point.decode(wire("00000001 00000002")) == point
    assert demo.answer.decode(wire("00000000")) == demo.answer(False)


def test_generated_shapes(demo: Any) -> None:
    assert demo.node.__slots__ == ("value",)  # the next pointer is the list
    assert demo.reply.__slots__ == ("kind", "message", "other")
    assert demo.outer_inner(a=1, label=b"") == demo.outer_inner(1, b"")
    assert demo.outer_inner(1, b"") != demo.outer_inner(1, b"x")
    assert hash(demo.outer_inner(1, b"")) == hash(demo.outer_inner(1, b""))
    assert repr(demo.point(1, 2)) == "point(x=1, y=2)"
    assert demo.point(1, 2)._replace(y=5) == demo.point(1, 5)
    assert copy.deepcopy(demo.point(1, 2)) == demo.point(1, 2)
    match demo.point(1, 2):
        case demo.point(1, y):
            assert y == 2
    with pytest.raises(AttributeError):
        demo.point(1, 2).x = 3


def test_void_arm_decodes_with_every_arm_field_none(demo: Any) -> None:
    assert demo.decode_reply(wire("00000002")) == demo.reply(2, message=None, other=None)


# ---- decode errors ---------------------------------------------------------------

DECODE_ERRORS = [
    ("truncated struct", "point", "00000001 0000"),
    ("truncated string body", "name", "00000003 6162"),
    ("missing padding", "name", "00000003 616263"),
    ("truncated list", "holder", "00000001 00000001"),
    ("empty input", "point", ""),
    ("trailing bytes", "point", "00000001 00000002 00"),
    ("trailing word", "answer", "00000000 00000000"),
    ("string past its bound", "name", "00000005 61626364 65000000"),
    ("opaque past its bound", "blob", "00000005 01020304 05000000"),
    ("array past its bound", "counts", "00000005 00000000 00000000 00000000 00000000 00000000"),
    ("bad enum", "color", "00000003"),
    ("bad enum in an array", "palette", "00000001 00000001"),
    ("bad enum discriminant", "result", "00000001 00000000"),
    ("bad bool", "numbers", "00000000 00000000 00000000 00000000 00000000 00000000 00000002"),
    ("bad bool discriminant", "answer", "00000002"),
    ("bad optional flag", "outer", "00000000 00000000 00000002"),
    ("bad list flag", "holder", "00000007"),
    ("bad int discriminant", "choice", "00000009 00000000"),
    ("a single node continued", "node", "00000001 00000001 00000002 00000000"),
    ("hostile count of structs", "points", "ffffffff"),
    ("hostile count of strings", "texts", "ffffffff"),
    ("hostile fixed-run count", "counts", "ffffffff"),
    ("hostile string length", "text", "ffffffff 61626364"),
    ("hostile count of enums", "palette", "ffffffff 00000000"),
]


@pytest.mark.parametrize(
    ("type_name", "hex_words"),
    [case[1:] for case in DECODE_ERRORS],
    ids=[case[0] for case in DECODE_ERRORS],
)
def test_bad_bytes_raise_xdr_error(demo: Any, type_name: str, hex_words: str) -> None:
    with pytest.raises(XdrError):
        getattr(demo, f"decode_{type_name}")(wire(hex_words))


def test_hostile_count_allocates_nothing_big(demo: Any) -> None:
    """0xffffffff elements announced in 4 bytes: refused before any allocation (a decoder
    that allocated first would need gigabytes, or spin for minutes filling a list)."""
    tracemalloc.start()
    try:
        for type_name in ("points", "texts", "bigs", "palette", "text", "flags"):
            with pytest.raises(XdrError):
                getattr(demo, f"decode_{type_name}")(wire("ffffffff 00000000"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_error_messages_name_the_problem(demo: Any) -> None:
    with pytest.raises(XdrError, match="trailing"):
        demo.decode_point(wire("00000001 00000002 00000003"))
    with pytest.raises(XdrError, match="truncated"):
        demo.decode_point(wire("00000001"))
    with pytest.raises(XdrError, match="exceeds its bound 4"):
        demo.decode_name(wire("00000005 61626364 65000000"))
    with pytest.raises(XdrError, match="not a valid color"):
        demo.decode_color(wire("00000003"))
    with pytest.raises(XdrError, match="no arm for discriminant 9"):
        demo.decode_choice(wire("00000009 00000000"))


# ---- encode errors ---------------------------------------------------------------

ENCODE_ERRORS: list[tuple[str, str, Callable[[Any], object]]] = [
    ("string over its bound", "name", lambda m: b"abcde"),
    ("opaque over its bound", "blob", lambda m: b"12345"),
    ("array over its bound", "counts", lambda m: [1, 2, 3, 4, 5]),
    ("fixed opaque too short", "handle", lambda m: b"ab"),
    ("fixed opaque too long", "handle", lambda m: b"abcd"),
    ("fixed array too long", "pair", lambda m: [1, 2, 3]),
    (
        "fixed array of structs too short",
        "outer",
        lambda m: m.outer(m.outer_inner(0, b""), None, [], []),
    ),
    ("int out of range", "point", lambda m: m.point(1 << 31, 0)),
    ("unsigned negative", "point", lambda m: m.point(0, -1)),
    ("missing arm value", "result", lambda m: m.result(m.RED)),
    ("no arm for the discriminant", "choice", lambda m: m.choice(5, zero=1)),
]


@pytest.mark.parametrize(
    ("type_name", "make"),
    [case[1:] for case in ENCODE_ERRORS],
    ids=[case[0] for case in ENCODE_ERRORS],
)
def test_bad_values_raise_xdr_error(
    demo: Any, type_name: str, make: Callable[[Any], object]
) -> None:
    with pytest.raises(XdrError):
        getattr(demo, f"encode_{type_name}")(make(demo))


# ---- spec errors -----------------------------------------------------------------


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(XdrSpecError) as error:
        compile_spec("struct s {\n    int x\n};\n", "bad.x")
    assert str(error.value).startswith("bad.x:3:1:")
    assert "'}'" in str(error.value)


def test_undefined_type_is_named_with_its_position() -> None:
    with pytest.raises(XdrSpecError) as error:
        compile_spec("struct s {\n    missing m;\n};\n", "bad.x")
    assert str(error.value) == "bad.x:2:5: undefined type missing"


def test_undefined_constant_is_named_with_its_position() -> None:
    with pytest.raises(XdrSpecError) as error:
        compile_spec("const A = 1;\ntypedef opaque blob<NOPE>;\n", "bad.x")
    message = str(error.value)
    assert message.startswith("bad.x:2:")
    assert message.endswith("undefined constant NOPE")


def test_undefined_case_label_is_named() -> None:
    with pytest.raises(XdrSpecError, match=r"^bad\.x:3:\d+: undefined constant ZZ$"):
        compile_spec("union u switch (int d) {\ncase 1: void;\ncase ZZ: int y;\n};\n", "bad.x")


# ---- programs: procedure tables, client stubs, server skeletons ----------------------


class RecordingCaller:
    """A Caller that records each call and answers with a canned result."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[tuple[Procedure[Any, Any], object]] = []

    async def call(self, procedure: Procedure[Any, Any], args: object) -> object:
        self.calls.append((procedure, args))
        return self.answer


def test_program_numbers_and_procedure_table(demo: Any) -> None:
    assert (demo.DEMO_PROG, demo.DEMO_V1, demo.DEMO_ASK) == (0x20000222, 1, 2)
    table = demo.DEMO_V1_PROCEDURES
    assert sorted(table) == [0, 1, 2]
    move = table[1]
    assert (move.program, move.version, move.number, move.name) == (
        0x20000222,
        1,
        1,
        "DEMO_MOVE",
    )
    assert move.encode_args(demo.point(1, 2)) == wire("00000001 00000002")
    assert move.decode_result(wire("00000003 00000004")) == demo.point(3, 4)
    ask = table[2]
    assert ask.encode_args(b"ab") == wire("00000002 61620000")
    assert ask.decode_result(wire("00000002")) == demo.reply(2)
    assert table[0].encode_args(None) == b""
    with pytest.raises(XdrError):
        table[0].decode_result(b"\0")


def test_client_stub_hands_procedure_and_argument_to_its_caller(demo: Any) -> None:
    caller = RecordingCaller(demo.point(5, 6))
    client = demo.DEMO_V1_Client(caller)
    assert asyncio.run(client.DEMO_MOVE(demo.point(1, 2))) == demo.point(5, 6)
    asyncio.run(client.DEMO_NULL())
    assert caller.calls == [
        (demo.DEMO_V1_PROCEDURES[1], demo.point(1, 2)),
        (demo.DEMO_V1_PROCEDURES[0], None),
    ]


def test_server_skeleton_serves_null_and_refuses_the_rest(demo: Any) -> None:
    context = CallContext(xid=1, client=("127.0.0.1", 700), transport="sim", credential=AuthNone())
    server = demo.DEMO_V1_Server()
    assert (server.program, server.version) == (0x20000222, 1)
    assert server.handler(0)(None, context) is None
    with pytest.raises(ProcedureUnavailable):
        server.handler(1)(demo.point(1, 2), context)
    with pytest.raises(ProcedureUnavailable):
        server.handler(99)


def test_server_skeleton_subclass_serves_its_overrides(demo: Any) -> None:
    class Mover(demo.DEMO_V1_Server):  # type: ignore[misc]
        def DEMO_MOVE(self, args: Any, ctx: CallContext) -> Any:
            return demo.point(args.x + 1, args.y)

    context = CallContext(xid=2, client=("127.0.0.1", 700), transport="sim", credential=AuthNone())
    assert Mover().handler(1)(demo.point(1, 2), context) == demo.point(2, 2)
    with pytest.raises(ProcedureUnavailable):
        Mover().handler(2)(b"ab", context)


# ---- committed modules and the command line ---------------------------------------


def test_committed_generated_modules_are_current() -> None:
    assert stale_modules() == []


def import_file(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_cli_rpcgen_writes_a_working_module(tmp_path: Path) -> None:
    spec = tmp_path / "demo.x"
    spec.write_text(DEMO_SPEC)
    out = tmp_path / "demo_gen.py"
    assert cli.main(["rpcgen", str(spec), "-o", str(out)]) == 0
    module: Any = import_file(out, "demo_gen")
    assert module.encode_name(b"ab") == wire("00000002 61620000")
    assert module.decode_point(wire("00000001 00000002")) == module.point(1, 2)


def test_cli_rpcgen_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.x"
    assert cli.main(["rpcgen", str(missing), "-o", str(tmp_path / "out.py")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot read" in err and "nothing.x" in err
    assert not (tmp_path / "out.py").exists()


def test_cli_rpcgen_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.x"
    spec.write_text("struct s {\n    int x\n};\n")
    assert cli.main(["rpcgen", str(spec), "-o", str(tmp_path / "out.py")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{spec}:3:1:" in err
    assert not (tmp_path / "out.py").exists()


# ---- NFSv3 -----------------------------------------------------------------------


def attributes(fileid: int) -> nfs3.fattr3:
    return nfs3.fattr3(
        type=nfs3.ftype3.NF3REG,
        mode=0o644,
        nlink=1,
        uid=1000,
        gid=100,
        size=4096,
        used=8192,
        rdev=nfs3.specdata3(0, 0),
        fsid=7,
        fileid=fileid,
        atime=nfs3.nfstime3(1, 2),
        mtime=nfs3.nfstime3(3, 4),
        ctime=nfs3.nfstime3(5, 6),
    )


def test_nfs3_getattr_reply_is_status_plus_84_bytes_of_fattr3() -> None:
    reply = nfs3.GETATTR3res(nfs3.NFS3_OK, resok=nfs3.GETATTR3resok(attributes(42)))
    encoded = nfs3.encode_GETATTR3res(reply)
    assert len(encoded) == 4 + 84
    assert encoded[:8] == wire("00000000 00000001")  # NFS3_OK, NF3REG
    assert encoded[8:12] == wire("000001a4")  # mode 0644
    assert nfs3.decode_GETATTR3res(encoded) == reply
    failure = nfs3.GETATTR3res(nfs3.NFS3ERR_STALE)
    assert nfs3.encode_GETATTR3res(failure) == wire("00000046")


def test_nfs3_readdirplus_list_round_trips() -> None:
    entries = [
        nfs3.entryplus3(
            fileid=n,
            name=f"file{n}".encode(),
            cookie=n + 1,
            name_attributes=nfs3.post_op_attr(True, attributes=attributes(n)),
            name_handle=nfs3.post_op_fh3(True, handle=nfs3.nfs_fh3(bytes([n]) * 32)),
        )
        for n in range(5)
    ]
    reply = nfs3.READDIRPLUS3res(
        nfs3.NFS3_OK,
        resok=nfs3.READDIRPLUS3resok(
            dir_attributes=nfs3.post_op_attr(False),
            cookieverf=b"verifier",
            reply=nfs3.dirlistplus3(entries=entries, eof=True),
        ),
    )
    encoded = nfs3.encode_READDIRPLUS3res(reply)
    decoded = nfs3.decode_READDIRPLUS3res(encoded)
    assert decoded == reply
    assert decoded.resok is not None and len(decoded.resok.reply.entries) == 5
    # status, no dir attributes, verifier; then per entry: a TRUE pointer, fileid, name
    # "file0" padded to 8, cookie, attributes, handle; a FALSE pointer; eof.
    entry_size = 4 + 8 + (4 + 8) + 8 + (4 + 84) + (4 + 4 + 32)
    assert len(encoded) == 4 + 4 + 8 + 5 * entry_size + 4 + 4
