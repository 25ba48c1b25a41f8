"""`python -m bench [NAME ...]`: run the benchmarks (all, or the named modules)."""

import importlib
import sys

BENCHMARKS = [
    "xdr_codec",
    "rpc_null",
    "sim_calls",
    "proxies",
    "nfs_client",
    "fuse",
    "nfs_server",
    "detection",
]


def main(argv: list[str]) -> None:
    for name in argv or BENCHMARKS:
        if name not in BENCHMARKS:
            sys.exit(f"bench: unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
