"""The `nfsprop` command: one entry point, one subcommand per job.

Rules: every subcommand returns an exit status; user errors are one line on stderr
naming the problem and the fix (exit 2), never a traceback. Subcommands import their
machinery lazily so `nfsprop --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _check(args: argparse.Namespace) -> int:
    from properties.check import run_check

    return run_check(profile=args.profile, workers=args.workers, select=args.k)


def _rpcgen(args: argparse.Namespace) -> int:
    from reference.xdr.cli import rpcgen_main

    return rpcgen_main([args.spec, "-o", args.output])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfsprop",
        description="Property-based and fault-injection conformance suite for ONC RPC / NFS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="run the property suite against the embedded reference stack"
    )
    check.add_argument(
        "--profile",
        default="ci",
        choices=["dev", "ci", "thorough"],
        help="Hypothesis profile (default: ci, derandomized)",
    )
    check.add_argument(
        "--workers", default="auto", help="pytest-xdist workers: a number, or auto (default)"
    )
    check.add_argument(
        "-k", metavar="EXPR", help="only properties matching this pytest -k expression"
    )
    check.set_defaults(run=_check)

    rpcgen = commands.add_parser("rpcgen", help="compile an RPC language (.x) file to Python")
    rpcgen.add_argument("spec", metavar="SPEC.x")
    rpcgen.add_argument("-o", "--output", required=True, metavar="OUT.py")
    rpcgen.set_defaults(run=_rpcgen)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
