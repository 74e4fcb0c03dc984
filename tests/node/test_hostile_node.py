"""Online verification against a node that lies: every lie is caught by the light client.

An honest node serves a small chain over real HTTP; a hostile proxy in front of
it forwards everything but lies in one way per test. The verifier trusts only
the genesis file, as `senim verify --genesis` does, and follows the validator
set from it. Every lie is tried on a chain whose genesis validators certify
every block, and on one whose validator set changed at block 3 (a new set of
four, three of them signing each block); the lies only an old set can tell
after a change are tried on the second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from cli.check_words import check_words
from cli.freshness import check_fresh
from cli.language import Words
from cli.remote import RemoteFacts, UntrustedAnswer
from ledger.blocks import Block, decode_block
from ledger.credentials import make_batch
from ledger.genesis import Genesis
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.records import Batch, accreditation_key, batch_key, revocation_key
from ledger.transactions import Transaction
from ledger.verification import Verdict, verify_credential
from node.api import make_app
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from node.validators import certifies_by_keys
from storage.batch_tree import audit_path
from storage.kv import LevelDBStore, MemoryStore
from storage.state_tree import StateTree, state_proof_to_json
from tests.node.certificates import make_certificate
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx
from tests.node.set_changes import commit_as, record_of, validator_keys

HOUR_MS = 3_600_000
RECORDS = [{"full_name": f"Graduate {i}", "gpa": "3.5"} for i in range(4)]
Lie = Callable[[web.Request, bytes], Awaitable[web.StreamResponse | None]]


CHANGE_HEIGHT = 3
NEW_SET = validator_keys("hostile-new-set", 4)


@dataclasses.dataclass
class World:
    core: NodeCore
    net: Consortium
    documents: list[dict[str, Any]]
    honest_url: str
    old_answers: dict[str, bytes]  # /v1/state answers recorded before the revocation
    changed: bool  # the validator set changed at CHANGE_HEIGHT


async def _record(url: str, document: dict[str, Any], genesis: Genesis) -> dict[str, bytes]:
    """Every state answer a verification of `document` reads, as the node gave them."""
    answers: dict[str, bytes] = {}

    class Recording(RemoteFacts):
        def get_json(self, path: str) -> Any:
            value = super().get_json(path)
            if path.startswith("/v1/state/"):
                answers[path] = json.dumps(value).encode()
            return value

    def run() -> None:
        facts = Recording(url, certified=certifies_by_keys(CHAIN_ID), genesis=genesis)
        verdict = verify_credential(document, facts, CHAIN_ID)
        assert verdict.valid, verdict.reason

    await asyncio.get_running_loop().run_in_executor(None, run)
    return answers


@pytest.fixture(params=[False, True], ids=["genesis-set", "after-a-set-change"])
async def world(request: pytest.FixtureRequest, tmp_path: Path, net: Consortium
                ) -> AsyncIterator[World]:
    changed: bool = request.param
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = NodeCore(net.ministry, net.genesis, kv, MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    chain = core.chain

    def certified_commit(txs: list[Transaction], time_ms: int) -> None:
        if not changed:
            commit(chain, txs, time_ms=time_ms)
        elif chain.height == 0:  # block 1 schedules the new set for CHANGE_HEIGHT
            commit_as(chain, txs, [net.ministry], time_ms=time_ms,
                      schedule=record_of(CHANGE_HEIGHT, NEW_SET))
        elif chain.height + 1 < CHANGE_HEIGHT:
            commit_as(chain, txs, [net.ministry], time_ms=time_ms)
        else:
            commit_as(chain, txs, NEW_SET, NEW_SET[1:], time_ms=time_ms)

    start = int(time.time() * 1000) - 2 * HOUR_MS  # old blocks: two hours ago
    certified_commit([accredit(net, net.university, ["diploma"], start_ms=start - HOUR_MS)],
                     start)
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    certified_commit([make_tx(net.university, IssueBatchPayload(
        "diploma", batch.root, len(batch.target_hashes)))], start + 1000)
    server = TestServer(make_app(core, "honest"))
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    documents = documents_of(batch)
    old = await _record(url, documents[0], net.genesis)
    revoke = RevokePayload(CredentialRef(batch.root, batch.target_hashes[0], 0,
                                         tuple(audit_path(batch.target_hashes, 0))),
                           "issued_in_error")
    certified_commit([make_tx(net.university, revoke)], start + 2000)
    certified_commit([], int(time.time() * 1000))  # a fresh head
    try:
        yield World(core, net, documents, url, old, changed)
    finally:
        await server.close()
        core.worker.shutdown(wait=True)
        kv.close()


async def hostile(world: World, lie: Lie) -> tuple[TestServer, str]:
    session = ClientSession()

    async def forward(request: web.Request) -> web.StreamResponse:
        async with session.get(world.honest_url + request.path_qs) as upstream:
            body = await upstream.read()
            lied = await lie(request, body)
            if lied is not None:
                return lied
            return web.Response(body=body, status=upstream.status,
                                content_type=upstream.content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", forward)
    app.on_cleanup.append(lambda _: session.close())
    server = TestServer(app)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


async def verify_via(url: str, world: World, document: dict[str, Any]) -> Verdict | str:
    """The verdict, or the reason the answer could not be trusted."""
    certified = certifies_by_keys(CHAIN_ID)

    def run() -> Verdict | str:
        facts = RemoteFacts(url, certified=certified, genesis=world.net.genesis)
        try:
            verdict = verify_credential(document, facts, CHAIN_ID)
        except UntrustedAnswer as exc:
            return f"untrusted: {exc}"
        verdict.source = facts.describe()  # as `senim verify` reports it
        return verdict

    return await asyncio.get_running_loop().run_in_executor(None, run)


def forged_state(world: World, changes: dict[bytes, bytes | None]) -> tuple[StateTree, int]:
    """A copy of the node's state with `changes`, as a liar would compute it."""
    copy = MemoryStore()
    copy.write(dict(world.core.chain.kv.iterate_prefix(b"s/")))
    tree = StateTree(copy, b"s/")
    overlay = tree.overlay()
    for key, value in changes.items():
        if value is None:
            overlay.delete(key)
        else:
            overlay.set(key, value)
    copy.write(tree.commit(overlay))
    tree.committed(overlay)
    return tree, world.core.chain.height


