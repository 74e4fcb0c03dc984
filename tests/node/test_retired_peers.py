"""A retired member's node is no longer a peer: dropped from the block before its
retirement takes effect, which governance scheduled blocks earlier."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from cli.main import main
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.payloads import ACTION_RETIRE_MEMBER, AnchorPayload, IssueBatchPayload
from node.service import NodeCore
from node.validators import next_member_retirement, own_retirement, peer_keys
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving, serving_url
from tests.node.conftest import CHAIN_ID, accredit, commit, documents_of, make_tx
from tests.node.test_governance import (
    Council,
    approve,
    commit_until,
    make_council,
    member_action,
)


def test_a_retired_members_node_may_connect_until_the_block_before_its_retirement() -> None:
    council = make_council()
    chain = Chain(MemoryStore(), council.genesis)
    university = council.university.public_key
    assert next_member_retirement(chain.state, chain.height) is None
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university), 7)
    assert chain.height == 2  # proposed and voted: scheduled for block 7
    assert university in peer_keys(chain.state, chain.height)
    # Its own node says so at once: dropped from block 6, it may never receive that one.
    told = own_retirement(chain.state, council.university.member_id)
    assert told is not None and told.startswith("KazNU is retired from the consortium from "
                                                "block 7: from block 6 on")
    assert own_retirement(chain.state, council.ministry2.member_id) is None
    # No block at 6 or 7 needs a transaction about it: the daemon asks again when due.
    assert next_member_retirement(chain.state, chain.height) == 7
    commit_until(chain, 5)
    assert university in peer_keys(chain.state, chain.height)  # block 6 is its last
    assert next_member_retirement(chain.state, chain.height) == 7
    commit_until(chain, 6)
    allowed = peer_keys(chain.state, chain.height)
    assert university not in allowed and council.ministry2.public_key in allowed
    assert next_member_retirement(chain.state, chain.height) is None


def _university_node() -> tuple[Council, MemoryStore, NodeCore, dict[str, Any]]:
    """KazNU's node, KazNU accredited, and a diploma of its on chain."""
    council = make_council()
    kv = MemoryStore()
    core = api_core(council.university, council.genesis, kv)
    grant = accredit(council, council.university, ["diploma"])  # type: ignore[arg-type]
    commit(core.chain, [grant])
    batch = make_batch([{"name": "Aigerim"}], "diploma", CHAIN_ID,
                       council.university.member_id, "KazNU")
    commit(core.chain, [make_tx(council.university,
                                IssueBatchPayload("diploma", batch.root, 1))])
    return council, kv, core, documents_of(batch)[0]


async def test_a_retired_members_node_says_so_beside_each_verdict() -> None:
    """Its peers drop it, so a revocation after its last block never reaches it, though
    its verdicts still read 'as of' that block: an employer verifying against its own
    retired node was not told."""
    council, kv, core, document = _university_node()
    chain = core.chain
    try:
        async with serving(core) as client:
            before = await (await client.post("/v1/verify", json=document)).json()
            assert before["valid"] and "left the consortium" not in before["source"]
            retired = chain.height + 5
            approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university),
                    retired)
            commit_until(chain, retired - 1)  # its last block
            after = await (await client.post("/v1/verify", json=document)).json()
            # nothing sent here reaches the others: refused, not left pending for good
            anchor = make_tx(council.ministry, AnchorPayload(b"\x05" * 32))
            sent = await client.post("/v1/transactions", json={"tx": anchor.encode().hex()})
            refused = await sent.json()
            assert sent.status == 409 and refused["error"]["code"] == "node_retired", refused
            assert anchor.tx_id not in core.mempool
    finally:
        kv.close()
    assert after["valid"], after  # issued while a member: still genuine
    assert ("this node's member, KazNU, left the consortium at block "
            f"{retired}: its chain stops there") in after["source"], after["source"]


async def test_senim_verify_against_a_retired_members_node_trusts_no_verdict(
        tmp_path: Path) -> None:
    """`senim verify` built its own source line and dropped the node's note: a retired
    university's node, still running, gave VALID (exit 0) for a diploma revoked after
    it left, the note nowhere."""
    council, kv, core, document = _university_node()
    chain = core.chain
    diploma = tmp_path / "diploma.json"
    diploma.write_text(json.dumps(document))

    async def verify(url: str, lang: str) -> Result:
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: CliRunner().invoke(main, ["verify", str(diploma), "--node", url,
                                                    "--lang", lang]))
    try:
        async with serving_url(core) as url:
            before = await verify(url, "en")
            assert before.exit_code == 0 and before.output.startswith("VALID"), before.output
            retired = chain.height + 5
            approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university),
                    retired)
            commit_until(chain, retired - 1)  # its last block
            after = await verify(url, "en")
            in_russian = await verify(url, "ru")
    finally:
        kv.close()
    assert after.exit_code == 1, after.output
    assert after.output.startswith("UNTRUSTED: the node's answer cannot be trusted: this "
                                   f"node's member, KazNU, left the consortium at block "
                                   f"{retired}"), after.output
    assert in_russian.exit_code == 1
    assert f"выбывшему из консорциума в блоке {retired}" in in_russian.output, in_russian.output
