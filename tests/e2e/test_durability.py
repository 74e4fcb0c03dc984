"""Committed blocks survive kill -9 at any moment: a real node under load, killed and restarted.

A loader thread submits single-credential issue_batch transactions over HTTP in
batches and records every transaction the node REPORTS committed, with its
height. The node is SIGKILLed at a seeded random moment, restarted on the same
data dir, and everything it reported must still be there. Finally the head's
state root must equal the root recomputed by re-executing every block from
genesis in a fresh in-memory chain.
"""

from __future__ import annotations

import json
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledger.blocks import decode_block
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.transactions import build_transaction
from node.validators import ValidatorSet
from storage.kv import LevelDBStore, MemoryStore
from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

SEED = 20260630
KILL_CYCLES = 3
TXS_PER_REQUEST = 25
MAX_IN_FLIGHT = 400
LOADER_DEADLINE_S = 30.0
MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           Member("enu", "ENU", "university")]


@dataclass
class Ledger:
    """What the node told us: tx id -> height, and the highest height it reported."""

    committed: dict[str, int] = field(default_factory=dict)
    max_height: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, tx_id: str, height: int) -> None:
        with self.lock:
            previous = self.committed.setdefault(tx_id, height)
            assert previous == height, f"{tx_id} reported at {previous} and {height}"
            self.max_height = max(self.max_height, height)

    def count(self) -> int:
        with self.lock:
            return len(self.committed)

    def snapshot(self) -> tuple[dict[str, int], int]:
        with self.lock:
            return dict(self.committed), self.max_height


class Loader:
    """Keep the node busy: one thread submits batches, another waits for their outcome.

    Submitting never waits for commits (at most MAX_IN_FLIGHT ids queued), so the
    node is executing, committing and admitting at once when it is killed. Both
    threads end when stopped, when the node dies, or at LOADER_DEADLINE_S.
    """

    def __init__(self, node: NodeProcess, keys: KeyPair, chain_id: str, ledger: Ledger) -> None:
        self.node, self.keys, self.chain_id, self.ledger = node, keys, chain_id, ledger
        self.stop_event = threading.Event()
        self.pending: queue.Queue[str] = queue.Queue(maxsize=MAX_IN_FLIGHT)
        self.deadline = time.monotonic() + LOADER_DEADLINE_S
        self.submitted = 0
        self.ended_by: list[str] = []
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._guard, args=(loop,), daemon=True,
                                         name=f"senim-{loop.__name__}")
                        for loop in (self._submit_loop, self._watch_loop)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self.threads)

    def stop(self, timeout_s: float = 15.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "loader threads did not finish"

    def _running(self) -> bool:
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
            self.ended_by.append(f"{loop.__name__}: stopped")
        except OSError as exc:  # the node was killed: connection refused/reset
            self.ended_by.append(f"{loop.__name__}: node gone ({type(exc).__name__})")
        except Exception as exc:
            self.unexpected.append(f"{loop.__name__}: {exc!r}")
        finally:
            self.stop_event.set()  # one side gone: the other stops too

    def _submit_loop(self) -> None:
        while self._running():
            height = self.node.status(timeout_s=5)["height"]
            txs = [build_transaction(self.keys, self.chain_id,
                                     IssueBatchPayload("diploma", os.urandom(32), 1), height + 1000)
                   for _ in range(TXS_PER_REQUEST)]
            status, answer = self.node.post_json(
                "/v1/transactions", {"txs": [tx.encode().hex() for tx in txs]})
            if status not in (202, 400):
                self.unexpected.append(f"submit answered {status}: {answer}")
                return
            for result in answer["results"]:
                if result["status"] != "pending":
                    continue  # refused at admission (e.g. mempool full): never reported
                self.submitted += 1
                while self._running():
                    try:
                        self.pending.put(result["tx_id"], timeout=0.2)
                        break
                    except queue.Full:
                        continue

    def _watch_loop(self) -> None:
        while self._running():
            try:
                tx_id = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            result = self.node.get_json(f"/v1/transactions/{tx_id}?wait=5", timeout_s=10)
            if result["status"] == "committed":
                self.ledger.record(tx_id, int(result["height"]))
            elif result["status"] != "pending":
                self.unexpected.append(f"{tx_id}: {result}")


def check_reported_survived(node: NodeProcess, ledger: Ledger) -> None:
    committed, max_height = ledger.snapshot()
    status = node.status()
    assert status["height"] >= max_height, (
        f"height went back: node at {status['height']}, it had reported {max_height}")
    by_height: dict[int, set[str]] = {}
    for tx_id, height in committed.items():
        by_height.setdefault(height, set()).add(tx_id)
    for height, tx_ids in by_height.items():  # one block fetch per height
        block = node.get_json(f"/v1/blocks/{height}")
        missing = tx_ids - {tx["tx_id"] for tx in block["transactions"]}
        assert not missing, f"reported committed at {height}, block lacks {sorted(missing)}"
    for tx_id, height in committed.items():  # and the transaction index agrees
        result = node.get_json(f"/v1/transactions/{tx_id}")
        assert (result["status"], result["height"]) == ("committed", height), result


def replay_from_genesis(net: Consortium, node: NodeProcess) -> Chain:
    """Re-execute every block the node serves in a fresh in-memory chain."""
    genesis = net.genesis()
    chain = Chain(MemoryStore(), genesis)
    validators = ValidatorSet.from_genesis(genesis)
    head = node.status()["height"]
    for height in range(1, head + 1):
        raw_status, raw = node.request("GET", f"/v1/blocks/{height}?format=raw")
        assert raw_status == 200, raw[:200]
        block = decode_block(raw)
        certificate = bytes.fromhex(node.get_json(f"/v1/blocks/{height}")["certificate"])
        # the check a lagging node makes: a quorum of the genesis validators signed it
        assert validators.certificate_for(certificate, height, block.block_hash), height
        execution = chain.validate(block)  # raises if the header's state root disagrees
        chain.commit(execution, certificate)
    return chain


def accredit(net: Consortium, node: NodeProcess) -> None:
    chain_id = node.status()["chain_id"]
    now = int(time.time() * 1000)
    tx = build_transaction(net.keys("mshe"), chain_id,
                           AccreditPayload(net.keys("enu").member_id, ("diploma",), now - 60_000,
                                           now + 86_400_000), node.height() + 100)
    status, answer = node.post_json("/v1/transactions", {"tx": tx.encode().hex()})
    assert status == 202, answer
    result = node.get_json(f"/v1/transactions/{answer['tx_id']}?wait=10", timeout_s=15)
    assert result["status"] == "committed", result


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Consortium]:
    with Consortium(tmp_path, MEMBERS, genesis_via_cli=False) as consortium:
        yield consortium


