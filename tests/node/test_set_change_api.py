"""GET /v1/validator-sets/changes and the bundles of POST /v1/proofs, followed by the
light clients of `senim verify` (online, page by page) and `--offline`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

import node.api_public
from cli.remote import RemoteFacts
from ledger.offline import OfflineFacts
from ledger.records import member_key
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.service import NodeCore
from node.validators import certifies_by_keys
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import CHAIN_ID, Consortium
from tests.node.set_changes import commit_as, record_of, validator_keys

SET_B = validator_keys("api-set-b", 4)
SET_C = validator_keys("api-set-c", 4)


@dataclass
class Served:
    client: Client
    core: NodeCore
    url: str


@pytest.fixture
async def served(net: Consortium, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    """A chain whose set changes at block 3 (to B) and block 6 (to C), head at 7, served
    with pages of one change."""
    monkeypatch.setattr(node.api_public, "SET_CHANGES_PAGE_MAX", 1)
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)
    commit_as(core.chain, [], [net.ministry], schedule=record_of(3, SET_B))
    commit_as(core.chain, [], [net.ministry])
    for height in range(3, 6):
        commit_as(core.chain, [], SET_B, SET_B[:3],
                  schedule=record_of(6, SET_C) if height == 4 else None)
    for _ in range(6, 8):
        commit_as(core.chain, [], SET_C, SET_C[1:])
    try:
        async with serving(core, "light") as client:
            yield Served(client, core, str(client.make_url("")).rstrip("/"))
    finally:
        kv.close()


async def test_changes_are_served_a_page_at_a_time(served: Served) -> None:
    first = await (await served.client.get("/v1/validator-sets/changes")).json()
    assert [c["from_height"] for c in first["changes"]] == [3] and first["more"]
    second = await (await served.client.get("/v1/validator-sets/changes?after=3")).json()
    assert [c["from_height"] for c in second["changes"]] == [6] and not second["more"]
    last = await (await served.client.get("/v1/validator-sets/changes?after=6")).json()
    assert last["changes"] == [] and not last["more"]
    for bad in ("-1", "x", str(2**63)):
        response = await served.client.get(f"/v1/validator-sets/changes?after={bad}")
        assert response.status == 400, bad
        assert "error" in await response.json()


async def test_online_verify_follows_every_change(served: Served, net: Consortium) -> None:
    def run() -> str:
        facts = RemoteFacts(served.url, certified=certifies_by_keys(CHAIN_ID),
                            genesis=net.genesis)
        assert facts.get(member_key(net.university.member_id)) is not None
        return facts.describe()

    described = await asyncio.get_running_loop().run_in_executor(None, run)
    assert "block 7" in described and "in force from block 6" in described
    assert "through 2 change(s)" in described


async def test_a_proof_bundle_carries_the_changes(served: Served, net: Consortium) -> None:
    keys = [member_key(net.university.member_id).hex(), VALIDATOR_SET_INDEX_KEY.hex()]
    response = await served.client.post("/v1/proofs", json={"keys": keys})
    bundle = await response.json()
    assert [c["from_height"] for c in bundle["set_changes"]] == [3, 6]
    facts = OfflineFacts(bundle, net.genesis, certifies_by_keys(CHAIN_ID))
    assert facts.height == 7 and "through 2 change(s)" in facts.describe()
