"""How fast a registrar's batch is hashed (records in; target hashes, tree and root out),
in one process and through cli.parallel_hashing's workers. Not a scripts/bench section:
a before/after tool, so it runs against any checkout on PYTHONPATH (an older one
without cli/parallel_hashing.py is timed in one process only).

    python -m bench.issue_hashing [--records 40000] [--repeats 5]
    valgrind --tool=callgrind python -m bench.issue_hashing --subject build|hash

Under callgrind, (instructions of `hash` - instructions of `build`) / records is the
cost per record, repeatable on a shared machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from collections.abc import Callable
from typing import Any

from bench.registrar_exports import diploma_rows
from ledger import credentials

ISSUER = bytes(20)
CHAIN_ID = "senim-bench"
REPEATS_MAX = 50


def diplomas(count: int) -> list[dict[str, str]]:
    """Diplomas as the registrar reader gives them (empty cells left out)."""
    return [{name: value for name, value in row.items() if value}
            for row in diploma_rows(count)]


def single(records: list[dict[str, str]]) -> tuple[credentials.IssuedBatch, int]:
    # make_batch: what one process does with a batch in every checkout (record by record
    # through BatchBuilder.add before s16, in runs of one shape since)
    return credentials.make_batch(records, "diploma", CHAIN_ID, ISSUER, "Bench University"), 0


def pooled(records: list[dict[str, str]]) -> tuple[credentials.IssuedBatch, int]:
    from cli.parallel_hashing import PooledBatchBuilder  # absent from older checkouts
    with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "Bench University",
                            free_cores=lambda: float("inf")) as builder:
        for record in records:
            builder.add(record)
        return builder.finish(), builder.workers_used


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(records: list[dict[str, str]], repeats: int,
            path: Callable[[list[dict[str, str]]], tuple[credentials.IssuedBatch, int]]
            ) -> dict[str, Any]:
    walls, cpus, workers_cpu = [], [], []
    workers = 0
    for _ in range(max(1, min(repeats, REPEATS_MAX))):
        gc.collect()
        cpu, children, started = time.process_time(), _children_cpu_s(), time.perf_counter()
        batch, workers = path(records)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        workers_cpu.append(_children_cpu_s() - children)
        assert len(batch.target_hashes) == len(records)
    best = min(walls)
    return {"workers": workers, "best_ms": round(best * 1000),
            "median_ms": round(sorted(walls)[len(walls) // 2] * 1000),
            "per_s": round(len(records) / best), "cpu_ms": round(min(cpus) * 1000),
            "workers_cpu_ms": round(min(workers_cpu) * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--subject", choices=("build", "hash"),
                        help="for callgrind: build the records, and with hash hash them once")
    args = parser.parse_args()
    records = diplomas(args.records)
    if args.subject is not None:
        if args.subject == "hash":
            single(records)
        return
    result: dict[str, Any] = {"ledger": credentials.__file__, "records": args.records,
                              "single": measure(records, args.repeats, single)}
    try:
        result["pooled"] = measure(records, args.repeats, pooled)
    except ImportError:
        result["pooled"] = None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