def answer_from(tree: StateTree, height: int) -> Lie:
    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if not request.path.startswith("/v1/state/"):
            return None
        key = bytes.fromhex(request.path.rsplit("/", 1)[1])
        value = tree.get(key)
        return web.json_response({"key": key.hex(), "value": value.hex() if value else None,
                                  "proof": state_proof_to_json(tree.prove(key)),
                                  "state_root": tree.root.hex(), "height": height})
    return lie


async def test_an_honest_node_is_believed_and_says_as_of_when(world: World) -> None:
    verdict = await verify_via(world.honest_url, world, world.documents[1])
    assert isinstance(verdict, Verdict) and verdict.valid, verdict
    assert f"block {world.core.chain.height}" in verdict.source
    assert ("followed from genesis through 1 change(s)" in verdict.source) == world.changed
    revoked = await verify_via(world.honest_url, world, world.documents[0])
    assert isinstance(revoked, Verdict) and revoked.status == "revoked"


async def test_a_forged_batch_is_caught(world: World) -> None:
    root = bytes.fromhex(world.documents[1]["batch"]["root"])
    key = batch_key(world.net.university.member_id, root)
    real = Batch.decode(world.core.chain.state.get(key) or b"")
    forged = dataclasses.replace(real, credential_type="certificate").encode()
    server, url = await hostile(world, answer_from(*forged_state(world, {key: forged})))
    try:
        verdict = await verify_via(url, world, world.documents[1])
    finally:
        await server.close()
    assert isinstance(verdict, str) and "does not certify" in verdict


async def test_a_hidden_revocation_is_caught(world: World) -> None:
    root = bytes.fromhex(world.documents[0]["batch"]["root"])
    target = bytes.fromhex(world.documents[0]["target_hash"])
    key = revocation_key(world.net.university.member_id, root, target)
    assert world.core.chain.state.get(key) is not None
    server, url = await hostile(world, answer_from(*forged_state(world, {key: None})))
    try:
        verdict = await verify_via(url, world, world.documents[0])
    finally:
        await server.close()
    assert isinstance(verdict, str) and "does not certify" in verdict


async def test_a_wrong_accreditation_is_caught(world: World) -> None:
    key = accreditation_key(world.net.university.member_id)
    server, url = await hostile(world, answer_from(*forged_state(world, {key: None})))
    try:
        verdict = await verify_via(url, world, world.documents[1])
    finally:
        await server.close()
    assert isinstance(verdict, str) and "does not certify" in verdict


async def test_a_made_up_block_is_caught(world: World) -> None:
    tree, height = forged_state(world, {accreditation_key(world.net.university.member_id):
                                        None})
    real = decode_block(world.core.chain.get_block_bytes(height) or b"")
    fake = Block(dataclasses.replace(real.header, state_root=tree.root), real.transactions,
                 real.last_commit)
    # Signed, but by a member who is no validator: the certificate cannot verify.
    certificate = make_certificate(world.net.university, CHAIN_ID, height, 0, fake.block_hash)
    state_lie = answer_from(tree, height)

    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.path == f"/v1/blocks/{height}":
            if request.query.get("format") == "raw":
                return web.Response(body=fake.encode(), content_type="application/octet-stream")
            shown = json.loads(body)
            shown.update(certificate=certificate.hex(), state_root=tree.root.hex())
            return web.json_response(shown)
        return await state_lie(request, body)

    server, url = await hostile(world, lie)
    try:
        verdict = await verify_via(url, world, world.documents[1])
    finally:
        await server.close()
    assert isinstance(verdict, str) and "no valid commit certificate" in verdict


