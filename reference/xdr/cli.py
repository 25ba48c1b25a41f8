"""`nfsprop rpcgen SPEC.x -o OUT.py [-D NAME=VALUE] [-I DIR] [--include FILE]`: compile one
RPC language file to a Python module.

Rules: the options are rpcgen's (and its cpp's): `-D` defines a macro, `-I` adds a
directory `#include` searches, `--include` reads a file first (cpp's `-include`), so the
constants and types a .x file leaves to its C headers can be given. Errors in the spec,
the flags or the paths are one line on stderr naming the problem (file:line:column for
the spec) and exit status 2; never a traceback. A file that is not UTF-8 is read as
Latin-1, and a line on stderr says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference.xdr.preprocess import PreprocessOptions, parse_define, read_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC.x")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.py")
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="define a macro, as cpp does (VALUE 1 if left out); e.g. -D MAXNETNAMELEN=255",
    )
    parser.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory #include searches (after the including file's own)",
    )
    parser.add_argument(
        "--include",
        dest="includes",
        action="append",
        default=[],
        metavar="FILE",
        help='read FILE before SPEC.x, as cpp\'s -include (found like #include "FILE")',
    )


def run(args: argparse.Namespace) -> int:
    from reference.xdr.compiler import compile_spec  # lark: not for `nfsprop --help`
    from reference.xdr.parser import XdrSpecError

    spec = Path(args.spec)
    try:
        defines = dict(parse_define(flag) for flag in args.defines)
    except ValueError as error:
        print(f"nfsprop rpcgen: {error}", file=sys.stderr)
        return 2
    options = PreprocessOptions(
        defines, tuple(Path(d) for d in args.include_dirs), tuple(args.includes)
    )
    try:
        text, latin1 = read_spec(spec)
    except OSError as error:
        print(f"nfsprop rpcgen: cannot read {spec}: {error.strerror}", file=sys.stderr)
        return 2
    if latin1:
        print(f"nfsprop rpcgen: {spec} is not UTF-8; read as Latin-1", file=sys.stderr)
    try:
        module = compile_spec(text, str(spec), options)
    except XdrSpecError as error:
        print(f"nfsprop rpcgen: {error}", file=sys.stderr)
        return 2
    try:
        Path(args.output).write_text(module)
    except OSError as error:
        print(f"nfsprop rpcgen: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 2
    return 0
