"""`senim evidence list` against the real API (`GET /v1/evidence/chain`) over a real chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result

import cli.evidence
from cli.main import main
from ledger.payloads import SubmitEvidencePayload
from node.api import make_app
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import LevelDBStore
from tests.node.conftest import Consortium, commit, make_consortium, make_tx
from tests.node.test_ledger_evidence import two_prepares

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
async def served(tmp_path: Path, net: Consortium) -> AsyncIterator[tuple[NodeCore, Client]]:
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = NodeCore(net.ministry, net.genesis, kv, MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    client: Client = TestClient(TestServer(make_app(core, "test-node"), host="127.0.0.1"))
    await client.start_server()
    try:
        yield core, client
    finally:
        await client.close()
        core.worker.shutdown(wait=True)
        kv.close()


async def senim(*args: str) -> Result:
    """The CLI blocks on HTTP: it runs on a thread while the loop serves the node."""
    runner = CliRunner()
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: runner.invoke(main, list(args)))


def url(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


def commit_evidence(core: NodeCore, net: Consortium, heights: list[int]) -> None:
    # Evidence is of a height the chain has reached (rules version 11 on).
    while core.chain.height < max(heights):
        commit(core.chain, [])
    for height in heights:
        payload: SubmitEvidencePayload = two_prepares(net.ministry, height=height, view=1)
        commit(core.chain, [make_tx(net.employer, payload)])


async def test_list_says_who_did_what_and_who_submitted_it(
        served: tuple[NodeCore, Client], net: Consortium,
        monkeypatch: pytest.MonkeyPatch) -> None:
    core, client = served
    empty = await senim("evidence", "list", "--node", url(client))
    assert empty.exit_code == 0, empty.output
    assert "no evidence on chain" in empty.output
    commit_evidence(core, net, [7, 8, 9])
    monkeypatch.setattr(cli.evidence, "EVIDENCE_PAGE_MAX", 2)  # two pages: the cursor works
    listed = await senim("evidence", "list", "--node", url(client))
    assert listed.exit_code == 0, listed.output
    assert "3 piece(s) of evidence on chain" in listed.output
    for height in (7, 8, 9):
        assert (f"validator Ministry of Science ({net.ministry.member_id.hex()[:16]}) sent "
                f"prepare votes for two different blocks at height {height}, view 1; "
                f"submitted by Kaspi") in listed.output


async def test_bad_cursor_and_unreachable_node_are_one_line_errors(
        served: tuple[NodeCore, Client]) -> None:
    _, client = served
    response = await client.get("/v1/evidence/chain", params={"after": "zz"})
    assert response.status == 400
    # held to its declaration before the handler, as a path parameter is
    error = (await response.json())["error"]
    assert error["code"] == "bad_parameter" and error["message"].startswith("after must match")
    down = await senim("evidence", "list", "--node", "http://127.0.0.1:9")
    assert down.exit_code != 0
    assert down.output.strip().startswith("error: cannot list evidence: cannot reach")
    assert "Traceback" not in down.output
