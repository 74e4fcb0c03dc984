"""Command-line runner: `scripts/simulate --seeds N [--start S] [--validators N] [--replica-only]`.

By default it runs the node simulator (the real engine and ledger); seeds
alternate between n = 4 and n = 7 unless --validators is given.
`--replica-only` runs the consensus-only simulator with toy blocks instead.
`--set-changes` runs the node simulator across governance validator-set changes
(n genesis validators, a fifth voted in and one voted out).
`--cost` runs fault-free consortia and prints consensus frames per committed block.
Prints every failing seed with the command that reproduces it; exits 1 if any failed.
"""

import argparse
import logging
import multiprocessing
import os
import sys
import time
import traceback

from tests.sim.node_sim import NodeSimulation
from tests.sim.set_change_sim import SetChangeSimulation
from tests.sim.simulation import run_seed


def validators_for(seed: int, fixed: int | None) -> int:
    return fixed if fixed is not None else (4 if seed % 2 == 0 else 7)


def message_cost(sizes: list[int]) -> int:
    for n in sizes:
        result = NodeSimulation(0, n, liveness_ticks=20_000, faults=False).run()
        print(f"n={n}: {result.consensus_frames / max(1, result.heights):.1f} consensus "
              f"frames per committed block ({result.heights} blocks)", flush=True)
    return 0


def _run_one(job: tuple[int, int, str]) -> tuple[int, int, str | None]:
    seed, n, kind = job
    logging.disable(logging.CRITICAL)
    try:
        if kind == "replica":
            run_seed(seed, n)
        elif kind == "set-changes":
            SetChangeSimulation(seed, n).run()
        else:
            NodeSimulation(seed, n).run()
    except AssertionError as failure:  # a bare assert says where, at least
        where = traceback.extract_tb(failure.__traceback__)[-1]
        return seed, n, str(failure) or f"assertion failed at {where.filename}:{where.lineno}"
    return seed, n, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulate", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--validators", type=int, default=None)
    parser.add_argument("--replica-only", action="store_true")
    parser.add_argument("--set-changes", action="store_true")
    parser.add_argument("--cost", type=int, nargs="*", metavar="N")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (seeds are independent)")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    if args.cost is not None:
        return message_cost(args.cost or [4, 7, 10, 16, 31])
    started = time.monotonic()
    failures = 0
    kind = ("replica" if args.replica_only else "set-changes" if args.set_changes
            else "node")
    jobs = [(seed, validators_for(seed, args.validators), kind)
            for seed in range(args.start, args.start + args.seeds)]
    with multiprocessing.Pool(args.jobs) as pool:
        for seed, n, failure in pool.imap_unordered(_run_one, jobs, chunksize=4):
            if failure is None:
                continue
            failures += 1
            flag = {"replica": " --replica-only", "set-changes": " --set-changes"}.get(kind, "")
            print(f"FAILED seed {seed} (n={n}): {failure}", flush=True)
            print(f"  reproduce: scripts/simulate --seeds 1 --start {seed} --validators {n}"
                  f"{flag}", flush=True)
    elapsed = time.monotonic() - started
    print(f"{args.seeds} seeds from {args.start}: {failures} failed ({elapsed:.1f}s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
