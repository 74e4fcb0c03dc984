"""`senim verify --genesis` and `senim prove` / `verify --offline` on a chain whose
validator set changed twice after the credential's issuer was accredited."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.language import catalogue
from cli.main import main
from ledger.credentials import make_batch
from ledger.payloads import IssueBatchPayload
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.mempool import MempoolLimits
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    documents_of,
    make_consortium,
    make_tx,
)
from tests.node.set_changes import commit_as, record_of, validator_keys

SET_B = validator_keys("cli-set-b", 4)
SET_C = validator_keys("cli-set-c", 4)


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
async def node_url(net: Consortium, tmp_path: Path) -> AsyncIterator[str]:
    """Set B from block 3, set C from block 5; the diploma is issued under B."""
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv, MempoolLimits(10, 1 << 20, 10))
    chain = core.chain
    commit_as(chain, [accredit(net, net.university, ["diploma"])], [net.ministry],
              schedule=record_of(3, SET_B))
    commit_as(chain, [], [net.ministry])
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    commit_as(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))],
              SET_B, SET_B[:3], schedule=record_of(5, SET_C))
    commit_as(chain, [], SET_B, SET_B[1:])
    commit_as(chain, [], SET_C, SET_C[:3])
    (tmp_path / "diploma.json").write_text(json.dumps(documents_of(batch)[0]))
    (tmp_path / "genesis.json").write_text(json.dumps(net.genesis.to_json()))
    try:
        async with serving_url(core, "light") as url:
            yield url
    finally:
        kv.close()


async def senim(*args: str) -> Result:
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: CliRunner().invoke(main, list(args)))


def verdict_of(result: Result) -> dict[str, Any]:
    verdict: dict[str, Any] = json.loads(result.output)
    return verdict


async def test_online_and_offline_verify_follow_the_validator_set(node_url: str,
                                                                  tmp_path: Path) -> None:
    genesis = str(tmp_path / "genesis.json")
    online = await senim("verify", str(tmp_path / "diploma.json"), "--node", node_url,
                         "--genesis", genesis, "--json")
    assert online.exit_code == 0, online.output
    verdict = verdict_of(online)
    assert verdict["valid"] and verdict["facts"]["as_of_height"] == 5
    assert "in force from block 5, followed from genesis through 2 change(s)" in \
        verdict["source"]

    proved = tmp_path / "proved.json"
    made = await senim("prove", str(tmp_path / "diploma.json"), "--out", str(proved),
                       "--node", node_url)
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(proved.stat().st_mode) == 0o600  # the holder's personal data
    offline = await senim("verify", str(proved), "--offline", "--genesis", genesis, "--json")
    assert offline.exit_code == 0, offline.output
    assert "through 2 change(s)" in verdict_of(offline)["source"]

    # Nor one cut of its block's own validator-set index, which shows that none was left
    # out: refused in the reader's language, the same verdict in --json.
    document = json.loads(proved.read_text())
    index_key = VALIDATOR_SET_INDEX_KEY.hex()
    cut = {**document, "proof": {**document["proof"], "entries": [
        e for e in document["proof"]["entries"] if e["key"] != index_key]}}
    assert len(cut["proof"]["entries"]) == len(document["proof"]["entries"]) - 1
    proved.write_text(json.dumps(cut))
    for lang in ("kk", "ru", "en"):
        refused = await senim("verify", str(proved), "--offline", "--genesis", genesis,
                              "--lang", lang)
        assert refused.exit_code == 1, refused.output
        said = catalogue(lang)["cli.proof.proof_no_index"] if lang != "en" else (
            "UNPROVEN: cannot verify offline: the offline proof lacks the validator-set index")
        assert refused.output.startswith(said), refused.output
    assert verdict_of(await senim("verify", str(proved), "--offline", "--genesis", genesis,
                                  "--json", "--lang", "kk"))["status"] == "unproven"

    # A bundle stripped of its set changes cannot show who certified its block.
    document["proof"]["set_changes"] = document["proof"]["set_changes"][1:]
    proved.write_text(json.dumps(document))
    stripped = await senim("verify", str(proved), "--offline", "--genesis", genesis, "--json")
    assert stripped.exit_code == 1
    assert verdict_of(stripped)["status"] == "unproven"


async def test_a_valid_verdict_from_one_blocks_state_says_as_of_which_in_english(
        node_url: str, tmp_path: Path) -> None:
    """kk and ru said "not revoked as of block 5"; English said a bare VALID, so an HR
    officer reading English was not told that a revocation after that block (a node
    serving an old state, an old proof) would not show."""
    genesis, diploma = str(tmp_path / "genesis.json"), str(tmp_path / "diploma.json")
    online = await senim("verify", diploma, "--node", node_url, "--genesis", genesis)
    assert online.exit_code == 0, online.output
    headline, lines = online.output.splitlines()[0], online.output.splitlines()
    assert headline.startswith("VALID as of block 5 ("), online.output
    assert any("no revocation on chain as of block 5 (" in line for line in lines)
    proved = tmp_path / "proved.json"
    assert (await senim("prove", diploma, "--out", str(proved), "--node", node_url)
            ).exit_code == 0
    offline = await senim("verify", str(proved), "--offline", "--genesis", genesis)
    assert offline.exit_code == 0, offline.output
    assert offline.output.startswith("VALID as of block 5 ("), offline.output
    plain = await senim("verify", diploma, "--node", node_url)  # the node's word: no block
    assert plain.output.startswith("VALID: "), plain.output
