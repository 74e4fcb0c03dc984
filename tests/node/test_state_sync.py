"""State sync without IO: a fresh store joins from a certified snapshot served by peers
that may lie, leave things out, go silent or lose the snapshot half-way."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.fsck import check_store
from ledger.chain import Chain
from ledger.chain_layout import BASE_KEY, STATE_PREFIX, block_key
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node import state_copy, state_serve, state_sync
from node.block_serve import serve_blocks
from node.config import load_config
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.state_serve import StateSnapshots
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_NODES, ASK_OFFER, ASK_VALUES, NOT_HELD
from node.validators import ValidatorSet, ValidatorSets, certifies_by_keys
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate
from tests.node.conftest import Consortium, commit, keys_from, make_tx
from tests.node.test_config_genesis import GOOD, field_of, write
from tests.node.test_engine import Clock, Recorder

Serve = Callable[[bytes], bytes | None]  # question -> answer (None: silent)
HONEST, OTHER, LIAR = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
STEPS_MAX = 5_000


@pytest.fixture(autouse=True)
def small_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small questions, so a join takes many answers from each peer."""
    monkeypatch.setattr(state_copy, "NODES_PER_QUESTION", 16)
    monkeypatch.setattr(state_copy, "VALUES_PER_QUESTION", 16)


def grown_chain(net: Consortium, blocks: int = 3, anchors: int = 40, seed: int | None = None
                ) -> Chain:
    """`blocks` blocks of `anchors` anchors each; with `seed`, the same anchors each run
    (so the same state keys, tree and key ranges: a test timing a join needs that)."""
    anchor_bytes = os.urandom if seed is None else random.Random(seed).randbytes
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(chain, [make_tx(net.university, AnchorPayload(anchor_bytes(32)))
                       for _ in range(anchors)])
    return chain


def serving(chain: Chain, interval: int = state_serve.SNAPSHOT_INTERVAL_BLOCKS
            ) -> StateSnapshots:
    """Snapshots of `chain`'s store, served as its daemon serves them."""
    return StateSnapshots(chain.kv, ValidatorSets.for_chain(chain).certifies, interval)


def new_sync(net: Consortium) -> StateSync:
    return StateSync(net.genesis, certifies_by_keys(net.genesis.chain_id))


def join(sync: StateSync, peers: dict[bytes, Serve], kv: MemoryStore) -> int:
    """Drive `sync` until it finishes; returns how many questions it asked. Peers answer
    at once, in the order asked; with nothing to ask, the clock moves on a timeout."""
    now, asked, steps = 0, 0, 0
    order = list(peers)
    while not sync.finished:
        steps += 1
        assert steps < STEPS_MAX, "the join made no progress"
        requests, restarted = sync.next_requests(now, order)
        if restarted:
            kv.write({key: None for key, _ in kv.iterate_prefix(STATE_PREFIX)})
        if not requests:
            now += state_sync.RESPONSE_TIMEOUT_MS
            continue
        for request in requests:
            asked += 1
            answer = peers[request.peer](request.payload)
            if answer is not None:  # else silent: passed over once its question times out
                kv.write(sync.accept(request.peer, answer, now).writes)
    if sync.phase is Phase.DONE:
        kv.write(sync.final_writes())
    return asked


def tampered(serve: Serve, kind: int, change: Callable[[list[object]], None]) -> Serve:
    def lie(question: bytes) -> bytes | None:
        answer = serve(question)
        if answer is None or decode(question)[0] != kind:
            return answer
        decoded = decode(answer)
        change(decoded)
        return encode(decoded)
    return lie


def flip(data: bytes) -> bytes:
    return bytes([data[0], data[1] ^ 1]) + data[2:]


def check_joined(net: Consortium, source: Chain, kv: MemoryStore) -> Chain:
    joined = Chain(kv, net.genesis)
    joined.check_certificates(ValidatorSet.from_genesis(net.genesis).certifies)
    assert joined.height == source.height and joined.head_hash == source.head_hash
    assert joined.base_height == source.height
    assert joined.state.root == source.state.root
    assert joined.state.audit() == source.state.audit()
    assert dict(joined.state.iterate_items()) == dict(source.state.iterate_items())
    base = joined.get_block(joined.height)
    assert base is not None and base.transactions
    for index, tx in enumerate(base.transactions):  # the base block's are in the index
        assert joined.tx_location(tx.tx_id) == (joined.height, index)
    return joined


