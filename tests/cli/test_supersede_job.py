"""`senim supersede --corrections DIR` against a real engine and API: every pair a
corrections job lists superseded in one command, a second run saying each is already
done, and a pair whose file is gone stopping everything before anything is sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from click.testing import CliRunner, Result

from cli import supersede_job
from cli.client import NodeClient
from cli.job_folder import CORRECTIONS_NAME
from cli.main import main
from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, IssueBatchPayload
from ledger.transactions import Transaction
from ledger.verification import verify_credential
from node.files import save_key
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.api_server import serving_url
from tests.node.conftest import CHAIN_ID, accredit, documents_of, make_consortium, make_tx
from tests.node.engine_node import running_engine

GRADUATES = [{"full_name": f"Graduate {n}", "programme": "Informatics"} for n in range(3)]
WAIT_S = 20.0


async def _committed(core: NodeCore, tx: Transaction) -> None:
    [(_, refusal)] = await core.submit([tx.encode()])
    assert refusal is None, refusal
    assert (await core.wait_for(tx.tx_id, WAIT_S)).status == "committed"


def _write(folder: Path, batch: IssuedBatch) -> list[Path]:
    folder.mkdir()
    paths = []
    for index, document in enumerate(documents_of(batch)):
        paths.append(folder / f"diploma-{index}.json")
        paths[-1].write_text(json.dumps(document), "utf-8")
    return paths


async def test_every_pair_of_a_corrections_job_is_superseded_in_one_command(
        tmp_path: Path) -> None:
    net = make_consortium()
    core = NodeCore(net.ministry, net.genesis, MemoryStore(), MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    university = net.university
    old = make_batch(GRADUATES, "diploma", CHAIN_ID, university.member_id, "KazNU")
    fixed = make_batch([{**g, "programme": "Informatics and IT"} for g in GRADUATES],
                       "diploma", CHAIN_ID, university.member_id, "KazNU")
    old_files = _write(tmp_path / "june", old)
    job = tmp_path / "fix"
    new_files = _write(job, fixed)
    (job / CORRECTIONS_NAME).write_text(json.dumps([
        {"row": row, "old": str(old_file), "new": new_file.name}
        for row, old_file, new_file in zip((2, 3, 5), old_files, new_files, strict=True)]))
    key = tmp_path / "kaznu.key"
    save_key(key, university)

    async def supersede(url: str, *lang: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, main, [
            "supersede", "--key", str(key), "--corrections", str(job), "--node", url, *lang])

    async with running_engine(core), serving_url(core) as url:
        await _committed(core, accredit(net, university, ["diploma"]))
        for batch in (old, fixed):
            await _committed(core, make_tx(university, IssueBatchPayload(
                "diploma", batch.root, len(GRADUATES))))
        # a pair whose earlier file is gone: nothing is sent for any
        moved = old_files[1].rename(tmp_path / "moved.json")
        first = await supersede(url)
        assert first.exit_code == 2, first.output
        assert f"row 3: {old_files[1]} is not there" in first.output
        assert "nothing was sent" in first.output
        russian = await supersede(url, "--lang", "ru")  # said in the registrar's language
        assert russian.exit_code == 2, russian.output
        assert f"  строка 3: файла {old_files[1]} нет\n" in russian.output
        assert russian.output.endswith("ошибка: исправлений, которые нельзя провести так, как "
                                       "они записаны: 1 из 3; ничего не отправлено\n")
        height = core.chain.height
        moved.rename(old_files[1])
        done = await supersede(url)
        assert done.exit_code == 0, done.output
        assert [line.split(":")[0] for line in done.output.splitlines()[:3]] == [
            "row 2", "row 3", "row 5"]
        assert "3 superseded now, 0 already superseded or revoked" in done.output
        assert core.chain.height > height
        again = await supersede(url)
        assert again.exit_code == 0, again.output
        assert again.output.count("already revoked at height") == 3
        kazakh = await supersede(url, "--lang", "kk")
        assert kazakh.exit_code == 0, kazakh.output
        assert kazakh.output.count("құжат бұрын ауыстырылған не кері қайтарылған: ештеңе қайта "
                                   "жіберілмеді") == 3
        assert "барлығы 3: қазір ауыстырылды — 0, бұрын ауыстырылған не кері қайтарылған — 3" \
            in kazakh.output
        facts = LocalFacts(core.chain.state, "test")
        for document in documents_of(old):
            verdict = verify_credential(document, facts, CHAIN_ID)
            assert verdict.status == "superseded", verdict.reason
    core.public_work.close()


class _NodeCommittingNothing:
    """Takes every supersede and commits none (its quorum gone); each wait runs its time
    out on the test's clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def status(self) -> dict[str, object]:
        return {"chain_id": CHAIN_ID, "height": 7}

    def submit(self, tx: Transaction) -> str:
        return tx.tx_id.hex()

    def wait(self, tx_id: str, timeout_s: float) -> dict[str, object]:
        self.waits.append(timeout_s)
        self.clock[0] += timeout_s
        return {"status": "pending"}


def test_a_node_that_commits_nothing_holds_a_group_one_deadline_not_one_per_row(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row used to wait COMMIT_WAIT_S of its own: 64 rows a minute each, over an hour
    a group, before the command said anything of the node."""
    clock = [0.0]
    monkeypatch.setattr(supersede_job, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    node = _NodeCommittingNothing(clock)
    pairs = [supersede_job.Pair(row, CredentialRef(bytes([row]) * 32, bytes([row + 1]) * 32, 0,
                                                   ()),
                                CredentialRef(bytes([row + 2]) * 32, bytes([row + 3]) * 32, 0,
                                              ()))
             for row in range(1, 6)]
    tally = {"superseded": 0, "already": 0, "refused": 0, "pending": 0}
    supersede_job._group(cast(NodeClient, node), KeyPair.generate(), pairs, tally)
    assert tally["pending"] == 5
    assert clock[0] == supersede_job.COMMIT_WAIT_S, node.waits
