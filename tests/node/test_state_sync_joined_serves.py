"""A node that joined by state sync after the validator set changed keeps the set-change
proofs it followed, so it serves them in turn: to a node joining from it alone, to a
light client (`senim verify --node`), to offline bundles. Proofs that do not fit in one
answer come by pages; a damaged kept proof is never served."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from cli.fsck import check_store
from cli.remote import RemoteFacts
from ledger.chain import Chain
from ledger.chain_layout import set_change_block_key
from ledger.codec import decode, encode
from ledger.credentials import make_batch
from ledger.light_client import follow_validator_sets, stored_proof_key
from ledger.offline import OfflineFacts
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY, validator_set_at
from ledger.verification import verify_credential
from node import state_serve
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_OFFER, ASK_SET_CHANGES
from node.validators import ValidatorSets, certifies_by_keys
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, YEAR_MS, documents_of, make_tx
from tests.node.set_changes import CertifiedChain, voted_chain
from tests.node.test_state_sync import HONEST, LIAR, OTHER, Serve, join, serving, tampered

A_PEER = b"\x0a" * 32
CERTIFIES = certifies_by_keys(CHAIN_ID)
RECORDS = [{"full_name": f"Graduate {i}", "gpa": "3.5"} for i in range(3)]


@pytest.fixture(scope="module")
def issued() -> tuple[CertifiedChain, Any]:
    """The voted chain (changes at 6 and 12), then KazNU accredited and a batch issued:
    head 16, certified by the set in force from 12."""
    world = voted_chain()
    council = world.council
    world.commit([make_tx(council.ministry, AccreditPayload(
        council.university.member_id, ("diploma",), GENESIS_TIME_MS,
        GENESIS_TIME_MS + 10 * YEAR_MS))])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, council.university.member_id, "KazNU")
    world.commit([make_tx(council.university, IssueBatchPayload(
        "diploma", batch.root, len(batch.target_hashes)))])
    assert world.chain.height == 16
    return world, batch


def join_alone(chain_or_serve: Chain | Serve, genesis_of: Chain) -> tuple[StateSync, Chain]:
    """A fresh store joins from one peer; the chain it opens, as the daemon opens it."""
    serve = (serving(chain_or_serve).answer if isinstance(chain_or_serve, Chain)
             else chain_or_serve)
    sync = StateSync(genesis_of.genesis, CERTIFIES)
    kv = MemoryStore()
    join(sync, {A_PEER: serve}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted, sync.distrusted
    return sync, opened(kv, genesis_of)


def opened(kv: MemoryStore, like: Chain) -> Chain:
    chain = Chain(kv, like.genesis)
    chain.check_certificates(ValidatorSets.for_chain(chain).certifies)
    return chain


def same_chain(joined: Chain, source: Chain) -> None:
    assert joined.head_hash == source.head_hash and joined.state.root == source.state.root
    for height in (1, 5, 6, 11, 12, source.height + 1):
        assert validator_set_at(joined.state, height) == validator_set_at(source.state, height)
    assert joined.set_change_proofs(0, 10) == source.set_change_proofs(0, 10)


def test_a_joined_node_serves_the_set_history_to_a_node_joining_from_it_alone(
        issued: tuple[CertifiedChain, Any]) -> None:
    source = issued[0].chain
    _, node_a = join_alone(source, source)
    assert node_a.base_height == 16 and node_a.get_block(5) is None  # no block below 16
    assert [p.from_height for p in node_a.set_change_proofs(0, 10)] == [6, 12]
    same_chain(node_a, source)
    assert [p.from_height for p in node_a.set_change_proofs(6, 10)] == [12]

    sync_b, node_b = join_alone(node_a, source)
    assert sync_b.snapshot is not None and sync_b.snapshot.offered_by == A_PEER
    assert [r.from_height for r in sync_b.snapshot.history.records] == [1, 6, 12]
    same_chain(node_b, source)


def test_a_snapshot_right_before_a_change_carries_its_proof() -> None:
    """Block 11 proves the change at 12: a node joining at 11 needs it, and keeps it."""
    source = voted_chain(11).chain
    offer = decode(serving(source).answer(encode([ASK_OFFER])) or b"")
    assert offer[1] == 11 and len(offer[4]) == 2 and len(offer) == 5  # no more to come
    _, node_a = join_alone(source, source)
    assert node_a.kv.get(set_change_block_key(12)) is None  # block 11 is held
    assert node_a.set_change_proofs(0, 10) == source.set_change_proofs(0, 10)
    _, node_b = join_alone(node_a, source)
    assert [p.from_height for p in node_b.set_change_proofs(0, 10)] == [6, 12]


@pytest.fixture
async def node_a_api(issued: tuple[CertifiedChain, Any]) -> AsyncIterator[str]:
    """Node A, joined by state sync, serving its HTTP API."""
    world = issued[0]
    _, node_a = join_alone(world.chain, world.chain)
    core = api_core(world.council.ministry, world.council.genesis, node_a.kv)
    core.chain.check_certificates(ValidatorSets.for_chain(core.chain).certifies)
    async with serving_url(core, "joined") as url:
        yield url


async def test_a_light_client_believes_a_joined_node_and_still_refuses_a_forgery(
        issued: tuple[CertifiedChain, Any], node_a_api: str) -> None:
    world, batch = issued
    genesis = world.council.genesis
    forged = make_batch(RECORDS, "diploma", CHAIN_ID, world.council.university.member_id,
                        "KazNU")  # same records, new salts: a batch never on chain

    def verdicts() -> list[tuple[bool, str, str]]:
        found = []
        tampered_document = documents_of(batch)[1]
        tampered_document["fields"]["gpa"]["value"] = "4.0"
        for document in (documents_of(batch)[1], documents_of(forged)[1], tampered_document):
            facts = RemoteFacts(node_a_api, certified=CERTIFIES, genesis=genesis)
            verdict = verify_credential(document, facts, CHAIN_ID)
            found.append((verdict.valid, verdict.status, facts.describe()))
        return found

    genuine, made_up, altered = await asyncio.get_running_loop().run_in_executor(None, verdicts)
    assert genuine[:2] == (True, "valid"), genuine
    assert "block 16" in genuine[2] and "in force from block 12" in genuine[2]
    assert "through 2 change(s)" in genuine[2]
    assert made_up[:2] == (False, "unknown") and altered[:2] == (False, "tampered")

    def bundle() -> Any:
        facts = RemoteFacts(node_a_api)
        return facts.get_json("/v1/validator-sets/changes"), _post_proofs(node_a_api)

    page, proofs = await asyncio.get_running_loop().run_in_executor(None, bundle)
    assert [c["from_height"] for c in page["changes"]] == [6, 12] and not page["more"]
    offline = OfflineFacts(proofs, genesis, CERTIFIES)  # what `senim prove` attaches
    assert offline.set_changes == 2 and "in force from block 12" in offline.describe()


def _post_proofs(url: str) -> Any:
    request = urllib.request.Request(
        url + "/v1/proofs", data=json.dumps({"keys": [VALIDATOR_SET_INDEX_KEY.hex()]}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _recording(serve: Serve, kinds: list[int]) -> Serve:
    def answer(question: bytes) -> bytes | None:
        kinds.append(decode(question)[0])
        return serve(question)
    return answer


def test_more_changes_than_an_answer_carries_come_by_pages(
        issued: tuple[CertifiedChain, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_serve, "SET_CHANGES_PER_ANSWER", 1)
    source = issued[0].chain
    offer = decode(serving(source).answer(encode([ASK_OFFER])) or b"")
    assert len(offer[4]) == 1 and offer[5] is True  # the change at 6; 12 is left
    asked: list[int] = []
    _, node_a = join_alone(_recording(serving(source).answer, asked), source)
    assert asked.count(ASK_SET_CHANGES) == 1
    same_chain(node_a, source)
    asked.clear()  # node A pages from what it kept
    _, node_b = join_alone(_recording(serving(node_a).answer, asked), source)
    assert asked.count(ASK_SET_CHANGES) == 1
    same_chain(node_b, source)


def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize("lie", ["forged proof", "ends early", "empty but more",
                                 "repeats a change", "malformed"])
def test_a_lying_page_is_refused_and_another_peer_serves_the_join(
        issued: tuple[CertifiedChain, Any], monkeypatch: pytest.MonkeyPatch, lie: str) -> None:
    monkeypatch.setattr(state_serve, "SET_CHANGES_PER_ANSWER", 1)
    source = issued[0].chain
    snapshots = serving(source)
    first = decode(snapshots.answer(encode([ASK_OFFER])) or b"")[4][0]

    def forge(answer: list[Any]) -> None:
        answer[2][0][1] = _flip_last(answer[2][0][1])

    def empty_but_more(answer: list[Any]) -> None:
        answer[2], answer[3] = [], True
    changes: dict[str, Callable[[list[Any]], None]] = {
        "forged proof": forge,
        "ends early": lambda a: a.__setitem__(2, []),  # more stays False: 12 is hidden
        "empty but more": empty_but_more,
        "repeats a change": lambda a: a.__setitem__(2, [first]),
        "malformed": lambda a: a.__setitem__(2, [[b"x", b"y", b"z"]]),
    }
    sync = StateSync(source.genesis, CERTIFIES)
    kv = MemoryStore()
    join(sync, {LIAR: tampered(snapshots.answer, ASK_SET_CHANGES, changes[lie]),
                HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {LIAR} and sync.restarts == 0
    assert sync.snapshot is not None and sync.snapshot.offered_by == HONEST
    same_chain(opened(kv, source), source)


def test_a_peer_silent_on_pages_is_passed_over_not_distrusted(
        issued: tuple[CertifiedChain, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_serve, "SET_CHANGES_PER_ANSWER", 1)
    source = issued[0].chain
    snapshots = serving(source)

    def silent_on_pages(question: bytes) -> bytes | None:
        return None if decode(question)[0] == ASK_SET_CHANGES else snapshots.answer(question)
    sync = StateSync(source.genesis, CERTIFIES)
    kv = MemoryStore()
    join(sync, {OTHER: silent_on_pages, HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted
    assert sync.snapshot is not None and sync.snapshot.offered_by == HONEST
    same_chain(opened(kv, source), source)


def test_fsck_names_a_missing_proof_on_a_chain_that_made_its_own(
        issued: tuple[CertifiedChain, Any]) -> None:
    source = issued[0].chain
    copy = MemoryStore()
    copy.write(dict(source.kv.iterate_prefix(b"")))
    assert check_store(copy, source.genesis).problems == []
    copy.write({stored_proof_key(12): None})
    assert check_store(copy, source.genesis).problems == [
        "the proof of the validator-set change at block 12 is missing"]


def _damage(kv: MemoryStore, what: str) -> None:
    if what == "stored proof":
        key = stored_proof_key(6)
        kv.write({key: _flip_last(kv.get(key) or b"")})
    else:
        key = set_change_block_key(12)
        header, certificate = decode(kv.get(key) or b"")
        if what == "kept certificate":
            certificate = _flip_last(certificate)
        else:
            header = header[:-40] + bytes([header[-40] ^ 1]) + header[-39:]
        kv.write({key: encode([header, certificate])})


@pytest.mark.parametrize("what", ["stored proof", "kept certificate", "kept header"])
def test_a_damaged_kept_proof_is_never_served_and_the_joiner_goes_elsewhere(
        issued: tuple[CertifiedChain, Any], what: str) -> None:
    source = issued[0].chain
    _, node_a = join_alone(source, source)
    assert isinstance(node_a.kv, MemoryStore)
    assert check_store(node_a.kv, source.genesis).problems == []
    assert len(node_a.set_change_proofs(0, 10)) == 2  # checked once, then remembered
    _damage(node_a.kv, what)
    with pytest.raises(CorruptStateError):
        node_a.set_change_proofs(0, 10)  # what is remembered no longer matches the disk
    problems = check_store(node_a.kv, source.genesis).problems  # `senim fsck` names it
    assert len(problems) == 1 and "validator-set change at block" in problems[0], problems
    damaged = opened(node_a.kv, source)
    with pytest.raises(CorruptStateError):
        damaged.set_change_proofs(0, 10)  # the API and offline bundles refuse it
    offer = decode(serving(damaged).answer(encode([ASK_OFFER])) or b"")
    assert len(offer[4]) == (0 if what == "stored proof" else 1)  # served up to it only
    sync = StateSync(source.genesis, CERTIFIES)
    kv = MemoryStore()
    join(sync, {A_PEER: serving(damaged).answer, HONEST: serving(source).answer}, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {A_PEER}
    same_chain(opened(kv, source), source)
    assert follow_validator_sets(source.genesis, opened(kv, source).set_change_proofs(0, 10),
                                 CERTIFIES).set_at(16).from_height == 12