def test_a_fresh_store_joins_and_block_sync_carries_on_from_the_snapshot(
        net: Consortium) -> None:
    source = grown_chain(net)
    snapshots = serving(source)
    kv = MemoryStore()
    join(new_sync(net), {HONEST: snapshots.answer}, kv)
    joined = check_joined(net, source, kv)
    # Blocks below the snapshot are not held: asked for, they are answered as absent.
    assert joined.get_block(1) is None and joined.get_certificate(1) is None
    assert decode(serve_blocks(joined, encode([1, 8])) or b"") == [joined.height, []]
    # Block sync continues from the snapshot's block.
    for _ in range(2):
        commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    recorder = Recorder()
    engine = Engine(keys_from("employer"), joined, Mempool(MempoolLimits(10, 1 << 20, 10)),
                    ValidatorSets.for_chain(joined), EngineConfig(1_000, 100),
                    Clock(source.head_header.time_ms), recorder)
    engine.tick([HONEST])
    for _ in range(3):
        _, _, request = recorder.frames[-1]
        engine.sync_answer(HONEST, serve_blocks(source, request) or b"")
        if engine.chain.height == source.height:
            break
    assert engine.chain.height == source.height
    assert engine.chain.state.root == source.state.root
    reopened = Chain(kv, net.genesis)  # the head moved on; the base did not
    assert (reopened.height, reopened.base_height) == (source.height, source.height - 2)


