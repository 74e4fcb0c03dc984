"""Micro benchmark of the state tree on LevelDB.

    python scripts/bench_state.py --entries 100000 --changes 10000

Loads `entries` keys in blocks, reopens the tree (cold cache), then times
rounds of `changes` changed keys (half updates, half inserts): overlay root,
commit (building the writes), the LevelDB write, and committed, as wall time
and as this thread's CPU time (which leaves out LevelDB's background
compaction and anything else running on the machine). Then times `prove` and
reports the encoded proof size.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.kv import LevelDBStore
from storage.state_tree import StateTree, encode_state_proof, verify_state_proof

LOAD_BLOCK_KEYS = 50_000
PREFIX = b"s/"


def _key(index: int) -> bytes:
    return b"cred/" + index.to_bytes(8, "big")


def _apply(tree: StateTree, store: LevelDBStore, changes: dict[bytes, bytes]) -> dict[str, float]:
    cpu_started = time.thread_time()
    started = time.perf_counter()
    overlay = tree.overlay()
    for key, value in changes.items():
        overlay.set(key, value)
    staged = time.perf_counter()
    overlay.root()
    rooted = time.perf_counter()
    writes = tree.commit(overlay)
    built = time.perf_counter()
    store.write(writes)
    written = time.perf_counter()
    tree.committed(overlay)
    done = time.perf_counter()
    return {
        "stage_s": staged - started,
        "root_s": rooted - staged,
        "commit_s": built - rooted,
        "kv_write_s": written - built,
        "committed_s": done - written,
        "total_s": done - started,
        # this thread only: leaves out LevelDB's background compaction and other processes
        "total_cpu_s": time.thread_time() - cpu_started,
        "writes": float(len(writes)),
    }


def _load(tree: StateTree, store: LevelDBStore, entries: int, rng: random.Random) -> float:
    started = time.perf_counter()
    for first in range(0, entries, LOAD_BLOCK_KEYS):
        last = min(first + LOAD_BLOCK_KEYS, entries)
        _apply(tree, store, {_key(i): rng.randbytes(40) for i in range(first, last)})
    return time.perf_counter() - started


def _bench_rounds(
    tree: StateTree,
    store: LevelDBStore,
    entries: int,
    changes: int,
    rounds: int,
    rng: random.Random,
) -> None:
    next_key = entries
    for round_index in range(rounds):
        batch = {_key(rng.randrange(next_key)): rng.randbytes(40) for _ in range(changes // 2)}
        for _ in range(changes - len(batch)):
            batch[_key(next_key)] = rng.randbytes(40)
            next_key += 1
        timing = _apply(tree, store, batch)
        label = "cold cache" if round_index == 0 else "warm cache"
        print(
            f"  round {round_index} ({label}): {len(batch)} keys  "
            + "  ".join(f"{name}={value:.3f}" for name, value in timing.items() if name != "writes")
            + f"  kv_writes={int(timing['writes'])}"
        )


def _bench_proofs(tree: StateTree, entries: int, samples: int, rng: random.Random) -> None:
    keys = [_key(rng.randrange(entries)) for _ in range(samples // 2)]
    keys += [b"absent/" + rng.randbytes(8) for _ in range(samples - len(keys))]
    for key in keys[:50]:  # warm up the path into the cache the way a serving node would be
        tree.prove(key)
    durations, sizes, depths = [], [], []
    cpu_started = time.thread_time()
    for key in keys:
        started = time.perf_counter()
        proof = tree.prove(key)
        durations.append(time.perf_counter() - started)
        sizes.append(len(encode_state_proof(proof)))
        depths.append(proof.depth)
    cpu_per_proof = (time.thread_time() - cpu_started) / len(keys)  # includes encoding
    root = tree.root
    assert all(verify_state_proof(root, key, tree.get(key), tree.prove(key)) for key in keys[:100])
    print(
        f"  prove: mean {statistics.mean(durations) * 1e6:.0f} us wall, "
        f"{cpu_per_proof * 1e6:.0f} us cpu with encoding, "
        f"p99 {sorted(durations)[int(len(durations) * 0.99)] * 1e6:.0f} us wall; "
        f"encoded size mean {statistics.mean(sizes):.0f} B, max {max(sizes)} B; "
        f"depth mean {statistics.mean(depths):.1f}, max {max(depths)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--cache", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as directory:
        store = LevelDBStore(directory)
        tree = StateTree(store, PREFIX, cache_nodes_max=args.cache)
        load_s = _load(tree, store, args.entries, rng)
        print(f"entries={args.entries} loaded in {load_s:.1f} s (blocks of {LOAD_BLOCK_KEYS})")
        tree = StateTree(store, PREFIX, cache_nodes_max=args.cache)  # reopen: cold cache
        _bench_rounds(tree, store, args.entries, args.changes, args.rounds, rng)
        _bench_proofs(tree, args.entries, args.proofs, rng)
        store.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB (includes the load phase)")


if __name__ == "__main__":
    main()
