"""A node with no [vc] public_url names its status lists by the Host a client sent: a few
Hosts and its own address, never whatever a client makes up, and never a 500."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ledger.credentials import make_batch
from ledger.payloads import AccreditPayload, IssueBatchPayload
from node.vc_common import MAX_STATUS_HOSTS
from storage.kv import LevelDBStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import CHAIN_ID, YEAR_MS, Consortium, commit, make_tx
from tests.vc.conftest import RECORDS


@asynccontextmanager
async def _plain_node(tmp_path: Path, net: Consortium) -> AsyncIterator[tuple[Client, str]]:
    """A node with no [vc] public_url, served on a local port, and the path of the list
    of a batch on its chain."""
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(net.ministry, net.genesis, kv)
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(core.chain, [make_tx(net.ministry, AccreditPayload(
        net.university.member_id, ("diploma",), 0, int(time.time() * 1000) + YEAR_MS))])
    commit(core.chain, [make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, len(RECORDS)))])
    try:
        async with serving(core, "plain-node") as client:
            yield client, "/credentials/status/" + (net.university.member_id + batch.root).hex()
    finally:
        kv.close()


async def test_a_forged_host_header_cannot_break_the_status_list(tmp_path: Path,
                                                                 net: Consortium) -> None:
    """Without [vc] public_url the list id comes from the Host header: garbage there
    gives a list under localhost, never a 500."""
    async with _plain_node(tmp_path, net) as (client, path):
        for host, expected in (("bad host/<x>", "http://localhost"),
                               ("node7.senim.kz:8100", "http://node7.senim.kz:8100")):
            response = await client.get(path, headers={"Host": host})
            assert response.status == 200, await response.text()
            assert (await response.json())["id"] == expected + path


async def test_status_lists_are_signed_for_a_few_hosts_and_the_nodes_own_address(
        tmp_path: Path, net: Consortium) -> None:
    """Each new Host header cost ~13 ms of the VC pool to sign a list under it, and a
    cache slot, and the node signed a list naming whatever Host a client sent. Without
    [vc] public_url a node names its lists by its first MAX_STATUS_HOSTS Hosts and the
    address the connection reached; a new Host past those is refused, coded, and the
    node's own address is still served."""
    async with _plain_node(tmp_path, net) as (client, path):
        for n in range(MAX_STATUS_HOSTS):
            response = await client.get(path, headers={"Host": f"name{n}.senim.test"})
            assert response.status == 200, await response.text()
        response = await client.get(path, headers={"Host": "one-more.senim.test"})
        answer = await response.json()
        assert response.status == 421 and answer["code"] == "status_host_unknown", answer
        assert answer["params"] == {"limit": MAX_STATUS_HOSTS}
        own = f"127.0.0.1:{client.port}"
        for host in ("name0.senim.test", own, "NAME1.senim.test"):
            response = await client.get(path, headers={"Host": host})
            assert response.status == 200, await response.text()
            assert (await response.json())["id"] == f"http://{host.lower()}{path}"