async def test_a_stale_but_certified_answer_says_how_old_it_is(world: World) -> None:
    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        recorded = world.old_answers.get(request.path)
        if recorded is None:
            return None
        return web.Response(body=recorded, content_type="application/json")

    server, url = await hostile(world, lie)
    try:
        verdict = await verify_via(url, world, world.documents[0])
    finally:
        await server.close()
    # Every proof checks out against block 2's certified root: the revocation came
    # later. The verdict can only be as good as its date, so it carries it.
    assert isinstance(verdict, Verdict) and verdict.valid
    assert "block 2" in verdict.source
    header = decode_block(world.core.chain.get_block_bytes(2) or b"").header
    verdict.facts["as_of_height"] = 2
    stale = check_fresh(verdict, header.time_ms, max_age_s=600)
    assert not stale.valid and stale.status == "stale"
    # how old, in every language (kk and ru said only that it was too old)
    age = stale.facts["answer_age_s"]
    assert isinstance(age, int) and age > 600 and stale.facts["max_age_s"] == 600
    fresh = next(c for c in stale.checks if c.name == "fresh")
    for lang in ("kk", "ru", "en"):
        line = check_words(fresh, stale, Words(lang), world.documents[0])
        assert f"{age} " in line and "600" in line, line


def old_set_block(world: World, tree: StateTree, names_old_set: bool) -> tuple[Block, bytes]:
    """The head rewritten over `tree` and signed by the genesis validator (the set the
    change retired), naming that old set or the new one."""
    height = world.core.chain.height
    real = decode_block(world.core.chain.get_block_bytes(height) or b"")
    named = world.net.genesis.validator_set_hash if names_old_set else \
        real.header.validator_set_hash
    fake = Block(dataclasses.replace(real.header, state_root=tree.root,
                                     validator_set_hash=named), real.transactions)
    return fake, make_certificate(world.net.ministry, CHAIN_ID, height, 0, fake.block_hash)


def serve_block(fake: Block, certificate: bytes, state_lie: Lie) -> Lie:
    height = fake.header.height

    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.path == f"/v1/blocks/{height}":
            if request.query.get("format") == "raw":
                return web.Response(body=fake.encode(), content_type="application/octet-stream")
            shown = json.loads(body)
            shown.update(certificate=certificate.hex(), state_root=fake.header.state_root.hex(),
                         validator_set_hash=fake.header.validator_set_hash.hex())
            return web.json_response(shown)
        return await state_lie(request, body)
    return lie


def hiding_set_changes(other: Lie) -> Lie:
    async def lie(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.path == "/v1/validator-sets/changes":
            return web.json_response({"chain_id": CHAIN_ID, "after": 0, "changes": [],
                                      "more": False})
        return await other(request, body)
    return lie


async def _hidden_revocation_verdict(world: World, make_lie: Callable[[StateTree, int], Lie]
                                     ) -> Verdict | str:
    root = bytes.fromhex(world.documents[0]["batch"]["root"])
    target = bytes.fromhex(world.documents[0]["target_hash"])
    key = revocation_key(world.net.university.member_id, root, target)
    server, url = await hostile(world, make_lie(*forged_state(world, {key: None})))
    try:
        return await verify_via(url, world, world.documents[0])
    finally:
        await server.close()


@pytest.mark.parametrize("world", [True], indirect=True, ids=["after-a-set-change"])
async def test_a_certificate_from_the_old_validator_set_after_a_change_is_caught(
        world: World) -> None:
    # The retired validator's key still signs: a block hiding the revocation, naming
    # the old set, is refused since the walk from genesis knows the set changed...
    def old_set_naming_itself(tree: StateTree, height: int) -> Lie:
        return serve_block(*old_set_block(world, tree, True), answer_from(tree, height))

    verdict = await _hidden_revocation_verdict(world, old_set_naming_itself)
    assert isinstance(verdict, str) and "names another validator set" in verdict, verdict

    # ...and naming the new set, the old set's signatures are no certificate.
    def old_set_naming_the_new(tree: StateTree, height: int) -> Lie:
        return serve_block(*old_set_block(world, tree, False), answer_from(tree, height))

    verdict = await _hidden_revocation_verdict(world, old_set_naming_the_new)
    assert isinstance(verdict, str) and "no valid commit certificate" in verdict, verdict


@pytest.mark.parametrize("world", [True], indirect=True, ids=["after-a-set-change"])
async def test_hiding_a_set_change_is_caught(world: World) -> None:
    # Hiding the change while answering from the real head: its certifiers are unknown.
    async def honest(request: web.Request, body: bytes) -> web.StreamResponse | None:
        return None

    server, url = await hostile(world, hiding_set_changes(honest))
    try:
        verdict = await verify_via(url, world, world.documents[1])
    finally:
        await server.close()
    assert isinstance(verdict, str) and "names another validator set" in verdict, verdict

    # Hiding it behind the old set's block: that block's own state still holds it.
    def old_set_hiding_the_change(tree: StateTree, height: int) -> Lie:
        return hiding_set_changes(serve_block(*old_set_block(world, tree, True),
                                              answer_from(tree, height)))

    verdict = await _hidden_revocation_verdict(world, old_set_hiding_the_change)
    assert isinstance(verdict, str) and "change at block 3 that the proofs skipped" in verdict
