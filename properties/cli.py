"""The `nfsprop` command: one entry point, one subcommand per job.

Why it lives in properties/: the product is the suite. Two of its jobs (`check`, `replay`)
are the suite's own, and the others are thin doors into the parts the suite is built
from (`serve` and `rpcgen` into reference/, `proxy` into faults/, `mount` into
reference/fuse); properties/ is the one package that may import all three, so the
command line sits at its top beside the package map, not inside an engine.

Rules: every subcommand returns an exit status; user errors are one line on stderr
naming the problem and the fix (exit 2), never a traceback. Subcommands import their
machinery lazily so `nfsprop --help` stays instant (the world registry it reads for
`check`'s defaults is light on purpose).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Callable, Sequence


def _check(args: argparse.Namespace) -> int:
    import dataclasses

    from properties.harness.check import CheckRun, list_checks, run_check
    from properties.harness.profiles import is_derandomized
    from properties.worlds.options import WorldError, WorldFlags
    from properties.worlds.prerun import describe
    from properties.worlds.registry import choose_worlds

    flags = WorldFlags(
        args.world,
        args.target,
        args.target_drc,
        args.restart_cmd,
        args.uid,
        args.gid,
        args.scratch_dir,
    )
    if args.seed is not None and is_derandomized(args.profile):
        print(
            f"nfsprop check: --seed does nothing under --profile {args.profile}, which is "
            "derandomized (every run is the same run): leave it out, or use --profile dev "
            "or thorough to choose the seed",
            file=sys.stderr,
        )
        return 2
    try:
        # a listing never reaches the target: no pre-run check, no DRC probe
        listed = dataclasses.replace(flags, target_drc="yes") if args.list else flags
        options = choose_worlds(listed, prerun=not args.list)
    except WorldError as error:
        print(f"nfsprop check: {error}", file=sys.stderr)
        return 2
    run = CheckRun(
        args.profile,
        args.workers,
        args.k,
        tuple(flags.flags()),  # the user's own words, for the rerun lines
        args.seed,
        args.report,
        args.baseline,
        tuple(args.pytest_args),
        args.max_examples,
        args.budget,
    )
    if args.list:
        return list_checks(run)
    for line in describe(options):  # pytest's own header is not shown under -q
        print(line, flush=True)
    return run_check(run)


def _replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from properties.harness.replay.file import ReplayFileError, failures_dir
    from properties.harness.replay.run import replay_file
    from properties.worlds.replay import ReplayWorldError

    if args.list is not None or args.file is None:
        return _list_replays(Path(args.list) if args.list else failures_dir())
    try:
        replay, outcome = replay_file(Path(args.file))
    except (ReplayFileError, ReplayWorldError) as error:
        print(f"nfsprop replay: {error}", file=sys.stderr)
        return 2
    print(
        f"{replay.property} ({replay.kind}) in world {replay.world}: "
        f"{len(replay.operations)} operations, {len(replay.faults)} fault decisions"
    )
    if outcome.trace_identical is not None:
        same = "identical to" if outcome.trace_identical else "DIFFERENT from"
        print(f"trace: {same} the recorded one")
    verdict = "reproduced" if outcome.reproduced else "not reproduced"
    print(f"{verdict}: {outcome.message}")
    return 1 if outcome.reproduced else 0


def _list_replays(directory: pathlib.Path) -> int:
    from properties.harness.replay.file import listing

    found = listing(directory)
    if not found:
        print(f"no replay files in {directory}")
        return 0
    for listed in found:
        print(listed.path)
        replay = listed.replay
        if replay is None:
            print(f"    unreadable: {listed.problem}")
            continue
        first = replay.failure.splitlines()[0] if replay.failure else ""
        print(
            f"    {replay.property} ({replay.kind}) in {replay.world}, "
            f"{len(replay.operations)} operations: {first[:160]}"
        )
    print(f"{len(found)} replay files; re-run one with: nfsprop replay FILE")
    return 0


def _trace(args: argparse.Namespace) -> int:
    from properties.harness.chart import TraceFileError, chart_of

    try:
        chart = chart_of(pathlib.Path(args.file))
    except TraceFileError as error:
        print(f"nfsprop trace: {error}", file=sys.stderr)
        return 2
    for line in chart.text():
        print(line)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from reference.nfs.server_main import ServeError, ServeOptions, run

    logging.basicConfig(level=logging.WARNING, format="nfsprop serve: %(name)s: %(message)s")
    options = ServeOptions(
        store=None if args.memory else Path(args.store),
        export=args.export,
        port=args.port,
        mount_port=args.mount_port,
        udp=not args.no_udp,
        drc=not args.no_drc,
        root_squash=args.root_squash,
        poll_us=args.poll_us,
    )
    try:
        run(options, lambda url: print(url, flush=True))
    except ServeError as error:
        print(f"nfsprop serve: {error}", file=sys.stderr)
        return 2
    return 0


def _proxy(args: argparse.Namespace) -> int:
    from faults.proxy.standalone import ProxyError, ProxyFlags, options_from_flags, run

    flags = ProxyFlags(
        listen=args.listen,
        to=args.to,
        transport="udp" if args.udp else "tcp",
        drop=args.drop,
        dup=args.dup,
        reorder=args.reorder,
        delay=args.delay,
        delay_rate=args.delay_rate,
        seed=args.seed,
        trace=args.trace,
    )
    try:
        run(options_from_flags(flags), lambda line: print(line, flush=True))
    except ProxyError as error:
        print(f"nfsprop proxy: {error}", file=sys.stderr)
        return 2
    return 0


def _mount(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from reference.fuse.mount import (
        TCP_OPTIONS,
        MountError,
        MountRequest,
        serve,
        serve_in_background,
    )
    from reference.fuse.url import BadNfsUrl, parse_nfs_url

    try:
        url = parse_nfs_url(args.url)
    except BadNfsUrl as error:
        print(f"nfsprop mount: {error}", file=sys.stderr)
        return 2
    if args.actimeo is not None and args.actimeo < 0:
        print("nfsprop mount: --actimeo must be >= 0 seconds", file=sys.stderr)
        return 2
    options = replace(TCP_OPTIONS, noac=args.noac, cto=not args.nocto, actimeo=args.actimeo)
    request = MountRequest(url, Path(args.mountpoint), options)
    if not args.foreground:
        return serve_in_background(request)
    try:
        serve(request, lambda: print(f"mounted {args.url} on {args.mountpoint}", flush=True))
    except MountError as error:
        print(f"nfsprop mount: {error}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    from properties.worlds.registry import DEFAULT_WORLDS, world_names
    from reference.fuse.url import EXPECTED_FORM
    from reference.rpc.polling import DEFAULT_POLL_US
    from reference.xdr.cli import add_arguments as add_rpcgen_arguments
    from reference.xdr.cli import run as run_rpcgen

    parser = argparse.ArgumentParser(
        prog="nfsprop",
        description="Property-based and fault-injection conformance suite for ONC RPC / NFS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="run the property suite against the embedded reference stack",
        usage="nfsprop check [options] [-- PYTEST_ARGS]",
        description="Run the property suite and print one line per check. Words after -- go "
        "to pytest as they are: -x, -v, --lf, -m FAMILY (nfs3, rpc, nfs_client, afs, xdr), "
        "--junitxml FILE.",
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
    check.add_argument(
        "--world",
        default=",".join(DEFAULT_WORLDS),
        help=f"comma list of {world_names()} (default: {','.join(DEFAULT_WORLDS)})",
    )
    check.add_argument(
        "--report",
        metavar="DIR",
        help="write DIR/results.json, DIR/junit.xml and DIR/index.html (with a page, sequence "
        "chart and pcap per finding)",
    )
    check.add_argument(
        "--baseline",
        metavar="FILE.toml",
        help="known findings of the foreign servers ([[known]] code, reason): reported as "
        "known, they do not fail the run",
    )
    check.add_argument("--target", metavar="URL", help=EXPECTED_FORM)
    check.add_argument(
        "--target-drc",
        default="yes",
        metavar="yes|no|auto",
        help="does the --target keep a DRC (default: yes; auto: probe it)",
    )
    check.add_argument("--restart-cmd", metavar="CMD", help="restarts the --target server")
    check.add_argument(
        "--uid", default="0", metavar="N", help="AUTH_SYS uid of calls to --target (default 0)"
    )
    check.add_argument(
        "--gid", default="0", metavar="N", help="AUTH_SYS gid of calls to --target (default 0)"
    )
    check.add_argument(
        "--scratch-dir", metavar="NAME", help="work in this directory of the --target's export"
    )
    check.add_argument(
        "--seed",
        metavar="N",
        help="the run's Hypothesis seed (dev and thorough; ci is derandomized and takes none)",
    )
    check.add_argument(
        "--max-examples",
        type=int,
        metavar="N",
        help="at most N examples per property (a bound on the profile and on every test)",
    )
    check.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="a property starts no new example after SECONDS (one that failed is still shrunk)",
    )
    check.add_argument(
        "--list",
        action="store_true",
        help="list the checks (code, family, worlds, title) and run nothing",
    )
    check.set_defaults(run=_check)

    replay = commands.add_parser(
        "replay",
        help="re-run a failing example from its replay file (.nfsprop/failures/*.json)",
        description="Re-run what a replay file recorded, without Hypothesis: the recorded "
        "operations or state-machine steps with the recorded fault decisions, in the recorded "
        "world (simulated runs compare the trace byte for byte; loopback, ganesha and target "
        "runs start or reach a fresh server). Exit status 1: the failure reproduced; 0: it did "
        "not; 2: a bad file, or a world that cannot be built here.",
    )
    replay.add_argument("file", metavar="FILE.json", nargs="?")
    replay.add_argument(
        "--list",
        nargs="?",
        const="",
        metavar="DIR",
        help="list the replay files in DIR (default .nfsprop/failures): each one's "
        "property, world and failure",
    )
    replay.set_defaults(run=_replay)

    trace = commands.add_parser(
        "trace",
        help="print the message sequence chart of a replay file, a proxy trace or a pcap file",
        description="Print a run's messages, one line each (time, from lane -> to lane, what): "
        "a replay file's simulated trace, or the pcap file beside it for a run on real "
        "sockets; a trace `nfsprop proxy --trace` wrote; a pcap file nfsprop wrote.",
    )
    trace.add_argument("file", metavar="FILE")
    trace.set_defaults(run=_trace)

    rpcgen = commands.add_parser("rpcgen", help="compile an RPC language (.x) file to Python")
    add_rpcgen_arguments(rpcgen)
    rpcgen.set_defaults(run=run_rpcgen)

    serve = commands.add_parser(
        "serve",
        help="run the reference NFS server (NFSv3, NFSv2, MOUNT v3, portmapper) on 127.0.0.1",
        description="Serve the reference NFS server on 127.0.0.1 until SIGTERM or Ctrl-C. "
        "Prints the libnfs URL that reaches the export.",
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument(
        "--store",
        default="nfsprop-store.sqlite",
        metavar="PATH.sqlite",
        help="the SQLite store, created if missing (default: ./nfsprop-store.sqlite)",
    )
    where.add_argument(
        "--memory", action="store_true", help="keep everything in memory (lost on exit)"
    )
    serve.add_argument("--export", default="/export", help="the export path (default: /export)")
    serve.add_argument(
        "--port", type=int, default=2049, help="NFS port, TCP and UDP (default 2049; 0: a free one)"
    )
    serve.add_argument(
        "--mount-port",
        type=int,
        metavar="N",
        help="serve MOUNT on its own port (default: the NFS port)",
    )
    serve.add_argument("--no-udp", action="store_true", help="serve TCP only")
    serve.add_argument("--no-drc", action="store_true", help="turn the duplicate request cache off")
    serve.add_argument(
        "--root-squash", action="store_true", help="map uid and gid 0 to nobody (65534)"
    )
    serve.add_argument(
        "--poll-us",
        type=int,
        default=DEFAULT_POLL_US,
        metavar="N",
        help="poll up to N microseconds for the next call before sleeping, while clients call "
        f"that fast (default {DEFAULT_POLL_US}; 0: never poll)",
    )
    serve.set_defaults(run=_serve)

    proxy = commands.add_parser(
        "proxy",
        help="put any RPC client and server under per-message faults (drop, dup, delay, reorder)",
        description="Forward RPC messages between clients and one server, deciding per message "
        "(one UDP datagram, one TCP record) to deliver, drop, duplicate, delay or reorder it, "
        "from a seeded PRNG. Runs until SIGTERM or Ctrl-C; prints where it listens and the seed.",
    )
    proxy.add_argument(
        "--listen", required=True, metavar="[HOST:]PORT", help="where to listen (0: a free port)"
    )
    proxy.add_argument(
        "--to", required=True, metavar="HOST:PORT", help="the server, e.g. 127.0.0.1:2049"
    )
    kind = proxy.add_mutually_exclusive_group(required=True)
    kind.add_argument("--udp", action="store_true", help="one datagram is one message")
    kind.add_argument(
        "--tcp", action="store_true", help="one record (record marking) is one message"
    )
    proxy.add_argument("--drop", default="0", metavar="P", help="drop probability")
    proxy.add_argument("--dup", default="0", metavar="P", help="duplicate probability")
    proxy.add_argument(
        "--reorder",
        default="0",
        metavar="P",
        help="probability of letting later messages pass",
    )
    proxy.add_argument(
        "--delay",
        default="0",
        metavar="MS",
        help="delay messages by up to MS milliseconds (also the spread of duplicates and reorders)",
    )
    proxy.add_argument(
        "--delay-rate",
        metavar="P",
        help="probability of a delay (default with --delay: every message not otherwise faulted)",
    )
    proxy.add_argument("--seed", metavar="N", help="PRNG seed (default: random, printed)")
    proxy.add_argument(
        "--trace", metavar="FILE.json", help="write the trace (simulation format) on exit"
    )
    proxy.set_defaults(run=_proxy)

    mount = commands.add_parser(
        "mount",
        help="mount an NFSv3 export through FUSE with the reference caching client",
        description="Mount URL on MOUNTPOINT through FUSE: ordinary programs then use the "
        "NFSv3 server like a local file system, through the reference client's caches "
        "(close-to-open, attribute cache). Unmount with `fusermount3 -u MOUNTPOINT`, or "
        "SIGTERM/Ctrl-C the --foreground process.",
    )
    mount.add_argument(
        "url", metavar="URL", help=EXPECTED_FORM + " (the URL `nfsprop serve` prints)"
    )
    mount.add_argument("mountpoint", metavar="MOUNTPOINT", help="an existing directory")
    mount.add_argument(
        "--foreground", action="store_true", help="stay in the foreground (default: detach)"
    )
    mount.add_argument(
        "--noac", action="store_true", help="no attribute caching, synchronous writes"
    )
    mount.add_argument(
        "--nocto",
        action="store_true",
        help="no close-to-open (no GETATTR on open, no flush on close)",
    )
    mount.add_argument(
        "--actimeo",
        type=float,
        metavar="N",
        help="attribute cache timeout in seconds for files and directories alike",
    )
    mount.set_defaults(run=_mount)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    passed: list[str] = []
    if "--" in words:  # `nfsprop check [options] -- PYTEST_ARGS`
        at = words.index("--")
        words, passed = words[:at], words[at + 1 :]
    parser = build_parser()
    args = parser.parse_args(words)
    if passed and args.command != "check":
        parser.error(
            f"only `nfsprop check` passes words after -- on (to pytest), not {args.command}"
        )
    args.pytest_args = passed
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
