"""Real .x files: every one Debian ships (rpcsvc-proto, libnsl-dev, libtirpc-dev) compiles
with the flags that stand in for its C headers, and the module it gives imports and has
the program it declares; the preprocessor flags behind that (-D, -I, --include), macro
expansion, errors through an #include, and files that are not UTF-8."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from properties import cli
from tests.xdr.test_compiler import import_file

INCLUDE = Path("/usr/include")
NETBUF = Path(__file__).with_name("netbuf.x")
INSTALL = "apt-get install rpcsvc-proto libnsl-dev libtirpc-dev (or bash scripts/bootstrap)"

# file under /usr/include -> (the flags it needs, a program it declares, its number)
DEBIAN_SPECS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "rpcsvc/bootparam_prot.x": ((), "BOOTPARAMPROG", 100026),
    # MAXNETNAMELEN is rpc/auth.h's; des_block is 8 opaque bytes, like an unsigned hyper.
    "rpcsvc/key_prot.x": (
        ("-D", "MAXNETNAMELEN=255", "-D", "des_block=unsigned hyper"),
        "KEY_PROG",
        100029,
    ),
    "rpcsvc/klm_prot.x": ((), "KLM_PROG", 100020),
    "rpcsvc/mount.x": ((), "MOUNTPROG", 100005),
    "rpcsvc/nfs_prot.x": ((), "NFS_PROGRAM", 100003),
    "rpcsvc/nis.x": ((), "NIS_PROG", 100300),  # #include "nis_object.x", from its own directory
    "rpcsvc/nis_callback.x": (("--include", "nis.x"), "CB_PROG", 100302),
    "rpcsvc/nis_object.x": ((), "", 0),
    # nlm_prot.x defines both only for C, in % lines: MAXNAMELEN is LM_MAXSTRLEN+1.
    "rpcsvc/nlm_prot.x": (
        ("-D", "LM_MAXSTRLEN=1024", "-D", "MAXNAMELEN=1025"),
        "NLM_PROG",
        100021,
    ),
    "rpcsvc/rex.x": ((), "REXPROG", 100017),
    "rpcsvc/rquota.x": ((), "RQUOTAPROG", 100011),
    "rpcsvc/rstat.x": ((), "RSTATPROG", 100001),
    "rpcsvc/rusers.x": ((), "RUSERSPROG", 100002),
    "rpcsvc/sm_inter.x": ((), "SM_PROG", 100024),
    "rpcsvc/spray.x": ((), "SPRAYPROG", 100012),
    "rpcsvc/yp.x": ((), "YPPROG", 100004),
    "rpcsvc/yppasswd.x": ((), "YPPASSWDPROG", 100009),
    # rpc/types.h's u_int32_t typedefs, and struct netbuf from a file of ours.
    "tirpc/rpc/rpcb_prot.x": (
        (
            *("-D", "rpcprog_t=unsigned int", "-D", "rpcvers_t=unsigned int"),
            *("-D", "rpcproc_t=unsigned int", "--include", str(NETBUF)),
        ),
        "RPCBPROG",
        100000,
    ),
}


def rpcgen(spec: Path, out: Path, *flags: str) -> int:
    return cli.main(["rpcgen", str(spec), "-o", str(out), *flags])


def test_debian_ships_the_specs_this_test_knows() -> None:
    shipped = sorted(
        str(path.relative_to(INCLUDE))
        for pattern in ("rpcsvc/*.x", "tirpc/rpc/*.x")
        for path in INCLUDE.glob(pattern)
    )
    assert shipped, f"no .x files under {INCLUDE}: {INSTALL}"
    assert shipped == sorted(DEBIAN_SPECS)


@pytest.mark.parametrize("name", sorted(DEBIAN_SPECS))
def test_every_debian_spec_compiles_and_imports(name: str, tmp_path: Path) -> None:
    path = INCLUDE / name
    assert path.is_file(), f"{path} is missing: {INSTALL}"
    flags, program, number = DEBIAN_SPECS[name]
    out = tmp_path / f"{path.stem}_gen.py"
    assert rpcgen(path, out, *flags) == 0
    module: Any = import_file(out, f"{path.stem}_gen")
    if program:
        assert getattr(module, program) == number


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("rpcsvc/key_prot.x", "undefined constant MAXNETNAMELEN"),
        ("rpcsvc/nis_callback.x", "undefined type nis_object"),
        ("rpcsvc/nlm_prot.x", "undefined constant LM_MAXSTRLEN"),
        ("tirpc/rpc/rpcb_prot.x", "undefined type rpcprog_t"),
    ],
)
def test_without_its_flags_a_spec_names_what_its_headers_would_define(
    name: str, missing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rpcgen(INCLUDE / name, tmp_path / "out.py") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"nfsprop rpcgen: {INCLUDE / name}:") and missing in err


SPEC_WITH_MACROS = """\
#define LIMIT 8
#define TWICE LIMIT
const A = TWICE;           /* LIMIT in a comment stays */
const GREETING = "LIMIT";
typedef NUMBER counter;
typedef opaque buffer<SIZE>;
"""


def test_macros_expand_outside_comments_and_strings(tmp_path: Path) -> None:
    spec = tmp_path / "macros.x"
    spec.write_text(SPEC_WITH_MACROS)
    out = tmp_path / "macros_gen.py"
    assert rpcgen(spec, out, "-D", "NUMBER=unsigned hyper", "-D", "SIZE=3") == 0
    module: Any = import_file(out, "macros_gen")
    assert module.A == 8
    assert module.GREETING == b"LIMIT"
    assert module.encode_counter(2**64 - 1) == b"\xff" * 8
    assert module.encode_buffer(b"abc") == b"\x00\x00\x00\x03abc\x00"


def test_errors_name_the_included_file_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "part.x").write_text("const A = 1;\n\nconst B = MISSING;\n")
    spec = tmp_path / "main.x"
    spec.write_text('const C = 2;\n#include "part.x"\nstruct s {\n    int x;\n};\n')
    assert rpcgen(spec, tmp_path / "out.py") == 2
    assert "cannot find part.x (give the directory that holds it with -I DIR)" in (
        capsys.readouterr().err
    )
    assert rpcgen(spec, tmp_path / "out.py", "-I", str(tmp_path / "lib")) == 2
    assert f"{tmp_path / 'lib' / 'part.x'}:3:1: undefined constant MISSING" in (
        capsys.readouterr().err
    )
    (tmp_path / "lib" / "part.x").write_text("const A = 1;\n")
    spec.write_text('const C = 2;\n#include "part.x"\nstruct s {\n    int x\n};\n')
    assert rpcgen(spec, tmp_path / "out.py", "-I", str(tmp_path / "lib")) == 2
    assert f"{spec}:5:1:" in capsys.readouterr().err  # the main file's own line numbers


def test_a_latin1_file_compiles_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "old.x"
    spec.write_bytes(b"/* (c) J\xf6rg */\nconst A = 1;\n")
    out = tmp_path / "old_gen.py"
    assert rpcgen(spec, out) == 0
    assert capsys.readouterr().err == f"nfsprop rpcgen: {spec} is not UTF-8; read as Latin-1\n"
    assert import_file(out, "old_gen").A == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("-D", "9x=1"), "-D 9x=1: expected NAME or NAME=VALUE, NAME a C identifier"),
        (("--include", "none.x"), "cannot find none.x"),
    ],
)
def test_bad_flags_are_one_line(
    flags: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "a.x"
    spec.write_text("const A = 1;\n")
    assert rpcgen(spec, tmp_path / "out.py", *flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_procedure_names_are_constants_and_string_results_unbounded(tmp_path: Path) -> None:
    spec = tmp_path / "procs.x"
    spec.write_text(
        "const HIGHEST = LAST;\n"
        "program P { version V { string NAME(string) = 1; void LAST(void) = NAME; } = 2; } = 9;\n"
    )
    out = tmp_path / "procs_gen.py"
    assert rpcgen(spec, out) == 0
    module: Any = import_file(out, "procs_gen")
    assert module.HIGHEST == 1
