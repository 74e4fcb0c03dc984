"""Command-line runner: `scripts/simulate --seeds N [--start S] [--validators 4|7]`.

Without --validators, seeds alternate between n = 4 and n = 7. Prints every
failing seed with the command that reproduces it; exits 1 if any failed.
"""

import argparse
import sys
import time

from tests.sim.simulation import run_seed


def validators_for(seed: int, fixed: int | None) -> int:
    return fixed if fixed is not None else (4 if seed % 2 == 0 else 7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulate", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--validators", type=int, choices=[4, 7], default=None)
    args = parser.parse_args(argv)
    started = time.monotonic()
    failures = 0
    for seed in range(args.start, args.start + args.seeds):
        n = validators_for(seed, args.validators)
        try:
            run_seed(seed, n)
        except AssertionError as failure:
            failures += 1
            print(f"FAILED seed {seed} (n={n}): {failure}", flush=True)
            print(f"  reproduce: scripts/simulate --seeds 1 --start {seed} --validators {n}",
                  flush=True)
    elapsed = time.monotonic() - started
    print(f"{args.seeds} seeds from {args.start}: {failures} failed ({elapsed:.1f}s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