def test_reported_commits_survive_kill_9(net: Consortium) -> None:
    rng = random.Random(SEED)
    node = net.start("mshe")
    accredit(net, node)
    chain_id = node.status()["chain_id"]
    ledger = Ledger()
    heights_seen = [node.height()]
    killed_at: list[int] = []
    for cycle in range(KILL_CYCLES):
        loader = Loader(node, net.keys("enu"), chain_id, ledger)
        threshold = ledger.count() + rng.randint(20, 300)
        extra_delay_s = rng.uniform(0.0, 0.3)
        loader.start()
        try:
            wait_until(lambda t=threshold, lo=loader: ledger.count() >= t or not lo.alive(),
                       30, f"cycle {cycle}: {threshold} reported commits")
            assert loader.alive(), f"loader ended early: {loader.ended_by} {loader.unexpected}"
            time.sleep(extra_delay_s)  # the seeded kill moment, deliberately mid-load
            node.kill()
        finally:
            loader.stop()
        assert not loader.unexpected, loader.unexpected
        killed_at.append(ledger.snapshot()[1])
        node.start()
        heights_seen.append(node.height())
        check_reported_survived(node, ledger)
    committed, max_height = ledger.snapshot()
    assert len(committed) >= KILL_CYCLES * 10
    assert heights_seen == sorted(heights_seen), f"height went back: {heights_seen}"
    assert "Traceback" not in node.log_text()

    replayed = replay_from_genesis(net, node)
    status = node.status()
    assert replayed.height == status["height"] >= max_height
    assert replayed.head_hash.hex() == status["head_hash"]
    assert replayed.state.root.hex() == status["state_root"]

    # and the LevelDB itself, opened after a clean stop, holds the same head
    assert node.stop() == 0, node.log_tail()
    kv = LevelDBStore(str(node.data_dir / "chain.ldb"))
    try:
        on_disk = Chain(kv, net.genesis())  # checks state root against the head block
        assert on_disk.height == replayed.height
        assert on_disk.state.root == replayed.state.root
        for tx_id, height in committed.items():
            assert on_disk.tx_location(bytes.fromhex(tx_id))[0] == height
    finally:
        kv.close()


def test_node_refuses_data_dir_of_another_genesis(net: Consortium) -> None:
    node = net.start("mshe")
    accredit(net, node)
    height = node.height()
    assert node.stop() == 0
    other = json.loads(net.genesis_path.read_text())
    other["genesis_time_ms"] += 1  # same members, different chain
    (net.root / "other-genesis.json").write_text(json.dumps(other))
    net.write_config("mshe", genesis="other-genesis.json")
    node.spawn()
    code = node.wait_exit(30)
    assert code != 0
    log = node.log_text()
    assert "cannot start" in log and "another genesis" in log, node.log_tail()
    assert "Traceback" not in log
    net.write_config("mshe")  # the right genesis: the data dir is intact
    node.start()
    assert node.height() == height
    assert node.stop() == 0
