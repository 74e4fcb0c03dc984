"""CPU per single-credential issue transaction in each ledger stage, by state size.

In-process, one LevelDB store: admission (the daemon's own check of a submission,
`SubmissionChecks._check_many`, for submissions of 500; their signatures checked on
the same thread, where the daemon has them checked in child processes), building the
block that holds them (execution and the new state root), and committing it. The
state is filled first with N credential batches and compacted, as a node that ran a
while would have it, so the figures show what a large state costs each stage. CPU
time, not wall time: it moves far less with the machine's other load.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine import CHAIN_ID, GENESIS_MS, _certify, _consortium, fill_state
from bench.single_node import single_credential_txs
from ledger.chain import Chain
from ledger.errors import TxRejected
from ledger.identity import KeyPair, MemberId
from ledger.payloads import AccreditPayload
from ledger.transactions import Transaction, build_transaction
from node.key_filters import NODE_KEY_FILTER_BITS
from node.signature_workers import check_in_turn
from node.submission_checks import SubmissionChecks
from storage.kv import LevelDBStore

SUBMISSION_TXS = 500


def _commit(chain: Chain, txs: list[Transaction], proposer: MemberId,
            signers: list[KeyPair]) -> None:
    execution = chain.build(txs, proposer, 0, GENESIS_MS + 10**6 + chain.height * 1000,
                            frozenset(tx.tx_id for tx in txs), b"")
    assert not execution.rejected, execution.rejected[0][1].message
    chain.commit(execution, _certify(signers, chain.height + 1, execution.header.block_hash))


class _Admission(SubmissionChecks):
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.chain_id = CHAIN_ID
        self.check_signatures = check_in_turn


def _admit(chain: Chain, encoded: list[bytes]) -> None:
    admission = _Admission(chain)
    for offset in range(0, len(encoded), SUBMISSION_TXS):
        outcomes, _ = admission._check_many(encoded[offset:offset + SUBMISSION_TXS])
        refused = [o for o in outcomes if isinstance(o, TxRejected)]
        assert not refused, refused[0].message


def accredited_chain(kv: LevelDBStore) -> tuple[Chain, list[KeyPair], KeyPair]:
    """A new chain on `kv`, its validators, and a client accredited in block 1 to issue
    certificates: where the in-process ledger benches start. Its key filters are a node's,
    filled, as a node fills them beside itself (node.key_filters)."""
    validators, client, _, genesis = _consortium()
    chain = Chain(kv, genesis, key_filter_bits=NODE_KEY_FILTER_BITS)
    chain.fill_key_filters()
    accredit = build_transaction(validators[0], CHAIN_ID, AccreditPayload(
        client.member_id, ("certificate",), GENESIS_MS - 1, GENESIS_MS + 10**12), 10)
    _commit(chain, [accredit], validators[1].member_id, validators[:3])
    return chain, validators, client


def ledger_costs(entries: int, txs: int = 5_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        kv = LevelDBStore(str(Path(folder) / "chain.ldb"))
        chain, validators, client = accredited_chain(kv)
        if entries:
            fill_state(chain, client, entries)
        batch = single_credential_txs(client, CHAIN_ID, txs, chain.height + 100)
        started = time.process_time()
        _admit(chain, [tx.encode() for tx in batch])
        admitted = time.process_time()
        execution = chain.build(batch, validators[1].member_id, 0,
                                GENESIS_MS + 10**6 + chain.height * 1000,
                                frozenset(tx.tx_id for tx in batch), b"")
        assert not execution.rejected
        built = time.process_time()
        chain.commit(execution, _certify(validators[:3], chain.height + 1,
                                         execution.header.block_hash))
        committed = time.process_time()
        kv.close()
    return {"entries": entries, "txs": txs,
            "admission_us": (admitted - started) / txs * 1e6,
            "build_us": (built - admitted) / txs * 1e6,
            "commit_us": (committed - built) / txs * 1e6}


def render(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["CPU per single-credential issue transaction in each ledger stage "
             "(in-process, `scripts/bench --only ledger-costs`; a block of "
             f"{rows[0]['txs']:,}):", "",
             "| credential batches in state | admission | block build | commit |",
             "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['entries']:,} | {row['admission_us']:,.0f} µs | "
                     f"{row['build_us']:,.0f} µs | {row['commit_us']:,.0f} µs |")
    return lines