@pytest.mark.parametrize("lie", ["node", "missing node", "short answer", "value", "offer"])
def test_a_lying_peer_is_caught_at_once_and_passed_over(net: Consortium, lie: str) -> None:
    source = grown_chain(net)
    snapshots = serving(source)

    def forge_offer(answer: list[object]) -> None:
        answer[3] = make_certificate(keys_from("outsider"), net.genesis.chain_id,
                                     source.height, 0, source.head_hash)

    def forge_value(answer: list[object]) -> None:
        items = answer[2]
        assert isinstance(items, list)
        items[0][1] = items[0][1] + b"x"
    changes: dict[str, tuple[int, Callable[[list[object]], None]]] = {
        "node": (ASK_NODES, lambda a: a[2].__setitem__(-1, flip(a[2][-1]))),  # type: ignore
        "missing node": (ASK_NODES, lambda a: a[2].__setitem__(0, b"")),  # type: ignore
        "short answer": (ASK_NODES, lambda a: a[2].pop()),  # type: ignore
        "value": (ASK_VALUES, forge_value),
        "offer": (ASK_OFFER, forge_offer),
    }
    kind, change = changes[lie]
    sync = new_sync(net)
    kv = MemoryStore()
    join(sync, {LIAR: tampered(snapshots.answer, kind, change), HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {LIAR}
    check_joined(net, source, kv)


def test_a_peer_that_leaves_values_out_is_found_at_the_end_of_the_pass(net: Consortium) -> None:
    source = grown_chain(net)
    snapshots = serving(source)

    def drop_one(answer: list[object]) -> None:
        items = answer[2]
        assert isinstance(items, list)
        if len(items) > 1:
            items.pop(1)
    sync = new_sync(net)
    kv = MemoryStore()
    # The liar answers first and alone until the pass ends; then the honest peer.
    join(sync, {LIAR: tampered(snapshots.answer, ASK_VALUES, drop_one),
                HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and LIAR in sync.distrusted
    check_joined(net, source, kv)


def test_a_silent_peer_is_passed_over_after_the_timeout(net: Consortium) -> None:
    source = grown_chain(net)
    snapshots = serving(source)
    answered = [0]

    def goes_silent(question: bytes) -> bytes | None:
        answered[0] += 1
        return snapshots.answer(question) if answered[0] <= 3 else None
    sync = new_sync(net)
    kv = MemoryStore()
    join(sync, {OTHER: goes_silent, HONEST: snapshots.answer}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted
    check_joined(net, source, kv)


def test_a_snapshot_lost_half_way_starts_the_join_again_from_a_clean_store(
        net: Consortium) -> None:
    source = grown_chain(net)
    snapshots = serving(source, interval=1)
    answered = [0]

    def moves_on(question: bytes) -> bytes | None:
        answered[0] += 1
        if answered[0] == 5:  # two new blocks: the snapshot being copied is let go
            for _ in range(2):
                commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
                snapshots.block_committed(source.height)
        return snapshots.answer(question)
    sync = new_sync(net)
    kv = MemoryStore()
    join(sync, {HONEST: moves_on}, kv)
    assert sync.phase is Phase.DONE and sync.restarts == 1
    check_joined(net, source, kv)


def test_no_snapshot_anywhere_ends_the_join_without_writing(net: Consortium) -> None:
    empty = Chain(MemoryStore(), net.genesis)  # height 0: nothing certified to offer
    sync = new_sync(net)
    kv = MemoryStore()
    join(sync, {HONEST: serving(empty).answer}, kv)
    assert sync.phase is Phase.UNAVAILABLE and not list(kv.iterate_prefix(b""))


@pytest.mark.parametrize("question", [
    b"\xc1", encode("offer"), encode([]), encode([ASK_NODES, 1]),
    encode([ASK_NODES, 1, [[300, b""]]]), encode([ASK_NODES, 1, [[3, b"\xff"]]]),
    encode([ASK_VALUES, 1, b"", 0]), encode([ASK_VALUES, 1, "a", 5]), encode([9, 1]),
])
def test_junk_questions_get_no_answer(net: Consortium, question: bytes) -> None:
    source = grown_chain(net, blocks=1, anchors=2)
    assert serving(source).answer(question) is None


def test_a_question_about_a_snapshot_not_held_says_so(net: Consortium) -> None:
    source = grown_chain(net, blocks=1, anchors=2)
    answer = serving(source).answer(encode([ASK_NODES, 77, [[0, b""]]]))
    assert decode(answer or b"") == [NOT_HELD, 77]


def test_a_snapshot_taken_on_demand_is_renewed_once_an_interval_old(net: Consortium) -> None:
    source = grown_chain(net, blocks=1, anchors=2)
    snapshots = serving(source, interval=2)
    assert decode(snapshots.answer(encode([ASK_OFFER])) or b"")[1] == 1
    commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    assert decode(snapshots.answer(encode([ASK_OFFER])) or b"")[1] == 1  # one block old
    commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    assert decode(snapshots.answer(encode([ASK_OFFER])) or b"")[1] == 3


def test_the_config_key_turns_state_sync_on_and_typos_are_named(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, GOOD)).state_sync
    assert load_config(write(tmp_path, GOOD + "\n[sync]\nstate_sync = true\n")).state_sync
    assert field_of(tmp_path, GOOD + '\n[sync]\nstate_sync = "yes"\n') == "sync.state_sync"
    assert field_of(tmp_path, GOOD + "\n[sync]\nstatesync = true\n") == "sync.statesync"


def test_a_peer_without_snapshot_does_not_end_the_join_while_others_may_connect(
        net: Consortium) -> None:
    sync = new_sync(net)
    requests, _ = sync.next_requests(0, [OTHER])
    assert [r.peer for r in requests] == [OTHER]
    sync.accept(OTHER, encode([NOT_HELD, 0]), 0)
    assert sync.next_requests(100, [OTHER]) == ([], False)
    # read into a name: mypy would keep sync.phase narrowed past the calls that change it
    waiting = sync.phase
    assert waiting is Phase.OFFER
    requests, _ = sync.next_requests(200, [OTHER, HONEST])  # a peer with a snapshot arrives
    assert [r.peer for r in requests] == [HONEST]
    sync.accept(HONEST, encode([NOT_HELD, 0]), 200)
    assert sync.next_requests(state_sync.OFFER_PATIENCE_MS, [OTHER, HONEST]) == ([], False)
    assert sync.phase is Phase.UNAVAILABLE


def test_fsck_checks_a_joined_store_from_its_base_and_names_what_is_wrong(
        net: Consortium) -> None:
    source = grown_chain(net)
    kv = MemoryStore()
    join(new_sync(net), {HONEST: serving(source).answer}, kv)
    found = check_store(kv, net.genesis)
    assert (found.problems, found.base, found.blocks) == ([], source.height, 1)
    assert found.state_entries == source.state.audit()
    stray = source.kv.get(block_key(1))
    assert stray is not None
    kv.write({block_key(1): stray})
    assert any("stored below the base" in p for p in check_store(kv, net.genesis).problems)
    kv.write({block_key(1): None, BASE_KEY: encode(source.height + 1)})
    assert "base record" in check_store(kv, net.genesis).problems[0]
