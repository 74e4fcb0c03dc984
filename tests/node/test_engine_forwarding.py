"""A backup forwards the work it holds to the validators before it suspects the primary
(node/engine_forwarding.py): once per stall, after half a view timeout without a
proposal or a commit; never as the primary."""

from __future__ import annotations

import os
from collections import deque

from consensus import (
    CommitBlock,
    Digest,
    ExecuteBlock,
    Height,
    ValidatorId,
    View,
    decode_certificate,
)
from ledger.chain import Chain
from ledger.codec import decode
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.channels import CH_TXS
from node.engine import Engine
from node.engine_forwarding import FORWARD_TXS_MAX
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    bft_basis,
    commit,
    keys_from,
    make_tx,
)
from tests.node.test_engine import Clock, Recorder

VIEW_TIMEOUT_MS = 1_000


def four_validators() -> tuple[list[KeyPair], KeyPair, Genesis]:
    validators = [keys_from(f"validator{i}") for i in range(4)]
    client = keys_from("employer")
    members = (*(GenesisMember(f"Ministry {i}", "ministry", keys.public_key, True)
                 for i, keys in enumerate(validators)),
               GenesisMember("Kaspi", "employer", client.public_key, False))
    return validators, client, current_rules_genesis(CHAIN_ID, GENESIS_TIME_MS, members)


def engine_of(keys: KeyPair, genesis: Genesis, clock: Clock) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    chain = Chain(MemoryStore(), genesis)
    engine = Engine(keys, chain, Mempool(MempoolLimits(1_000, 1 << 22, 1_000)),
                    ValidatorSets.for_chain(chain), EngineConfig(VIEW_TIMEOUT_MS, 100), clock,
                    recorder)
    return engine, recorder


def forwarded(recorder: Recorder) -> list[tuple[bytes, list[bytes]]]:
    return [(peer, decode(payload)) for peer, channel, payload in recorder.frames
            if channel == CH_TXS]


def hold(engine: Engine, clock: Clock, client: KeyPair, count: int) -> list[bytes]:
    encodings = []
    for _ in range(count):
        tx = make_tx(client, AnchorPayload(os.urandom(32)))
        engine.chain.check_pending(tx, clock.now_ms)
        engine.mempool.add(tx, len(tx.encode()))
        encodings.append(tx.encode())
    return encodings


def primary_of_view_0(validators: list[KeyPair], genesis: Genesis, clock: Clock) -> KeyPair:
    probe, _ = engine_of(validators[0], genesis, clock)
    assert probe.replica is not None
    return next(k for k in validators if ValidatorId(k.member_id) == probe.replica.primary)


def a_backup(clock: Clock) -> tuple[Engine, Recorder, KeyPair, KeyPair, list[bytes], Genesis]:
    """A backup of view 0's engine, its outbox, the primary, a client and the other
    validators' keys."""
    validators, client, genesis = four_validators()
    primary = primary_of_view_0(validators, genesis, clock)
    keys = next(k for k in validators if k is not primary)
    backup, out = engine_of(keys, genesis, clock)
    others = [k.public_key for k in validators if k is not keys]
    return backup, out, primary, client, others, genesis


def test_a_stalled_backup_forwards_its_oldest_work_once_to_the_validators() -> None:
    clock = Clock(GENESIS_TIME_MS + 60_000)
    backup, out, primary, client, peers, genesis = a_backup(clock)
    observer = keys_from("observer").public_key
    connected = [*peers, observer]
    held = hold(backup, clock, client, FORWARD_TXS_MAX + 5)

    backup.tick(connected)  # the stall starts
    clock.now_ms += VIEW_TIMEOUT_MS // 2 - 1
    backup.tick(connected)
    assert forwarded(out) == []
    clock.now_ms += 1
    backup.tick(connected)
    sent = forwarded(out)
    assert sorted(peer for peer, _ in sent) == sorted(peers)  # validators only
    assert all(txs == held[:FORWARD_TXS_MAX] for _, txs in sent)  # the oldest, bounded
    clock.now_ms += VIEW_TIMEOUT_MS // 2
    backup.tick(connected)
    assert len(forwarded(out)) == len(peers)  # once per stall

    # A commit is progress: the next stall forwards again, what is still pending.
    primary_chain = Chain(MemoryStore(), genesis)
    block = commit(primary_chain, [make_tx(client, AnchorPayload(os.urandom(32)))],
                   proposer=primary)
    certificate = decode_certificate(primary_chain.get_certificate(1) or b"")
    backup._perform([CommitBlock(Height(1), certificate.digest, block.encode(), certificate)],
                    deque())
    assert backup.chain.height == 1
    out.frames.clear()
    backup.tick(connected)
    clock.now_ms += VIEW_TIMEOUT_MS // 2
    backup.tick(connected)
    assert len(forwarded(out)) == len(peers)


def test_the_primary_does_not_forward_what_it_will_propose() -> None:
    validators, client, genesis = four_validators()
    clock = Clock(GENESIS_TIME_MS + 60_000)
    primary_keys = primary_of_view_0(validators, genesis, clock)
    primary, out = engine_of(primary_keys, genesis, clock)
    connected = [k.public_key for k in validators if k is not primary_keys]
    hold(primary, clock, client, 3)
    for _ in range(3):
        primary.tick(connected)
        clock.now_ms += VIEW_TIMEOUT_MS // 2
    assert forwarded(out) == []


def test_executing_a_proposal_is_progress() -> None:
    clock = Clock(GENESIS_TIME_MS + 60_000)
    backup, out, primary, client, connected, genesis = a_backup(clock)
    hold(backup, clock, client, 3)
    backup.tick(connected)
    clock.now_ms += VIEW_TIMEOUT_MS // 2 - 10
    primary_chain = Chain(MemoryStore(), genesis)
    last_commit, when = bft_basis(primary_chain)
    execution = primary_chain.build([make_tx(client, AnchorPayload(os.urandom(32)))],
                                    primary.member_id, 0, when, last_commit=last_commit)
    block = execution.block
    backup._perform([ExecuteBlock(Height(1), View(0), Digest(block.block_hash),
                                  block.encode())], deque())
    clock.now_ms += 10
    backup.tick(connected)
    assert forwarded(out) == []  # the stall began again at the proposal
    clock.now_ms += VIEW_TIMEOUT_MS // 2
    backup.tick(connected)
    assert len(forwarded(out)) == len(connected)
