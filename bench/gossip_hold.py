"""How long one transaction-gossip frame holds the event loop, and its CPU per transaction.

In-process: a node's core on an in-memory store (the university accredited), its
Network's gossip handler fed frames of N single-credential issue transactions, as a
validator peer sends them. Signature checks are answered "good" without checking (the
daemon's are in child processes; the same for every frame size and version), so the CPU
is the path's own: the loop's share (thread CPU of the loop thread) and the process's
(the loop and the admission pool). Each step of the loop is timed by its thread CPU
(another process's load does not count); a step in which a GC ran is counted apart.
Run it in two checkouts, alternated, to compare them:

    python -m bench.gossip_hold [--rounds 5] [--total] 1 500 5000 20000

`--total`: 20,000 transactions a round (`--txs`), sent as frames of N (per-frame costs show).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from asyncio import events
from collections.abc import Callable, Sequence
from typing import Any

from bench.single_node import single_credential_txs
from ledger.codec import encode
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.network import Network
from node.service import NodeCore
from node.signature_workers import InTurn
from node.validators import SignatureCheck
from storage.kv import MemoryStore
from tests.e2e.harness import free_port
from tests.node.conftest import accredit, commit, make_consortium
from tests.node.test_state_join import config_for

TOTAL_TXS = 20_000
EXPIRES_AT = 1_000


class AllGood(InTurn):
    """Every signature answered good, unchecked."""

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        return [True] * len(checks)


class StepClock:
    """The thread CPU of each step the event loop runs (`Handle._run`), GC steps apart."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.gc_steps: list[float] = []
        self._collected = False
        gc.callbacks.append(self._on_gc)
        self._run: Callable[[events.Handle], None] = events.Handle._run

        def timed(handle: events.Handle) -> None:
            self._collected = False
            start = time.thread_time()
            self._run(handle)
            took = time.thread_time() - start
            (self.gc_steps if self._collected else self.steps).append(took)

        events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        self._collected = True

    def clear(self) -> None:
        self.steps.clear()
        self.gc_steps.clear()


async def measure(sizes: list[int], rounds: int, total: int) -> None:
    net = make_consortium()
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(10_000_000, 1 << 34, 10_000_000), NodeMetrics())
    core.check_signatures = AllGood()
    commit(core.chain, [accredit(net, net.university, ["certificate"])])
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as node/daemon.py
    receive = Network(config_for("bench", free_port(), []), net.genesis,
                      net.ministry).receive_gossip_into(core)
    clock = StepClock()
    try:
        for size in sizes:
            count = max(size, total) if total else size
            holds, gc_holds, process_us, loop_us = [], [], [], []
            for _ in range(rounds):
                txs = single_credential_txs(net.university, net.genesis.chain_id, count,
                                            EXPIRES_AT)
                frames = [encode([tx.encode() for tx in txs[start:start + size]])
                          for start in range(0, count, size)]
                await asyncio.sleep(0)  # the frames were made in this step: end it
                clock.clear()
                process, thread = time.process_time(), time.thread_time()
                for frame in frames:
                    await receive(net.ministry.public_key, frame)
                process_us.append((time.process_time() - process) / count * 1e6)
                loop_us.append((time.thread_time() - thread) / count * 1e6)
                holds.append(max(clock.steps))
                gc_holds.append(max(clock.gc_steps, default=0.0))
                assert all(tx.tx_id in core.mempool for tx in (txs[0], txs[-1]))
                core.mempool.remove([tx.tx_id for tx in txs])
            print(f"frames of {size:6,d} ({count:,d} txs a round): longest step "
                  f"{' '.join(f'{h * 1e3:.3f}' for h in holds)} ms (with a GC: "
                  f"{' '.join(f'{h * 1e3:.1f}' for h in gc_holds)}); CPU per tx: process "
                  f"{' '.join(f'{u:.2f}' for u in process_us)} us, loop "
                  f"{' '.join(f'{u:.2f}' for u in loop_us)} us", flush=True)
    finally:
        core.worker.shutdown(wait=True)
        core.public_work.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1, 500, 5_000, 20_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--total", action="store_true")
    parser.add_argument("--txs", type=int, default=TOTAL_TXS)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.sizes, arguments.rounds,
                        arguments.txs if arguments.total else 0))


if __name__ == "__main__":
    main()
