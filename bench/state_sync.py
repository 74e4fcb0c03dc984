"""Join by state sync, measured in-process: the time for an empty store to hold a chain.

A source chain on LevelDB holds N credential batches (built as for the restart
figure) under a certified head. A joining node's `StateSync` asks the source's
`StateSnapshots` every question a real join asks (offer, every tree node, every
value), checks every answer, writes into its own empty LevelDB store, then opens
the chain. Answers are handed over as bytes in-process: no sockets, so the
figure is checking and storing, not loopback latency (about one round trip per
2,048 nodes or values on a network).

`--paced-rounds N` joins the same source 3N times in turn: unpaced, and paced as a node
paces a follower and a validator it serves (node.serve_budget: the question waits out
the joiner's debt, then is answered and charged), the wait in the figure.

`paced_by_peers` (`python -m bench.run --only join`) joins one source paced as a
follower, from one peer and then from JOIN_PEERS peers, in the same run. Each peer is a
serving node of its own (a budget of its own, all serving the same snapshot); an
answer comes once its peer's budget allows, the earliest first, the joiner asking each
peer as soon as it has answered. Its time is a join's on a core of its own
(`OwnCoreClock`: the process's CPU time, the budgets' waits added, not slept), which a
busy machine does not stretch; the wall time is given beside it. The peers' serving CPU
is this process's too (on a network it is theirs), so beyond the rates the figure is
one core's for the joiner and its peers together.

    python -m bench.state_sync --entries 1000000
    python -m bench.state_sync --entries 1000000 --paced-rounds 2
"""

from __future__ import annotations

import argparse
import heapq
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.engine import _certify, _consortium, fill_state
from ledger.blocks import transactions_root
from ledger.chain import Chain
from ledger.genesis import Genesis
from ledger.identity import MemberId
from node.offer_round import OFFER_WINDOW_MS
from node.serve_budget import ServeBudget
from node.state_serve import StateSnapshots
from node.state_sync import Phase, StateSync
from node.validators import ValidatorSets, certifies_by_keys
from storage.kv import LevelDBStore

SOURCE_PEER = b"\x01" * 32
JOINER = b"\x7f" * 32  # the key the serving peers' budgets know the joiner by
JOIN_PEERS = 3  # serving peers of `paced_by_peers`: a consortium's validators, say
QUESTIONS_MAX = 10_000_000  # a bound on the loop, far above any honest join's count


def _certified_head(chain: Chain, signers: list[Any]) -> None:
    """One empty block on top, with a real certificate (the bulk blocks have none)."""
    execution = chain.build([], MemberId(signers[0].member_id), 0,
                            chain.head_header.time_ms + 1_000)
    assert execution.header.txs_root == transactions_root([])
    chain.commit(execution, _certify(signers, execution.header.height,
                                     execution.header.block_hash))


@contextmanager
def _source(entries: int) -> Iterator[tuple[Path, Genesis, Chain, StateSnapshots]]:
    """A chain of `entries` credential batches under a certified head, and its snapshots."""
    validators, client, _, genesis = _consortium()
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as name:
        source_kv = LevelDBStore(str(Path(name) / "source.ldb"))
        source = Chain(source_kv, genesis)
        fill_state(source, client, entries)
        _certified_head(source, validators[:3])
        snapshots = StateSnapshots(source_kv, ValidatorSets.for_chain(source).certifies)
        try:
            yield Path(name), genesis, source, snapshots
        finally:
            snapshots.close()
            source_kv.close()


class WallClock:
    """The wall clock: a budget's wait is slept."""

    @staticmethod
    def now() -> float:
        return time.perf_counter()

    @staticmethod
    def wait(seconds: float) -> None:
        time.sleep(seconds)


class OwnCoreClock:
    """The time a join would see with a core of its own: this process's CPU time, plus
    the budgets' waits, which pass at once. On a loaded machine the wall clock runs on
    while the join waits for a core, and the budgets refill meanwhile, so the waits
    shrink and the pacing hides behind the load (BENCHMARKS.md, session 59)."""

    def __init__(self) -> None:
        self._cpu_started = time.process_time()
        self.waited_s = 0.0

    def now(self) -> float:
        return time.process_time() - self._cpu_started + self.waited_s

    def wait(self, seconds: float) -> None:
        self.waited_s += seconds


def state_sync_join(entries: int = 1_000_000) -> dict[str, Any]:
    with _source(entries) as (folder, genesis, source, snapshots):
        return _join(folder / "joined.ldb", entries, genesis, source, snapshots,
                     {SOURCE_PEER: None})


def paced_by_peers(entries: int = 1_000_000) -> list[dict[str, Any]]:
    """One source joined paced as a follower from one peer, then from JOIN_PEERS."""
    results = []
    with _source(entries) as (folder, genesis, source, snapshots):
        for count in (1, JOIN_PEERS):
            clock = OwnCoreClock()
            budgets: dict[bytes, ServeBudget | None] = {
                bytes([index + 1]) * 32: ServeBudget(clock=clock.now)
                for index in range(count)}
            result = _join(folder / f"joined-{count}.ldb", entries, genesis, source,
                           snapshots, budgets, clock)
            results.append({"label": f"paced as a follower, {count} peer(s)", **result})
            print(results[-1], flush=True)
            for path in folder.glob("joined-*"):
                shutil.rmtree(path)
    return results


