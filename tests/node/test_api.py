"""The HTTP API in-process: a NodeCore on a tmp LevelDB, the real engine, aiohttp TestServer."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from ledger.blocks import decode_block
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, AnchorPayload, IssueBatchPayload
from ledger.records import anchor_key, member_key
from ledger.transactions import Transaction
from node.api import make_app
from node.api_public import TRANSACTIONS_BODY_MAX, VERIFY_BODY_MAX, VERIFY_WORK
from node.mempool import MempoolLimits
from node.service import NodeCore
from storage.kv import LevelDBStore
from storage.state_tree import state_proof_from_json, verify_state_proof
from tests.node.api_server import Client, api_core
from tests.node.conftest import CHAIN_ID, YEAR_MS, Consortium, commit, documents_of, make_tx
from tests.node.engine_node import running_engine

DEADLINE_S = 15.0


@dataclass
class Node:
    client: Client
    core: NodeCore
    net: Consortium


@pytest.fixture
async def node(tmp_path: Path, net: Consortium) -> AsyncIterator[Node]:
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(net.ministry, net.genesis, kv,
                    MempoolLimits(max_txs=10_000, max_bytes=64 << 20, max_per_sender=5_000))
    now = int(time.time() * 1000)
    # KazNU may issue diplomas for ten years from now (committed before serving).
    commit(core.chain, [make_tx(net.ministry, AccreditPayload(
        net.university.member_id, ("diploma",), 0, now + 10 * YEAR_MS))])
    client = TestClient(TestServer(make_app(core, "test-node")))
    await client.start_server()
    try:
        async with running_engine(core):
            yield Node(client, core, net)
    finally:
        await client.close()
        kv.close()


async def json_of(response: ClientResponse, status: int) -> Any:
    body = await response.text()
    assert response.status == status, body
    assert response.content_type == "application/json", body
    return json.loads(body)


async def wait_committed(node: Node, tx_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        response = await node.client.get(f"/v1/transactions/{tx_id}", params={"wait": "5"})
        body = await json_of(response, 200)
        if body["status"] == "committed":
            return dict(body)
        assert body["status"] == "pending", body
        assert time.monotonic() < deadline, f"{tx_id} not committed in {DEADLINE_S}s"


def anchor(keys: KeyPair) -> Transaction:
    return make_tx(keys, AnchorPayload(os.urandom(32)), expires_at=10_000)


async def test_submit_json_single_and_long_poll(node: Node) -> None:
    tx = anchor(node.net.employer)
    response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    assert await json_of(response, 202) == {"tx_id": tx.tx_id.hex(), "status": "pending"}
    status = await wait_committed(node, tx.tx_id.hex())
    assert status["height"] >= 2 and status["index"] == 0
    block = node.core.chain.get_block(status["height"])
    assert block is not None and status["block_hash"] == block.block_hash.hex()
    assert tx.tx_id in [t.tx_id for t in block.transactions]
    # resubmitting a committed transaction is refused as a replay
    again = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    assert (await json_of(again, 400))["error"]["code"] == "replayed"


async def test_submit_json_many(node: Node) -> None:
    txs = [anchor(node.net.employer) for _ in range(20)]
    bad = make_tx(node.net.university2, IssueBatchPayload("diploma", os.urandom(32), 1))
    response = await node.client.post("/v1/transactions", json={
        "txs": [t.encode().hex() for t in txs] + [bad.encode().hex()]})
    body = await json_of(response, 202)
    assert (body["accepted"], body["rejected"]) == (20, 1)
    assert body["results"][-1]["code"] == "not_accredited"
    assert [r["tx_id"] for r in body["results"][:20]] == [t.tx_id.hex() for t in txs]
    for tx in txs:
        await wait_committed(node, tx.tx_id.hex())
    assert node.core.tx_status(bad.tx_id).status == "unknown"


async def test_submit_msgpack_single_and_many(node: Node) -> None:
    one = anchor(node.net.employer)
    response = await node.client.post(
        "/v1/transactions", data=msgpack.packb(one.encode(), use_bin_type=True),
        headers={"Content-Type": "application/msgpack"})
    assert (await json_of(response, 202))["tx_id"] == one.tx_id.hex()
    many = [anchor(node.net.ministry) for _ in range(5)]
    response = await node.client.post(
        "/v1/transactions", data=msgpack.packb([t.encode() for t in many], use_bin_type=True),
        headers={"Content-Type": "application/msgpack"})
    assert (await json_of(response, 202))["accepted"] == 5
    for tx in [one, *many]:
        await wait_committed(node, tx.tx_id.hex())


async def test_status_of_unknown_transaction(node: Node) -> None:
    response = await node.client.get(f"/v1/transactions/{os.urandom(32).hex()}")
    assert (await json_of(response, 404))["status"] == "unknown"


async def test_get_block_json_and_raw(node: Node) -> None:
    response = await node.client.get("/v1/blocks/1")
    body = await json_of(response, 200)
    block = node.core.chain.get_block(1)
    assert block is not None
    assert body["hash"] == block.block_hash.hex()
    assert body["state_root"] == block.header.state_root.hex()
    assert [t["tx_id"] for t in body["transactions"]] == [t.tx_id.hex()
                                                         for t in block.transactions]
    raw = await node.client.get("/v1/blocks/1", params={"format": "raw"})
    assert raw.status == 200
    assert decode_block(await raw.read()).block_hash == block.block_hash
    missing = await node.client.get("/v1/blocks/99999")
    assert (await json_of(missing, 404))["error"]["code"] == "no_such_block"


async def test_state_with_proofs_that_verify(node: Node) -> None:
    for key, present in [(member_key(node.net.university.member_id), True),
                         (anchor_key(os.urandom(32)), False)]:
        response = await node.client.get(f"/v1/state/{key.hex()}")
        body = await json_of(response, 200)
        root = bytes.fromhex(body["state_root"])
        assert root == node.core.chain.state.root
        value = None if body["value"] is None else bytes.fromhex(body["value"])
        assert (value is not None) == present
        proof = state_proof_from_json(body["proof"])
        assert verify_state_proof(root, key, value, proof)
        # the same proof does not vouch for another answer
        other = b"forged" if present else b"\x01"
        assert not verify_state_proof(root, key, other, proof)
        if present:
            assert not verify_state_proof(root, key, None, proof)


async def test_verify_endpoint_and_batch_and_credential(node: Node) -> None:
    uni = node.net.university
    batch = make_batch([{"name": "Aigerim", "iin": "010101500123"}, {"name": "Nurlan"}],
                       "diploma", CHAIN_ID, uni.member_id, "KazNU")
    tx = make_tx(uni, IssueBatchPayload("diploma", batch.root, 2), expires_at=10_000)
    response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    await json_of(response, 202)
    await wait_committed(node, tx.tx_id.hex())
    document = disclose(documents_of(batch)[0], ["iin"])
    verdict = await json_of(await node.client.post("/v1/verify", json=document), 200)
    assert (verdict["valid"], verdict["status"]) == (True, "valid"), verdict
    assert "010101500123" not in json.dumps(verdict)
    document["fields"]["name"]["value"] = "Someone"
    verdict = await json_of(await node.client.post("/v1/verify", json=document), 200)
    assert verdict["status"] == "tampered"
    batch_path = f"/v1/batches/{uni.member_id.hex()}/{batch.root.hex()}"
    info = await json_of(await node.client.get(batch_path), 200)
    assert (info["issuer_name"], info["count"], info["tx_id"]) == ("KazNU", 2,
                                                                  tx.tx_id.hex())
    target = batch.target_hashes[1].hex()
    cred = await json_of(await node.client.get(
        f"{batch_path}/credentials/{target}"), 200)
    assert cred["revoked"] is False
    missing = await node.client.get(f"/v1/batches/{uni.member_id.hex()}/{os.urandom(32).hex()}")
    assert (await json_of(missing, 404))["error"]["code"] == "no_such_batch"
    squatter = node.net.university2.member_id.hex()
    missing = await node.client.get(f"/v1/batches/{squatter}/{batch.root.hex()}")
    assert (await json_of(missing, 404))["error"]["code"] == "no_such_batch"


async def test_verify_anchor_endpoint(node: Node) -> None:
    import hashlib
    data = b"minutes of the academic council"
    tx = make_tx(node.net.employer, AnchorPayload(hashlib.sha256(data).digest()),
                 expires_at=10_000)
    await json_of(await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()}),
                  202)
    await wait_committed(node, tx.tx_id.hex())
    verdict = await json_of(await node.client.post("/v1/verify/anchor", data=data), 200)
    assert (verdict["status"], verdict["facts"]["author"]) == ("valid", "Kaspi")
    verdict = await json_of(await node.client.post("/v1/verify/anchor", data=b"x"), 200)
    assert verdict["status"] == "unknown"


async def test_members_openapi_metrics_status(node: Node) -> None:
    tx = anchor(node.net.employer)
    await json_of(await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()}),
                  202)
    committed = await wait_committed(node, tx.tx_id.hex())
    members = (await json_of(await node.client.get("/v1/members"), 200))["members"]
    by_name = {m["name"]: m for m in members}
    assert set(by_name) == {m.name for m in node.net.genesis.members}
    assert by_name["KazNU"]["accreditations"][0]["types"] == ["diploma"]
    assert by_name["Ministry of Science"]["validator"] is True
    spec = await json_of(await node.client.get("/openapi.json"), 200)
    assert spec["openapi"].startswith("3.") and "/v1/transactions" in spec["paths"]
    status = await json_of(await node.client.get("/v1/status"), 200)
    assert status["chain_id"] == CHAIN_ID and status["height"] == node.core.chain.height
    response = await node.client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert f"senim_height {float(committed['height'])}" in text
    assert "senim_transactions_committed_total 1.0" in text
    for name in ("senim_view_changes_total", "senim_validators_unreachable",
                 "senim_sync_behind_blocks", "senim_peers_connected",
                 "process_resident_memory_bytes", "python_gc_collections_total"):
        assert name in text, name
    # the block that committed it, after the empty one that refreshed the fixture's old
    # head time (BFT time: a block's time is when the block before it committed)
    assert "senim_block_commit_seconds_count 2.0" in text


async def test_malformed_json_is_a_400_with_code(node: Node) -> None:
    for path in ("/v1/transactions", "/v1/verify"):
        response = await node.client.post(path, data=b"{not json",
                                          headers={"Content-Type": "application/json"})
        body = await json_of(response, 400)
        assert body["error"]["code"] == "malformed" and body["error"]["message"]
    for body in ({"tx": "zz"}, {"txs": [1]}, {"txs": []}, {"foo": 1}, [1, 2], {"tx": 5}):
        response = await node.client.post("/v1/transactions", json=body)
        assert (await json_of(response, 400))["error"]["code"] == "malformed", body


@pytest.mark.parametrize(("path", "limit"), [("/v1/transactions", TRANSACTIONS_BODY_MAX),
                                             ("/v1/verify", VERIFY_BODY_MAX)])
async def test_oversized_body_is_a_413_per_route(node: Node, path: str, limit: int) -> None:
    response = await node.client.post(path, data=b"0" * (limit + 1),
                                      headers={"Content-Type": "application/json"})
    body = await json_of(response, 413)
    assert body["error"]["code"] == "body_too_large" and str(limit) in body["error"]["message"]


async def test_unknown_route_and_wrong_method(node: Node) -> None:
    body = await json_of(await node.client.get("/v1/nothing-here"), 404)
    assert body["error"]["code"] == "not_found"
    body = await json_of(await node.client.get("/v1/transactions"), 405)
    assert body["error"]["code"] == "method_not_allowed"
    body = await json_of(await node.client.delete("/v1/blocks/1"), 405)
    assert body["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", [
    "/v1/transactions/zz", "/v1/transactions/abcd", f"/v1/transactions/{'ab' * 33}",
    f"/v1/batches/xyz/{'ab' * 32}", f"/v1/batches/{'ab' * 20}/{'ab' * 31}",
    f"/v1/batches/{'ab' * 20}/{'ab' * 32}/credentials/0",
    "/v1/state/abc",
    "/v1/state/zz", f"/v1/state/{'ab' * 129}", "/v1/blocks/one", "/v1/blocks/-1",
    f"/v1/blocks/{2**64}", f"/v1/transactions/{'ab' * 32}?wait=soon",
    f"/v1/transactions/{'ab' * 32}?wait=nan",
])
async def test_bad_parameters_are_400(node: Node, path: str) -> None:
    response = await node.client.get(path)
    body = await json_of(response, 400)
    assert body["error"]["code"] in ("bad_parameter", "malformed")


@pytest.mark.parametrize(("path", "said"), [
    # each was answered as if the parameter were not there, or clamped: 200 or 404
    ("/v1/blocks/0?format=AAA", "format must be one of raw, json"),
    ("/v1/blocks/0?format=%E2%80%AEraw", "format must be one of raw, json"),
    (f"/v1/transactions/{'ab' * 32}?wait=-1", "wait must be a number from 0 to 60"),
    (f"/v1/transactions/{'ab' * 32}?wait=61", "wait must be a number from 0 to 60"),
    (f"/v1/transactions/{'ab' * 32}?wait=inf", "wait must be a number from 0 to 60"),
    (f"/v1/transactions/{'ab' * 32}?wait=1e308", "wait must be a number from 0 to 60"),
    (f"/v1/transactions/{'ab' * 32}?wait=1&wait=-1", "wait is given more than once"),
    # answered raw: the handler read the first of two
    ("/v1/blocks/0?format=raw&format=json", "format is given more than once"),
    ("/v1/evidence?limit=1&limit=1", "limit is given more than once"),
    ("/v1/evidence?limit=%D9%A1%D9%A2", "limit must be an integer from 1 to "),  # "١٢"
    ("/v1/evidence?limit=+5", "limit must be an integer from 1 to "),
    (f"/v1/evidence/chain?after={'ab' * 129}", "after must be at most 256 characters"),
])
async def test_a_query_parameter_outside_its_declaration_is_refused_naming_it(
        node: Node, path: str, said: str) -> None:
    body = await json_of(await node.client.get(path), 400)
    assert body["error"]["code"] == "bad_parameter"
    assert body["error"]["message"].startswith(said), body
    assert body["error"]["params"] == {"field": said.split()[0]}, body


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 4 else 5)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.choice([0, -1, 2**70, 3.5, 1e308])
    if choice == 2:
        return rng.choice(["", "zz", os.urandom(rng.randrange(40)).hex(), "ü", "\x00"])
    if choice == 3:
        return rng.choice(["senim-credential/v1", CHAIN_ID, "diploma", "a" * 300])
    if choice == 4:
        return os.urandom(32).hex()
    if choice == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["tx", "txs", "format", "chain_id", "type", "issuer", "batch", "fields",
            "target_hash", "member_id", "root", "index", "size", "path", "value", "salt",
            "hash", "name"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def _mutated_document(rng: random.Random, document: dict[str, Any]) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for _ in range(rng.randrange(1, 3)):
        if not isinstance(target, dict) or not target:
            break
        key = rng.choice(list(target))
        if rng.random() < 0.5:
            target[key] = _random_json(rng, 2)
            break
        target = target[key]
    return copy


async def test_fuzz_never_500(node: Node) -> None:
    rng = random.Random(1234)
    document = documents_of(make_batch([{"name": "A", "gpa": "3.5"}], "diploma", CHAIN_ID,
                                       node.net.university.member_id, "KazNU"))[0]
    tx = anchor(node.net.employer).encode()
    bodies: list[tuple[bytes, str]] = [
        (b"[" * 100_000, "application/json"),
        (b'{"a":' * 50_000, "application/json"),
        (b"1" * 10_000, "application/json"),
        (b'"\\ud800"', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"{}", "application/json; charset=no-such-charset"),
        (json.dumps({"tx": tx.hex()}).encode(), "application/json; charset=utf-32"),
        (b"", "application/json"),
        (b"", "application/msgpack"),
        (b"\x91" * 100_000, "application/msgpack"),
        (msgpack.packb({"tx": tx}), "application/msgpack"),
        (msgpack.packb([tx, 1]), "application/msgpack"),
        (msgpack.packb([tx[:-1]]), "application/msgpack"),
        (msgpack.packb(tx[:-1] + b"\x00"), "application/msgpack"),
        (tx, "application/msgpack"),
        (tx, "application/octet-stream"),
    ]
    for _ in range(150):
        bodies.append((json.dumps(_random_json(rng)).encode(), "application/json"))
        bodies.append((json.dumps(_mutated_document(rng, document)).encode(),
                       "application/json"))
        mangled = bytearray(tx)
        mangled[rng.randrange(len(mangled))] ^= 1 << rng.randrange(8)
        bodies.append((json.dumps({"tx": mangled.hex()}).encode(), "application/json"))
        bodies.append((msgpack.packb(bytes(mangled)), "application/msgpack"))
        bodies.append((os.urandom(rng.randrange(200)), rng.choice(
            ["application/json", "application/msgpack", "text/plain"])))
    for path in ("/v1/transactions", "/v1/verify"):
        for data, content_type in bodies:
            response = await node.client.post(path, data=data,
                                              headers={"Content-Type": content_type})
            text = await response.text()
            assert response.status < 500, (path, data[:80], content_type, text)
            if response.status >= 400:
                answer = json.loads(text)
                assert "error" in answer or answer.get("accepted") == 0, text
    assert "senim_http_requests_total{status=\"500\"}" not in await (
        await node.client.get("/metrics")).text()


async def test_a_full_public_pool_gets_503_and_changes_nothing(node: Node) -> None:
    public = node.core.public_work
    public._jobs = public.jobs_max  # as if that many checks were running
    tx = make_tx(node.net.ministry, AnchorPayload(os.urandom(32)))
    try:
        response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
        assert (await json_of(response, 503))["error"]["code"] == "busy"
        assert response.headers["Retry-After"] == "1"
        assert node.core.tx_status(tx.tx_id).status == "unknown"
        response = await node.client.post("/v1/verify", json={"format": "x"})
        assert (await json_of(response, 200))["valid"] is False  # its own pool is free
        verify = node.client.app[VERIFY_WORK]
        verify._jobs = verify.jobs_max
        # one that passes its own checks needs the chain (node.checked_while_busy)
        document = documents_of(make_batch([{"name": "A"}], "diploma", CHAIN_ID,
                                           node.net.university.member_id, "KazNU"))[0]
        response = await node.client.post("/v1/verify", json=document)
        assert (await json_of(response, 503))["error"]["code"] == "busy"
        verify._jobs = 0
    finally:
        public._jobs = 0
    response = await node.client.post("/v1/transactions", json={"tx": tx.encode().hex()})
    await json_of(response, 202)


async def test_the_governance_answer_is_worked_out_off_the_event_loop(
        node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    # With 32 open proposals revoking 256 credentials each it takes about a tenth of a
    # second, which the event loop, and the consensus frames it reads, must not spend.
    from node import governance_answers, governance_view
    threads: list[str] = []
    real = governance_view.frame_json

    encoded: list[str] = []

    class Encoded(dict[str, Any]):
        """The answer's frame (worked out whenever the answer is), noting the thread that
        encodes it as JSON (its members are read through items() to be encoded): 1.5 MB
        of the answer takes tens of milliseconds."""

        def items(self) -> Any:
            encoded.append(threading.current_thread().name)
            return super().items()

    def watched(state: Any, height: int) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return Encoded(real(state, height))

    monkeypatch.setattr(governance_view, "frame_json", watched)
    governance_answers.forget()
    for _ in range(2):
        answer = await json_of(await node.client.get("/v1/governance"), 200)
    assert answer["policy"] and threads and encoded, answer
    assert threading.main_thread().name not in threads, threads
    # encoded off the loop too, and once for the block, not once a request
    assert threading.main_thread().name not in encoded and len(encoded) == 1, encoded
    assert answer["height"] == node.core.chain.height


@pytest.mark.parametrize(("body", "said"), [
    (b'{"a":' + b"9" * 5000 + b"}", "body is not valid JSON: a number has more than 4300 "
                                      "digits"),
    ('{"a":"é"}'.encode("latin-1"), "body is not valid JSON: the byte 0xe9 at offset 6 is "
                                    "not UTF-8"),
    (b'{"a":', "body is not valid JSON: Expecting value at line 1 column 6"),
])
async def test_a_body_that_is_not_json_is_said_in_the_senders_terms(
        node: Node, body: bytes, said: str) -> None:
    # They read "... use sys.set_int_max_str_digits() to increase the limit" and
    # "'utf-8' codec can't decode byte 0xe9 in position 6: invalid continuation byte".
    for path in ("/v1/verify", "/v1/transactions"):
        answer = await json_of(await node.client.post(
            path, data=body, headers={"Content-Type": "application/json"}), 400)
        message = answer["error"]["message"]
        assert message.startswith(said), (path, message)
        assert "sys." not in message and "codec" not in message, (path, message)
