"""`nfsprop rpcgen SPEC.x -o OUT.py`: compile one RPC language file to a Python module.

Rules: errors in the spec or in the paths are one line on stderr naming the problem
(file:line:column for the spec) and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from reference.xdr.compiler import compile_spec
from reference.xdr.parser import XdrSpecError


def rpcgen_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="nfsprop rpcgen")
    parser.add_argument("spec", metavar="SPEC.x")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.py")
    args = parser.parse_args(list(argv))
    spec = Path(args.spec)
    try:
        text = spec.read_text()
    except OSError as error:
        print(f"nfsprop rpcgen: cannot read {spec}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        module = compile_spec(text, str(spec))
    except XdrSpecError as error:
        print(f"nfsprop rpcgen: {error}", file=sys.stderr)
        return 2
    try:
        Path(args.output).write_text(module)
    except OSError as error:
        print(f"nfsprop rpcgen: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 2
    return 0