def paced_joins(entries: int, rounds: int,
                budgets: dict[str, Callable[[], ServeBudget] | None]) -> list[dict[str, Any]]:
    """Join one source `rounds` times with each of `budgets` (None: unpaced), in turn."""
    results = []
    with _source(entries) as (folder, genesis, source, snapshots):
        for round_ in range(rounds):  # a round's joins deleted before the next's
            for path in folder.glob("joined-*"):
                shutil.rmtree(path)
            for label, budget in budgets.items():
                result = _join(folder / f"joined-{round_}-{label}.ldb", entries, genesis, source,
                               snapshots, {SOURCE_PEER: None if budget is None else budget()})
                results.append({"label": label, "round": round_, **result})
                print(results[-1], flush=True)
    return results


def _join(path: Path, entries: int, genesis: Genesis, source: Chain,
          snapshots: StateSnapshots, budgets: dict[bytes, ServeBudget | None],
          clock: WallClock | OwnCoreClock | None = None) -> dict[str, Any]:
    """Join from the peers `budgets` names, each paced by its budget (None: unpaced) on
    `clock` (the wall clock unless given)."""
    clock = clock or WallClock()
    kv = LevelDBStore(str(path))
    sync = StateSync(genesis, certifies_by_keys(genesis.chain_id))
    peers = list(budgets)
    questions = answer_bytes = 0
    paced_s = 0.0
    phase_s: dict[str, float] = {}
    started = phase_started = clock.now()
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    phase = sync.phase
    now_ms = 0  # the join's clock, moved only while nothing is coming: the offer round's
    # window reads it, and the timeouts never fire
    # (when its peer's budget lets it be answered, order asked, peer, question)
    coming: list[tuple[float, int, bytes, bytes]] = []
    while not sync.finished and questions < QUESTIONS_MAX:
        requests, _ = sync.next_requests(now_ms, peers)
        for request in requests:
            budget = budgets[request.peer]
            wait = 0.0 if budget is None else budget.wait_s(JOINER)
            assert wait is not None, "one follower alone is never dropped"
            heapq.heappush(coming, (clock.now() + wait, questions, request.peer,
                                    request.payload))
            questions += 1
        if not coming:  # the offer taken waits out its round's window
            now_ms += OFFER_WINDOW_MS
            continue
        due_s, _, peer, question = heapq.heappop(coming)
        wait = due_s - clock.now()
        if wait > 0:
            clock.wait(wait)
            paced_s += wait
        answer = snapshots.answer(question)
        assert answer is not None
        budget = budgets[peer]
        if budget is not None:
            budget.charge(JOINER, len(answer))
        answer_bytes += len(answer)
        kv.write(sync.accept(peer, answer, now_ms).writes, sync=False)
        if sync.phase is not phase:
            now = clock.now()
            phase_s[phase.value] = now - phase_started
            phase, phase_started = sync.phase, now
    assert sync.phase is Phase.DONE and sync.state is not None
    kv.write(sync.final_writes())
    joined = Chain(kv, genesis)
    elapsed = clock.now() - started
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    assert joined.state.root == source.state.root and joined.height == source.height
    result = {"state_entries": entries, "peers": len(peers), "seconds": elapsed,
              "wall_seconds": wall,
              "cpu_seconds": cpu, "paced_s": paced_s, "questions": questions,
              "answer_mib": answer_bytes / 2**20, "tree_nodes": sync.state.nodes_done,
              "values": sync.state.values_done,
              "phase_seconds": {k: round(v, 1) for k, v in phase_s.items()}}
    kv.close()
    return result


def render(result: dict[str, Any]) -> list[str]:
    return [
        f"| join by state sync with {result['state_entries']:,} credential batches in state "
        f"(offer, {result['tree_nodes']:,} tree nodes and {result['values']:,} values each "
        f"checked against the certified state root, written to LevelDB; "
        f"{result['questions']:,} answers, {result['answer_mib']:,.0f} MiB; in-process) | "
        f"{result['seconds']:,.0f} s ({result['cpu_seconds']:,.0f} s of CPU) | < 5 min |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--paced-rounds", type=int, default=0)
    args = parser.parse_args()
    if args.paced_rounds:
        paced_joins(args.entries, args.paced_rounds, {
            "unpaced": None,
            "paced, a follower": lambda: ServeBudget(clock=time.perf_counter),
            "paced, a validator": lambda: ServeBudget(clock=time.perf_counter,
                                                      is_validator=lambda _key: True)})
        return
    result = state_sync_join(args.entries)
    print(result)
    print("\n".join(render(result)))


if __name__ == "__main__":
    main()
