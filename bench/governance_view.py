"""CPU of `GET /v1/governance` a block, with MAX_OPEN_PROPOSALS open `revoke_credentials`
proposals of MAX_REVOKED_PER_PROPOSAL credentials each (rules version 4): over blocks
that do not touch governance (an anchor each), then over blocks of one vote each (on
another proposal each block, none reaching the threshold of 3 of 4), then over blocks
whose one vote approves a proposal (writing its 256 revocations).

In-process, one LevelDB store: after each block, the answer is asked for as the API asks
(`node.api_chain._governance_answer`, in the thread that calls it here, where the daemon
runs it in the API's verification pool) and its thread CPU is read. The first answer
after the proposals is worked out in full; what the later ones cost is the figure.
`python -m bench.governance_view [--blocks N] [--votes N] [--approvals N]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.engine import _certify
from ledger.chain import Chain
from ledger.genesis import Genesis, GenesisMember
from ledger.governance import MAX_OPEN_PROPOSALS
from ledger.identity import KeyPair, MemberId
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    MemberAction,
    ProposePayload,
    RevokeCredentialsAction,
    VotePayload,
)
from ledger.payloads_consortium import MAX_REVOKED_PER_PROPOSAL
from ledger.transactions import Transaction, build_transaction
from node import api_chain
from storage.batch_tree import audit_paths, tree_root
from storage.kv import LevelDBStore

CHAIN_ID = "senim-bench-governance"
GENESIS_MS = 1_700_000_000_000
BATCH_SIZE = 32  # 256 credentials of 32-leaf batches fit one proposal
PROPOSALS_A_BLOCK = 8  # 8 of ~58 KB, under ledger.blocks.MAX_BLOCK_BYTES
EXPIRES = 90_000  # transactions expire at this height (at most 100,000 blocks ahead)


def _keys(name: str) -> KeyPair:
    return KeyPair.from_seed(name.encode().ljust(32, b"."))


class _Net:
    def __init__(self, folder: Path) -> None:
        self.ministries = [_keys(f"bench-gov-ministry-{i}") for i in range(4)]
        self.university = _keys("bench-gov-university")
        members = [GenesisMember(f"Ministry {i}", "ministry", k.public_key, True)
                   for i, k in enumerate(self.ministries)]
        members.append(GenesisMember("University", "university",
                                     self.university.public_key, False))
        self.kv = LevelDBStore(str(folder / "chain.ldb"))
        self.chain = Chain(self.kv, Genesis(CHAIN_ID, GENESIS_MS, tuple(members),
                                            rules_version=4))

    def tx(self, keys: KeyPair, payload: Any) -> Transaction:
        return build_transaction(keys, CHAIN_ID, payload, EXPIRES)

    def commit(self, txs: list[Transaction]) -> None:
        chain = self.chain
        execution = chain.build(txs, self.ministries[0].member_id, 0,
                                GENESIS_MS + 1_000 * (chain.height + 1), frozenset(
                                    tx.tx_id for tx in txs), b"")
        assert not execution.rejected, execution.rejected[0][1].message
        chain.commit(execution, _certify(self.ministries[:3], chain.height + 1,
                                         execution.header.block_hash))


def revocable_cohort() -> tuple[list[IssueBatchPayload], list[CredentialRef]]:
    """Batches of BATCH_SIZE random credentials, enough for MAX_OPEN_PROPOSALS proposals
    of MAX_REVOKED_PER_PROPOSAL, and a reference to each credential."""
    refs: list[CredentialRef] = []
    issues = []
    for _ in range(MAX_OPEN_PROPOSALS * MAX_REVOKED_PER_PROPOSAL // BATCH_SIZE):
        targets = [os.urandom(32) for _ in range(BATCH_SIZE)]
        root = tree_root(targets)
        refs += [CredentialRef(root, t, i, tuple(p))
                 for i, (t, p) in enumerate(zip(targets, audit_paths(targets), strict=True))]
        issues.append(IssueBatchPayload("diploma", root, BATCH_SIZE))
    return issues, refs


def revoke_proposals(issuer: bytes, refs: list[CredentialRef], effective: int
                     ) -> list[ProposePayload]:
    """MAX_OPEN_PROPOSALS proposals, each revoking its own MAX_REVOKED_PER_PROPOSAL."""
    each = MAX_REVOKED_PER_PROPOSAL
    return [ProposePayload(RevokeCredentialsAction(
        MemberId(issuer), tuple(refs[n * each:(n + 1) * each]), "fraud"), effective,
        effective - 1_000) for n in range(MAX_OPEN_PROPOSALS)]


def _with_proposals(folder: Path) -> tuple[_Net, list[Transaction]]:
    """A university retired with 256 batches of 32 on chain, and 32 proposals revoking
    256 of its credentials each (their transactions)."""
    net = _Net(folder)
    uni, ministries = net.university, net.ministries
    net.commit([net.tx(ministries[0], AccreditPayload(
        uni.member_id, ("diploma",), GENESIS_MS - 1, GENESIS_MS + 10**12))])
    issues, refs = revocable_cohort()
    net.commit([net.tx(uni, issue) for issue in issues])
    retire = ProposePayload(MemberAction(ACTION_RETIRE_MEMBER, uni.member_id),
                            net.chain.height + 6, net.chain.height + 4)
    propose = net.tx(ministries[0], retire)
    net.commit([propose])
    net.commit([net.tx(m, VotePayload(propose.tx_id)) for m in ministries[1:3]])
    while net.chain.height < retire.effective_height:
        net.commit([])
    proposals = [net.tx(ministries[n % 4], payload) for n, payload in enumerate(
        revoke_proposals(uni.member_id, refs, net.chain.height + 50_000))]
    for start in range(0, len(proposals), PROPOSALS_A_BLOCK):
        net.commit(proposals[start:start + PROPOSALS_A_BLOCK])
    return net, proposals


def governance_cpu(blocks: int = 20, votes: int = 20, approvals: int = 4
                   ) -> dict[str, Any]:
    votes = min(votes, MAX_OPEN_PROPOSALS)
    approvals = min(approvals, votes)
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        net, proposals = _with_proposals(Path(folder))
        core = SimpleNamespace(chain=net.chain)
        started = time.thread_time()
        first = api_chain._governance_answer(core)  # type: ignore[arg-type]
        first_s = time.thread_time() - started
        anchors = [_block_cpu(net, core, [net.tx(net.ministries[1], AnchorPayload(
            os.urandom(32)))]) for _ in range(blocks)]
        # A proposal of ministry n % 4 has its vote; another ministry's vote is the second
        # of the 3 needed, a third's approves it.
        voted = [_block_cpu(net, core, [net.tx(net.ministries[(n + 1) % 4], VotePayload(
            proposals[n].tx_id))]) for n in range(votes)]
        approved = [_block_cpu(net, core, [net.tx(net.ministries[(n + 2) % 4], VotePayload(
            proposals[n].tx_id))]) for n in range(approvals)]
        net.kv.close()
    return {"first_ms": first_s * 1e3, "bytes": _size(first),
            "anchor": _summary(anchors), "vote": _summary(voted),
            "approval": _summary(approved)}


def _block_cpu(net: _Net, core: SimpleNamespace, txs: list[Transaction]) -> float:
    """Commit a block of `txs`, then the thread CPU of the answer that follows it."""
    net.commit(txs)
    started = time.thread_time()
    api_chain._governance_answer(core)  # type: ignore[arg-type]
    return time.thread_time() - started


def _summary(each: list[float]) -> dict[str, float]:
    each = sorted(each)
    if not each:
        return {"blocks": 0, "median_ms": 0.0, "max_ms": 0.0, "total_ms": 0.0}
    return {"blocks": len(each), "median_ms": each[len(each) // 2] * 1e3,
            "max_ms": each[-1] * 1e3, "total_ms": sum(each) * 1e3}


def _size(answer: Any) -> int:
    if isinstance(answer, bytes):
        return len(answer)
    return int(getattr(answer, "size", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20, help="blocks of one anchor")
    parser.add_argument("--votes", type=int, default=20,
                        help=f"blocks of one vote, at most {MAX_OPEN_PROPOSALS}")
    parser.add_argument("--approvals", type=int, default=4,
                        help="blocks of one approving vote, at most --votes")
    args = parser.parse_args()
    result = governance_cpu(args.blocks, args.votes, args.approvals)
    print(f"first answer {result['first_ms']:.1f} ms CPU ({result['bytes']:,} bytes); then:")
    for phase, what in (("anchor", "one anchor"), ("vote", "one vote"),
                        ("approval", "one approving vote")):
        each = result[phase]
        print(f"  a block of {what} each, {each['blocks']} blocks: median "
              f"{each['median_ms']:.2f} ms, max {each['max_ms']:.2f} ms, total "
              f"{each['total_ms']:.1f} ms")


if __name__ == "__main__":
    main()
