"""A chain with one issued diploma batch, and its documents exported as VCs; and an
in-process node (real engine, aiohttp TestServer) that serves the VC-API and issues."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.rules import load_batch
from node.api import make_app
from node.files import save_key
from node.mempool import MempoolLimits
from node.service import NodeCore
from node.vc_api import configure_vc
from storage.kv import LevelDBStore, MemoryStore
from tests.node.api_server import api_core
from tests.node.conftest import (
    CHAIN_ID,
    YEAR_MS,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)
from tests.node.engine_node import running_engine

RECORDS = [{"full_name": f"Студент {i}", "iin": f"0105171234{i:02d}", "degree": "BSc",
            "gpa": "3.5"} for i in range(5)]
STATUS_BASE = "https://node.senim.test"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Issued:
    net: Consortium
    chain: Chain
    batch: IssuedBatch
    documents: list[dict[str, Any]]
    height: int
    time_ms: int

    def facts(self) -> LocalFacts:
        return LocalFacts(self.chain.state, f"test chain at {self.chain.height}")


@pytest.fixture
def issued() -> Iterator[Issued]:
    net = make_consortium()
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root,
                                                             len(RECORDS)))])
    on_chain = load_batch(chain.state, net.university.member_id, batch.root)
    assert on_chain is not None
    yield Issued(net, chain, batch, documents_of(batch), on_chain.height, on_chain.time_ms)
    kv.close()


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


TOKEN = "s3cret-issuing-token-0123456789"
# What a client of the VC-API sends its JSON as (the routes refuse other types, 415).
JSON_BODY = {"Content-Type": "application/json"}


@dataclass
class VcNode:
    client: TestClient[Any, Any]
    core: NodeCore
    net: Consortium
    batch: IssuedBatch
    issuer: KeyPair  # the node's VC-API issuing key
    app: web.Application


@pytest.fixture
async def node(tmp_path: Path, net: Consortium) -> AsyncIterator[VcNode]:
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(net.ministry, net.genesis, kv,
                    MempoolLimits(max_txs=1_000, max_bytes=16 << 20, max_per_sender=500))
    now = int(time.time() * 1000)
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(core.chain, [make_tx(net.ministry, AccreditPayload(
        net.university.member_id, ("diploma", "certificate"), 0, now + YEAR_MS))])
    commit(core.chain, [make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, len(RECORDS)))])
    save_key(tmp_path / "issuer.json", KeyPair.from_seed(b"\x44" * 32))  # not a member
    save_key(tmp_path / "vc-issuer.json", net.university)
    try:
        async with vc_served(core, tmp_path, tmp_path / "vc-issuer.json") as (client, app):
            yield VcNode(client, core, net, batch, net.university, app)
    finally:
        kv.close()


@asynccontextmanager
async def vc_served(core: NodeCore, folder: Path, issuer_key: Path
                    ) -> AsyncIterator[tuple[TestClient[web.Request, web.Application],
                                             web.Application]]:
    """`core`'s API with the VC routes, issuing with `issuer_key` for a caller with TOKEN
    (kept 0600 in `folder`), and its engine running; both stopped on the way out."""
    token_file = folder / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    app = make_app(core, "vc-node")
    configure_vc(app, issuer_key, token_file, "https://node.senim.test")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        async with running_engine(core):
            yield client, app
    finally:
        await client.close()


async def post(node: VcNode, path: str, body: Any, status: int,
               headers: dict[str, str] | None = None) -> Any:
    response = await node.client.post(path, json=body, headers=headers)
    text = await response.text()
    assert response.status == status, text
    return json.loads(text)
