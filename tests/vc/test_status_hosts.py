"""A node with no [vc] public_url names its status lists by the Host a client sent: any
plain host[:port], none taken from another client, and never a 500."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ledger.credentials import make_batch
from ledger.payloads import AccreditPayload, IssueBatchPayload
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


async def test_hosts_anyone_sends_first_take_no_name_from_the_verifiers(
        tmp_path: Path, net: Consortium) -> None:
    """A cap on the Hosts a node named its lists by, first come, let four anonymous
    requests take every name but the node's bare address: a verifier reaching the node
    by its DNS name, as the VC's status URL says, was refused (421). Each Host is
    answered, named as asked, its signing under the caller's share of the VC slots."""
    async with _plain_node(tmp_path, net) as (client, path):
        for n in range(12):
            response = await client.get(path, headers={"Host": f"junk{n}.example"})
            assert response.status == 200, await response.text()
        for host in ("node1.senim.kz", f"127.0.0.1:{client.port}", "NODE1.senim.kz"):
            response = await client.get(path, headers={"Host": host})
            assert response.status == 200, await response.text()
            assert (await response.json())["id"] == f"http://{host.lower()}{path}"
