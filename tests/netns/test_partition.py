"""Partitions between network namespaces: the minority halts, the majority commits, the
healed network converges with no fork and every acknowledged transaction once everywhere.

Needs root and iproute2; skipped with the reason otherwise. Links between
validators take 20-60 ms round trips with 1% loss: by the kernel's netem qdisc
where it exists, otherwise by a delaying relay on the dialling side plus an
nftables drop rule (`nft` from Debian's nftables; without it, delay only).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.attack.netns import NetLab, Validator, get_json, why_unavailable
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.transactions import Transaction, build_transaction

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(240)]

HEALTHY_S = 4.0
PARTITION_S = 12.0
HEALED_S = 4.0
CONVERGE_S = 60.0
COMMIT_WAIT_S = 60.0
TX_EVERY_S = 0.2
MINORITY = [3]
MAJORITY_BLOCKS_MIN = 3  # the majority must commit at least this many blocks while cut off


@pytest.fixture(scope="module")
def netlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetLab]:
    reason = why_unavailable()
    if reason is not None:
        pytest.skip(reason)
    root: Path = tmp_path_factory.mktemp("netns")
    with NetLab(root) as lab:
        print(f"netns links: {lab.describe_links()}")
        yield lab


def submit(v: Validator, tx: Transaction) -> bool:
    """True when the node took the transaction in (202)."""
    body = json.dumps({"tx": tx.encode().hex()}).encode()
    request = urllib.request.Request(v.api + "/v1/transactions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status: int = response.status
            return status == 202
    except (OSError, urllib.error.HTTPError):
        return False


def committed_on(v: Validator, tx: Transaction, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        answer = get_json(f"{v.api}/v1/transactions/{tx.tx_id.hex()}?wait=2", 10)
        if isinstance(answer, dict) and answer.get("status") == "committed":
            return True
        time.sleep(0.2)
    return False


def issue(lab: NetLab, chain_id: str, expires_at: int, n: int) -> Transaction:
    root = hashlib.sha256(os.urandom(8) + n.to_bytes(8, "big")).digest()
    return build_transaction(lab.issuer, chain_id, IssueBatchPayload("certificate", root, 1),
                             expires_at)


def load(lab: NetLab, targets: list[Validator], seconds: float, chain_id: str,
         expires_at: int, sent: list[tuple[Validator, Transaction]]) -> None:
    """One issue transaction every TX_EVERY_S, round-robin over `targets`."""
    until = time.monotonic() + seconds
    n = len(sent)
    while time.monotonic() < until:
        tx = issue(lab, chain_id, expires_at, n)
        target = targets[n % len(targets)]
        if submit(target, tx):
            sent.append((target, tx))
        n += 1
        time.sleep(TX_EVERY_S)


def test_minority_halts_majority_commits_and_healing_converges(netlab: NetLab) -> None:
    lab = netlab
    ministry = lab.validators[0]
    status = get_json(ministry.api + "/v1/status")
    assert isinstance(status, dict)
    chain_id = status["chain_id"]
    now_ms = int(time.time() * 1000)
    accredit = build_transaction(ministry.keys, chain_id, AccreditPayload(
        lab.issuer.member_id, ("certificate",), now_ms - 86_400_000, now_ms + 86_400_000),
        status["height"] + 1000)
    assert submit(ministry, accredit) and committed_on(ministry, accredit, COMMIT_WAIT_S)
    expires_at = status["height"] + 100_000
    sent: list[tuple[Validator, Transaction]] = []

    load(lab, lab.validators, HEALTHY_S, chain_id, expires_at, sent)
    majority = [v for v in lab.validators if v.index not in MINORITY]
    minority = [v for v in lab.validators if v.index in MINORITY]
    lab.partition(MINORITY)
    try:
        time.sleep(2.0)  # let blocks in flight before the cut land
        cut_heights = {v.slug: lab.height(v) for v in lab.validators}
        load(lab, lab.validators, PARTITION_S, chain_id, expires_at, sent)
        during = {v.slug: lab.height(v) for v in lab.validators}
    finally:
        lab.heal()
    for v in minority:
        assert during[v.slug] == cut_heights[v.slug], (
            f"minority {v.slug} committed while cut off: {cut_heights} -> {during}")
    for v in majority:
        grown = (during[v.slug] or 0) - (cut_heights[v.slug] or 0)
        assert grown >= MAJORITY_BLOCKS_MIN, (
            f"majority {v.slug} committed only {grown} blocks while partitioned "
            f"({cut_heights} -> {during})")
    load(lab, lab.validators, HEALED_S, chain_id, expires_at, sent)
    if lab.relayed:  # the delayed links carried the whole run
        assert all(v.relay is not None and v.relay.poll() is None for v in lab.validators)

    # Acknowledged: the node a client sent it to says it committed.
    acknowledged = [tx for v, tx in sent if committed_on(v, tx, COMMIT_WAIT_S)]
    late = len(sent) - len(acknowledged)
    assert late == 0, f"{late} of {len(sent)} accepted transactions never committed"

    deadline = time.monotonic() + CONVERGE_S
    while True:
        heights = [lab.height(v) for v in lab.validators]
        if None not in heights and len(set(heights)) == 1:
            break
        assert time.monotonic() < deadline, f"no convergence after healing: {heights}"
        time.sleep(0.5)
    top = heights[0]
    assert top is not None
    ledgers = {v.slug: lab.blocks(v, top) for v in lab.validators}
    hashes = {slug: [b["hash"] for b in blocks] for slug, blocks in ledgers.items()}
    assert len({tuple(h) for h in hashes.values()}) == 1, "the validators' chains differ: a fork"
    for slug, blocks in ledgers.items():
        counts = Counter(tx["tx_id"] for b in blocks for tx in b["transactions"])
        twice = [tx for tx, c in counts.items() if c > 1]
        assert not twice, f"{slug} holds transactions more than once: {twice[:3]}"
        missing = [tx.tx_id.hex() for tx in acknowledged if counts[tx.tx_id.hex()] != 1]
        assert not missing, f"{slug} lacks {len(missing)} acknowledged transactions"
