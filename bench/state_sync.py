"""Join by state sync, measured in-process: the time for an empty store to hold a chain.

A source chain on LevelDB holds N credential batches (built as for the restart
figure) under a certified head. A joining node's `StateSync` asks the source's
`StateSnapshots` every question a real join asks (offer, every tree node, every
value), checks every answer, writes into its own empty LevelDB store, then opens
the chain. Answers are handed over as bytes in-process: no sockets, so the
figure is checking and storing, not loopback latency (about one round trip per
2,048 nodes or values on a network).

    python -m bench.state_sync --entries 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine import _certify, _consortium, fill_state
from ledger.blocks import transactions_root
from ledger.chain import Chain
from ledger.identity import MemberId
from node.offer_round import OFFER_WINDOW_MS
from node.state_serve import StateSnapshots
from node.state_sync import Phase, StateSync
from node.validators import ValidatorSets, certifies_by_keys
from storage.kv import LevelDBStore

SOURCE_PEER = b"\x01" * 32
QUESTIONS_MAX = 10_000_000  # a bound on the loop, far above any honest join's count


def _certified_head(chain: Chain, signers: list[Any]) -> None:
    """One empty block on top, with a real certificate (the bulk blocks have none)."""
    execution = chain.build([], MemberId(signers[0].member_id), 0,
                            chain.head_header.time_ms + 1_000)
    assert execution.header.txs_root == transactions_root([])
    chain.commit(execution, _certify(signers, execution.header.height,
                                     execution.header.block_hash))


def state_sync_join(entries: int = 1_000_000) -> dict[str, Any]:
    validators, client, _, genesis = _consortium()
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as name:
        source_kv = LevelDBStore(str(Path(name) / "source.ldb"))
        source = Chain(source_kv, genesis)
        fill_state(source, client, entries)
        _certified_head(source, validators[:3])
        snapshots = StateSnapshots(source_kv, ValidatorSets.for_chain(source).certifies)
        kv = LevelDBStore(str(Path(name) / "joined.ldb"))
        sync = StateSync(genesis, certifies_by_keys(genesis.chain_id))
        questions = answer_bytes = 0
        phase_s: dict[str, float] = {}
        started = phase_started = time.perf_counter()
        cpu_started = time.process_time()
        phase = sync.phase
        now_ms = 0  # the join's clock: only the offer round's window reads it
        while not sync.finished and questions < QUESTIONS_MAX:
            requests, _ = sync.next_requests(now_ms, [SOURCE_PEER])
            if not requests:  # the offer taken waits out its round's window
                now_ms += OFFER_WINDOW_MS
                continue
            (request,) = requests  # one peer: one question at a time
            answer = snapshots.answer(request.payload)
            assert answer is not None
            questions += 1
            answer_bytes += len(answer)
            kv.write(sync.accept(SOURCE_PEER, answer).writes, sync=False)
            if sync.phase is not phase:
                now = time.perf_counter()
                phase_s[phase.value] = now - phase_started
                phase, phase_started = sync.phase, now
        assert sync.phase is Phase.DONE and sync.state is not None
        kv.write(sync.final_writes())
        joined = Chain(kv, genesis)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        assert joined.state.root == source.state.root and joined.height == source.height
        result = {"state_entries": entries, "seconds": elapsed, "cpu_seconds": cpu,
                  "questions": questions,
                  "answer_mib": answer_bytes / 2**20, "tree_nodes": sync.state.nodes_done,
                  "values": sync.state.values_done,
                  "phase_seconds": {k: round(v, 1) for k, v in phase_s.items()}}
        snapshots.close()
        kv.close()
        source_kv.close()
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
    result = state_sync_join(parser.parse_args().entries)
    print(result)
    print("\n".join(render(result)))


if __name__ == "__main__":
    main()
