"""The caching NFS client: how fast the multi-client convergence machine simulates, and
what the caches save on a read-mostly workload.

Rules: everything runs in the simulation world (virtual time, one process), so the
cache figures are exact counts, the same on every machine; only the steps-per-second
figure is wall-clock (best of a few runs). Programs and workloads come from seeded PRNGs:
the same figures every run.
- Machine speed: random programs of the property suite (3 clients, faults and crashes on,
  every check run), program steps per wall-clock second.
- Read-mostly workload: 3 clients, 4 files of 8 KiB, one operation every 0.5 virtual
  seconds, 90% reads (open-read-close, a read through a file kept open, a stat) and 10%
  whole-file rewrites; NFS RPCs counted per mount option set, against `noac`.
"""

from __future__ import annotations

import os
import random
from dataclasses import replace

from bench.table import best_rate, print_table
from faults.sim import NoFaults, SeededFaults
from properties.nfs_client.scenario import (
    FILES,
    Crash,
    ListDir,
    ReadFile,
    ReadHeld,
    Remove,
    Sleep,
    Step,
    WriteAt,
    WriteFile,
    check_bounded_staleness,
    check_close_to_open,
    check_convergence,
    check_durability,
    run_program,
)
from properties.nfs_client.world import SIM_MOUNT, ClientWorld
from reference.client import MountOptions, NfsClient, OpenFile

PROGRAMS = 40
PROGRAM_STEPS = 20
CLIENTS = 3
WORKLOAD_FILES = ("f0", "f1", "f2", "f3")
WORKLOAD_OPERATIONS = 1200
FILE_SIZE = 8192
TICK = 0.5


def random_program(rng: random.Random) -> list[Step]:
    program: list[Step] = []
    for _ in range(PROGRAM_STEPS):
        client, name = rng.randrange(CLIENTS), rng.choice(FILES)
        choices: list[Step] = [
            WriteFile(client, name, rng.choice([5, 300, 4100])),
            WriteAt(client, name, rng.choice([0, 2, 4094]), rng.choice([3, 9])),
            ReadFile(client, name),
            ReadHeld(client, name),
            ListDir(client),
            Remove(client, name),
            Sleep(rng.choice([0.5, 3.5, 31.0, 61.0])),
            Crash(rng.randrange(5)),
        ]
        program.append(rng.choice(choices))
    return program


def machine_steps() -> int:
    rng = random.Random(2049)
    for seed in range(PROGRAMS):
        run = run_program(random_program(rng), SeededFaults(seed), clients=CLIENTS)
        check_close_to_open(run)
        check_bounded_staleness(run)
        check_convergence(run)
        check_durability(run)
    return PROGRAMS * PROGRAM_STEPS


async def _operation(
    client: NfsClient, held: dict[str, OpenFile], rng: random.Random, stamp: int
) -> None:
    name = rng.choice(WORKLOAD_FILES)
    roll = rng.random()
    if roll < 0.1:
        file = await client.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        await client.write(file, stamp.to_bytes(4, "big") * (FILE_SIZE // 4))
        await client.close(file)
    elif roll < 0.4:
        file = await client.open(name)
        await client.read(file, FILE_SIZE, 0)
        await client.close(file)
    elif roll < 0.7:
        if name not in held:
            held[name] = await client.open(name)
        await client.read(held[name], FILE_SIZE, 0)
    else:
        await client.stat(name)


def read_mostly(options: MountOptions) -> tuple[int, float]:
    """NFS RPCs of the workload (after the files exist) and the clients' cache hit ratio."""
    world = ClientWorld(NoFaults(), [options] * CLIENTS)
    first = world.client(0)

    async def create() -> None:
        for name in WORKLOAD_FILES:
            file = await first.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            await first.write(file, bytes(FILE_SIZE))
            await first.close(file)

    world.run(0, create())
    clients = [world.client(index) for index in range(CLIENTS)]
    before = sum(client.rpc.total for client in clients)
    rng = random.Random(7)
    held: list[dict[str, OpenFile]] = [{} for _ in clients]
    for stamp in range(WORKLOAD_OPERATIONS):
        index = rng.randrange(CLIENTS)
        world.run(index, _operation(clients[index], held[index], rng, stamp))
        world.advance(TICK)
    rpcs = sum(client.rpc.total for client in clients) - before
    hits = sum(client.stats.hits for client in clients)
    misses = sum(client.stats.misses for client in clients)
    return rpcs, hits / (hits + misses) if hits + misses else 0.0


def main() -> None:
    rate = best_rate(machine_steps, repeats=3)
    print_table(
        "Multi-client convergence machine (3 clients, faults + crashes, all four checks)",
        ["measure", "program steps/s", "programs", "steps each"],
        [["simulation", rate, PROGRAMS, PROGRAM_STEPS]],
    )
    baseline, _ = read_mostly(replace(SIM_MOUNT, noac=True))
    rows: list[list[object]] = []
    for label, options in [
        ("default (cto, ac 3-60 s)", SIM_MOUNT),
        ("actimeo=1", replace(SIM_MOUNT, actimeo=1.0)),
        ("noac", replace(SIM_MOUNT, noac=True)),
    ]:
        rpcs, ratio = read_mostly(options)
        rows.append([label, rpcs, f"{ratio:.1%}", f"{1 - rpcs / baseline:.1%}"])
    print_table(
        f"Read-mostly workload ({WORKLOAD_OPERATIONS} operations, {CLIENTS} clients, "
        f"90% reads, one every {TICK} s): NFS RPCs against noac",
        ["mount options", "RPCs", "cache hit ratio", "RPCs saved vs noac"],
        rows,
    )
